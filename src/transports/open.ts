/**
 * Opening a target without loading the SSH transport's code unless the target is `ssh://`: the CLI's way in, so
 * that a local scan or audit never compiles the SSH client. `openTarget` (index.ts) is the synchronous form.
 */
import { BulwarkError } from '../errors.js';
import { ChrootTransport } from './chroot.js';
import { LocalTransport } from './local.js';
import type { SshOptions } from './ssh.js';
import type { Transport } from './transport.js';

/** Options for opening a target. */
export interface OpenTargetOptions {
  /** Options for `ssh://` targets. @default none */
  readonly ssh?: SshOptions;
}

/** The transport of a `local` or `chroot:DIR` spec; undefined for any other spec. */
export function openLocalTarget(spec: string): Transport | undefined {
  if (spec === 'local') return new LocalTransport();
  if (spec.startsWith('chroot:')) return new ChrootTransport(spec.slice('chroot:'.length));
  return undefined;
}

/** The error for a spec that names no kind of target. */
export function unknownTarget(spec: string): BulwarkError {
  return new BulwarkError(
    'BULWARK_TARGET_INVALID',
    `unknown target ${JSON.stringify(spec)}: use "local", "chroot:/path/to/root" or "ssh://[user@]host[:port]"`,
  );
}

/**
 * Opens a transport for a target spec as `openTarget` does, loading the SSH transport only for an `ssh://` spec.
 * @throws BulwarkError BULWARK_TARGET_INVALID for an unknown kind of target (the promise rejects).
 */
export async function openTargetLazily(spec: string, options: OpenTargetOptions = {}): Promise<Transport> {
  const local = openLocalTarget(spec);
  if (local !== undefined) return local;
  if (spec.startsWith('ssh://')) {
    const { SshTransport } = await import('./ssh.js');
    return new SshTransport(spec, options.ssh);
  }
  throw unknownTarget(spec);
}
