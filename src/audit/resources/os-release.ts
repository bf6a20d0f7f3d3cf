/** `osRelease()`: the distribution from /etc/os-release (or /usr/lib/os-release when /etc has none). */
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { fileText } from './common.js';

/** The variables of os-release. */
export interface OsReleaseObservation {
  readonly exists: boolean;
  readonly values: Readonly<Record<string, string>>;
}

/** Parses os-release: `KEY=value` lines, values optionally quoted with shell escapes (`\"`, `\\`, `\$`, `` \` ``). */
export function parseOsRelease(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw.trim());
    if (m?.[1] === undefined || m[2] === undefined) continue;
    let v = m[2];
    const q = /^(["'])(.*)\1$/.exec(v);
    if (q?.[2] !== undefined) v = q[1] === '"' ? q[2].replace(/\\(["\\$`])/g, '$1') : q[2];
    values[m[1]] = v;
  }
  return values;
}

const PATHS = { etc: '/etc/os-release', usr: '/usr/lib/os-release' } as const;

/** The shared observer of os-release. */
export const osReleaseResource: AuditResource<OsReleaseObservation> = {
  type: 'osRelease',
  key: 'osRelease',
  label: 'os-release',
  probe() {
    return { etc: { kind: 'file', path: PATHS.etc }, usr: { kind: 'file', path: PATHS.usr } };
  },
  read(results: ProbeResults) {
    const text = fileText(results, 'etc', PATHS.etc) ?? fileText(results, 'usr', PATHS.usr);
    return { exists: text !== undefined, values: parseOsRelease(text ?? '') };
  },
};

/** What a control can check about the distribution. */
export interface OsReleaseView {
  /** `ID`, e.g. `debian`. */
  readonly id: Subject<string | undefined>;
  /** `ID_LIKE` words, e.g. `['debian']` on Ubuntu. */
  readonly idLike: Subject<string[]>;
  /** `VERSION_ID`, e.g. `12`. */
  readonly versionId: Subject<string | undefined>;
  /** `VERSION_CODENAME`, e.g. `bookworm`. */
  readonly codename: Subject<string | undefined>;
  /** `PRETTY_NAME`, e.g. `Debian GNU/Linux 12 (bookworm)`. */
  readonly prettyName: Subject<string | undefined>;
  /** Any variable by name. */
  get(key: string): Subject<string | undefined>;
}

/** Observes the target's distribution. */
export function osRelease(): OsReleaseView {
  const r = osReleaseResource;
  const value = (key: string) => subject(r, key, (o: OsReleaseObservation) => o.values[key]);
  return {
    id: value('ID'),
    idLike: subject(r, 'ID_LIKE', (o) => (o.values['ID_LIKE'] ?? '').split(/\s+/).filter((w) => w !== '')),
    versionId: value('VERSION_ID'),
    codename: value('VERSION_CODENAME'),
    prettyName: value('PRETTY_NAME'),
    get: (key) => value(key),
  };
}
