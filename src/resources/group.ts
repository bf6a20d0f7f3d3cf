/**
 * `group`: a local group in /etc/group, its gid and, when given, its exact member list. Observed by reading
 * /etc/group in the batched probe and parsing it here; changed with groupadd, groupmod, gpasswd and groupdel.
 * Also exports the account-name check and the /etc/group parser that the `user` resource shares.
 */
import { BulwarkError, type Problem } from '../errors.js';
import type { Change, ProbeResult, Provider } from './types.js';

/** Desired state of one group. */
export interface GroupProps {
  /** Whether the group exists. @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /** The numeric group id. @default chosen by groupadd for a new group, unmanaged for an existing one */
  readonly gid?: number;
  /** Create the group as a system group (gid from the system range); only used when creating it. @default false */
  readonly system?: boolean;
  /** The exact list of member user names; members not listed are removed. @default unmanaged */
  readonly members?: readonly string[];
}

/** What was observed of the group. */
export interface GroupState {
  /** The group's entry in /etc/group, or null when there is none. */
  readonly entry: GroupEntry | null;
}

/** One line of /etc/group. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  /** Members in file order. */
  readonly members: readonly string[];
}

/** Debian's default NAME_REGEX, used by adduser and useradd for user and group names. */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]*\$?$/;

/** The longest user or group name the shadow tools accept. */
export const ACCOUNT_NAME_MAX = 32;

/** The highest valid uid or gid: (uid_t)-1 means "no id" to the kernel. */
export const ID_MAX = 4294967294;

/** A Problem of code BULWARK_RESOURCE_INVALID. */
export function invalid(at: string, property: string, message: string): Problem {
  return { code: 'BULWARK_RESOURCE_INVALID', at, property, message };
}

/** Checks a user or group name against Debian's NAME_REGEX; returns why it is refused, or undefined. */
export function accountNameError(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, not ${typeof name}`;
  if (name.length > ACCOUNT_NAME_MAX)
    return `${JSON.stringify(name)} is longer than ${ACCOUNT_NAME_MAX} characters`;
  if (!ACCOUNT_NAME.test(name)) {
    return `${JSON.stringify(name)} is not a valid name: use lower-case letters, digits, '_' and '-', starting with a letter or '_'`;
  }
  return undefined;
}

/** Checks a uid or gid; returns why it is refused, or undefined. */
export function idError(id: unknown): string | undefined {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id > ID_MAX) {
    return `${JSON.stringify(id)} is not a valid id: give a whole number from 0 to ${ID_MAX}`;
  }
  return undefined;
}

/** Checks a list of account names: every element valid, no duplicates. */
export function nameListProblems(at: string, property: string, list: unknown): Problem[] {
  if (!Array.isArray(list)) return [invalid(at, property, 'must be an array of names')];
  const found: Problem[] = [];
  const seen = new Set<string>();
  for (const item of list as unknown[]) {
    const why = accountNameError(item);
    if (why !== undefined) found.push(invalid(at, property, why));
    else if (seen.has(item as string))
      found.push(invalid(at, property, `${JSON.stringify(item)} is listed twice`));
    else seen.add(item as string);
  }
  return found;
}

/** Checks `ensure` and `system`, shared by `user` and `group`. */
export function commonProblems(
  at: string,
  props: { readonly ensure?: unknown; readonly system?: unknown },
): Problem[] {
  const found: Problem[] = [];
  if (props.ensure !== undefined && props.ensure !== 'present' && props.ensure !== 'absent') {
    found.push(invalid(at, 'ensure', `must be 'present' or 'absent', not ${JSON.stringify(props.ensure)}`));
  }
  if (props.system !== undefined && typeof props.system !== 'boolean') {
    found.push(invalid(at, 'system', 'must be true or false'));
  }
  return found;
}

/**
 * The text of a file read by a `file` probe op, or '' when it does not exist; throws when it could not be read,
 * since guessing an empty account database would make every account look missing.
 */
export function probedText(
  results: Readonly<Record<string, ProbeResult>>,
  key: string,
  path: string,
): string {
  const r = results[key];
  if (r === undefined)
    throw new BulwarkError('BULWARK_PROBE_FAILED', `the probe returned no result for ${path}`);
  if (r.exitCode === 3) return '';
  if (r.exitCode !== 0) {
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `could not read ${path} (exit ${r.exitCode}); check it exists and is readable by root`,
    );
  }
  return r.stdout.toString('utf8');
}

/** The colon-separated records of an account database file; comments, blank lines and NIS `+`/`-` lines skipped. */
export function records(text: string, minFields: number): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const fields = line.split(':');
    if (fields.length >= minFields) out.push(fields);
  }
  return out;
}

/** Parses /etc/group (`name:password:gid:member,member`). Lines with a non-numeric gid are skipped. */
export function parseGroupFile(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const [name = '', , gid = '', members = ''] of records(text, 4)) {
    if (!/^[0-9]+$/.test(gid)) continue;
    out.push({
      name,
      gid: Number(gid),
      members: members === '' ? [] : members.split(',').filter((m) => m !== ''),
    });
  }
  return out;
}

/** A name list as shown in a Change: sorted, comma-separated, `(none)` when empty. */
export function showNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : sortedUnique(names).join(',');
}

/** Sorted names without duplicates, so lists compare regardless of order. */
export function sortedUnique(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return showNames(a) === showNames(b);
}

/** The `group` resource: a local group, its gid and its exact member list. */
export const groupProvider: Provider<GroupProps, GroupState> = {
  type: 'group',
  knownProps: ['ensure', 'gid', 'system', 'members'],

  validate(name, props) {
    const at = `group[${name}]`;
    const found = commonProblems(at, props);
    const why = accountNameError(name);
    if (why !== undefined) found.push(invalid(at, 'name', why));
    if (props.gid !== undefined) {
      const bad = idError(props.gid);
      if (bad !== undefined) found.push(invalid(at, 'gid', bad));
    }
    if (props.members !== undefined) found.push(...nameListProblems(at, 'members', props.members));
    return found;
  },

  probe() {
    return { group: { kind: 'file', path: '/etc/group' } };
  },

  read(name, _props, results) {
    const entry = parseGroupFile(probedText(results, 'group', '/etc/group')).find((g) => g.name === name);
    return { entry: entry ?? null };
  },

  diff(_name, props, { entry }) {
    if (props.ensure === 'absent')
      return entry === null ? [] : [{ property: 'ensure', from: 'present', to: 'absent' }];
    const changes: Change[] = [];
    if (entry === null) changes.push({ property: 'ensure', from: 'absent', to: 'present' });
    if (props.gid !== undefined && entry?.gid !== props.gid) {
      changes.push({
        property: 'gid',
        from: entry === null ? null : String(entry.gid),
        to: String(props.gid),
      });
    }
    if (props.members !== undefined) {
      const current = entry?.members ?? [];
      // A new group has no members, so an empty desired list needs no change of its own.
      if (!sameNames(current, props.members)) {
        changes.push({
          property: 'members',
          from: entry === null ? null : showNames(current),
          to: showNames(props.members),
        });
      }
    }
    return changes;
  },

  async apply(name, props, _state, changes, ctx) {
    const changed = new Set(changes.map((c) => c.property));
    if (props.ensure === 'absent') {
      await ctx.run(['groupdel', name]);
      return;
    }
    if (changed.has('ensure')) {
      await ctx.run([
        'groupadd',
        ...(props.gid === undefined ? [] : ['-g', String(props.gid)]),
        ...(props.system === true ? ['-r'] : []),
        name,
      ]);
    } else if (changed.has('gid') && props.gid !== undefined) {
      await ctx.run(['groupmod', '-g', String(props.gid), name]);
    }
    if (changed.has('members') && props.members !== undefined) {
      await ctx.run(['gpasswd', '-M', sortedUnique(props.members).join(','), name]);
    }
  },
};
