/** Turns a target spec as the user writes it (`local`, `chroot:DIR`) into a transport. */
import { BulwarkError } from '../errors.js';
import { ChrootTransport } from './chroot.js';
import { LocalTransport } from './local.js';
import type { Transport } from './transport.js';

export type { Transport } from './transport.js';

/** Opens a transport for a target spec: `local` or `chroot:/absolute/dir`. */
export function openTarget(spec: string): Transport {
  if (spec === 'local') return new LocalTransport();
  if (spec.startsWith('chroot:')) return new ChrootTransport(spec.slice('chroot:'.length));
  throw new BulwarkError(
    'BULWARK_TARGET_INVALID',
    `unknown target ${JSON.stringify(spec)}: use "local" or "chroot:/path/to/root"`,
  );
}
