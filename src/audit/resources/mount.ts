/**
 * `mount(path)`: whether a path is a mount point, and with what device, type and options, from /proc/mounts (one
 * shared observation for every mount check).
 */
import { BulwarkError } from '../../errors.js';
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { absolutePath, fileText } from './common.js';

/** One line of /proc/mounts. */
export interface MountEntry {
  readonly device: string;
  readonly path: string;
  readonly type: string;
  readonly options: readonly string[];
}

/** The mount table of the target, in mount order. */
export interface MountsObservation {
  readonly mounts: readonly MountEntry[];
}

/** Undoes the kernel's octal escapes of space, tab, newline and backslash (`\040`...). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** Parses /proc/mounts. */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, path, type, options] = line.split(' ');
    if (device === undefined || path === undefined || type === undefined || options === undefined) continue;
    out.push({
      device: unescapeMountField(device),
      path: unescapeMountField(path),
      type,
      options: options.split(',').map(unescapeMountField),
    });
  }
  return out;
}

const PATH = '/proc/mounts';

/** The shared observer of /proc/mounts. */
export const mountsResource: AuditResource<MountsObservation> = {
  type: 'mounts',
  key: 'mounts',
  label: 'mounts',
  probe() {
    return { mounts: { kind: 'file', path: PATH } };
  },
  read(results: ProbeResults) {
    const text = fileText(results, 'mounts', PATH);
    if (text === undefined) {
      throw new BulwarkError(
        'BULWARK_PROBE_FAILED',
        'cannot observe mounts: /proc/mounts is not available in target (/proc is not mounted there)',
      );
    }
    return { mounts: parseMounts(text) };
  },
};

/** What a control can check about a mount point. */
export interface MountView {
  /** True when something is mounted on the path. */
  readonly mounted: Subject<boolean>;
  /** The device (or source) of the mount that is visible (the last one mounted there). */
  readonly device: Subject<string | undefined>;
  /** The file system type, e.g. `ext4`, `tmpfs`. */
  readonly type: Subject<string | undefined>;
  /** The mount options, e.g. `rw`, `nosuid`, `nodev`, `noexec`. */
  readonly options: Subject<string[]>;
}

/** Observes the mount on `path`. */
export function mount(path: string): MountView {
  const where = absolutePath(path, 'mount()');
  const normal = where.length > 1 ? where.replace(/\/+$/, '') : where;
  const resource: AuditResource<MountsObservation> = { ...mountsResource, label: `mount ${normal}` };
  // A later mount on the same path hides the earlier ones.
  const find = (o: MountsObservation): MountEntry | undefined =>
    o.mounts.filter((m) => m.path === normal).at(-1);
  return {
    mounted: subject(resource, 'mounted', (o) => find(o) !== undefined),
    device: subject(resource, 'device', (o) => find(o)?.device),
    type: subject(resource, 'type', (o) => find(o)?.type),
    options: subject(resource, 'options', (o) => [...(find(o)?.options ?? [])]),
  };
}
