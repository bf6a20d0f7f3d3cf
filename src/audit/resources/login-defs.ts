/**
 * `loginDefs()`: settings of /etc/login.defs as the shadow suite (useradd, passwd, login...) reads them. shadow's
 * getdef.c stores every line it reads into the same table slot, so when a key is listed twice the LAST line wins;
 * keys are case-sensitive and the value is the rest of the line up to a `"`, with leading quotes and blanks skipped.
 * PAM modules that read login.defs themselves (pam_unix's ENCRYPT_METHOD through pam_modutil_search_key) take the
 * FIRST line instead, case-insensitively: `getAll` and `duplicates` show when the two can disagree.
 */
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { fileText, plainString } from './common.js';

/** The settings of login.defs: every value of each key, in file order. */
export interface LoginDefsObservation {
  readonly exists: boolean;
  readonly values: ReadonlyMap<string, readonly string[]>;
}

/** Parses login.defs the way shadow's def_load does. */
export function parseLoginDefs(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const m = /^[ \t]*([^ \t#][^ \t]*)[ \t]+(.*)$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    const value = m[2].replace(/^[ \t"]*/, '').split('"')[0] ?? '';
    values.set(m[1], [...(values.get(m[1]) ?? []), value]);
  }
  return values;
}

const PATH = '/etc/login.defs';

/** The shared observer of /etc/login.defs. */
export const loginDefsResource: AuditResource<LoginDefsObservation> = {
  type: 'loginDefs',
  key: 'loginDefs',
  label: 'login.defs',
  probe() {
    return { file: { kind: 'file', path: PATH } };
  },
  read(results: ProbeResults) {
    const text = fileText(results, 'file', PATH);
    return { exists: text !== undefined, values: parseLoginDefs(text ?? '') };
  },
};

/** What a control can check about login.defs. */
export interface LoginDefsView {
  readonly exists: Subject<boolean>;
  /** The value the shadow tools use (the last line of the key, which is case-sensitive); undefined when unset. */
  get(key: string): Subject<string | undefined>;
  /** Every value of the key in file order (PAM modules use the first). */
  getAll(key: string): Subject<string[]>;
  /** Keys set more than once with different values, sorted. */
  readonly duplicates: Subject<string[]>;
}

/** Observes /etc/login.defs. */
export function loginDefs(): LoginDefsView {
  const resource = loginDefsResource;
  return {
    exists: subject(resource, 'exists', (o) => o.exists),
    get(key) {
      const k = plainString(key, 'loginDefs().get()');
      return subject(resource, k, (o) => o.values.get(k)?.at(-1));
    },
    getAll(key) {
      const k = plainString(key, 'loginDefs().getAll()');
      return subject(resource, `${k} (all)`, (o) => [...(o.values.get(k) ?? [])]);
    },
    duplicates: subject(resource, 'keys set twice', (o) =>
      [...o.values]
        .filter(([, v]) => new Set(v).size > 1)
        .map(([k]) => k)
        .sort(),
    ),
  };
}
