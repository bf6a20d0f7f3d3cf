/** Turns a target spec as the user writes it (`local`, `chroot:DIR`, `ssh://[user@]host[:port]`) into a transport. */
import { openLocalTarget, unknownTarget, type OpenTargetOptions } from './open.js';
import { SshTransport } from './ssh.js';
import type { Transport } from './transport.js';

export type { Transport } from './transport.js';
export { openTargetLazily, type OpenTargetOptions } from './open.js';

/**
 * Opens a transport for a target spec: `local`, `chroot:/absolute/dir` or `ssh://[user@]host[:port]`. An SSH
 * transport connects on first use (or on `connect()`), and only then loads the SSH library.
 */
export function openTarget(spec: string, options: OpenTargetOptions = {}): Transport {
  const local = openLocalTarget(spec);
  if (local !== undefined) return local;
  if (spec.startsWith('ssh://')) return new SshTransport(spec, options.ssh);
  throw unknownTarget(spec);
}
