/**
 * `group`: a local group in /etc/group, its gid and, when given, its exact member list. Observed by reading
 * /etc/group in the batched probe and parsing it here; changed with groupadd, groupmod, gpasswd and groupdel.
 * Also exports the account database parsing and the account checks that the `user` resource shares.
 */
import { BulwarkError, type Problem } from '../errors.js';
import type { Change, ProbeResult, Provider } from './types.js';
import { checkAccount, checkAccountList, checkBoolean, checkEnsure, checkId, problems } from './validate.js';

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

/** Problems with the name, `ensure` and `system`, which `user` and `group` share. */
export function accountProblems(
  name: string,
  at: string,
  props: { readonly ensure?: unknown; readonly system?: unknown },
): (Problem | undefined)[] {
  return [
    checkAccount(name, at, 'name'),
    checkEnsure(props.ensure, at),
    checkBoolean(props.system, at, 'system'),
  ];
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
    return [
      ...problems(
        ...accountProblems(name, at, props),
        props.gid === undefined ? undefined : checkId(props.gid, at, 'gid'),
      ),
      ...(props.members === undefined ? [] : checkAccountList(props.members, at, 'members')),
    ];
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
