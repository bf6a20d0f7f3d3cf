/** Turns a target spec as the user writes it (`local`, `chroot:DIR`, `ssh://[user@]host[:port]`) into a transport. */
import { BulwarkError } from '../errors.js';
import { ChrootTransport } from './chroot.js';
import { LocalTransport } from './local.js';
import { SshTransport, type SshOptions } from './ssh.js';
import type { Transport } from './transport.js';

export type { Transport } from './transport.js';

/** Options for opening a target. */
export interface OpenTargetOptions {
  /** Options for `ssh://` targets. @default none */
  readonly ssh?: SshOptions;
}

/**
 * Opens a transport for a target spec: `local`, `chroot:/absolute/dir` or `ssh://[user@]host[:port]`. An SSH
 * transport connects on first use (or on `connect()`), and only then loads the SSH library.
 */
export function openTarget(spec: string, options: OpenTargetOptions = {}): Transport {
  if (spec === 'local') return new LocalTransport();
  if (spec.startsWith('chroot:')) return new ChrootTransport(spec.slice('chroot:'.length));
  if (spec.startsWith('ssh://')) return new SshTransport(spec, options.ssh);
  throw new BulwarkError(
    'BULWARK_TARGET_INVALID',
    `unknown target ${JSON.stringify(spec)}: use "local", "chroot:/path/to/root" or "ssh://[user@]host[:port]"`,
  );
}
