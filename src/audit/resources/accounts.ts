/**
 * `user(name)`, `users()`, `group(name)` and `groups()`: local accounts from /etc/passwd, /etc/shadow and
 * /etc/group, read once per run by one shared `accounts` observation. Password hashes are reduced to a state
 * (`set`, `locked`, `empty`, `none`) while parsing and never kept.
 */
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { duplicates, fileText, misuse, uniqueSorted } from './common.js';

/**
 * What a password field allows: `set` a usable hash, `locked` a hash behind `!` (usermod -L), `empty` no password
 * at all (anyone may log in where PAM allows nullok), `none` no usable password (`*`, `!`, or no shadow entry).
 */
export type PasswordState = 'set' | 'locked' | 'empty' | 'none';

/** One account of /etc/passwd with its shadow data, without the hash. */
export interface Account {
  /** Login name; with uid, gid, comment (GECOS), home and shell as in /etc/passwd. */
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly comment: string;
  readonly home: string;
  readonly shell: string;
  readonly passwordState: PasswordState;
  /** Shadow aging fields in days; undefined when empty or there is no shadow entry. */
  readonly minDays: number | undefined;
  readonly maxDays: number | undefined;
  readonly warnDays: number | undefined;
  readonly inactiveDays: number | undefined;
}

/** One group of /etc/group. */
export interface GroupEntry {
  /** Group name; with its gid and the members listed in /etc/group. */
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** The account databases. */
export interface AccountsObservation {
  /** Every account, in /etc/passwd order. */
  readonly users: readonly Account[];
  readonly groups: readonly GroupEntry[];
}

/** Classifies a password field (from /etc/shadow, or /etc/passwd when it holds the hash itself). */
export function classifyPassword(field: string): PasswordState {
  if (field === '') return 'empty';
  const body = field.startsWith('!') ? field.slice(1) : field;
  if (body === '' || body.startsWith('*') || body.startsWith('!')) return 'none';
  return field.startsWith('!') ? 'locked' : 'set';
}

/** The colon-separated records of an account file; comments, blank lines and NIS `+`/`-` lines skipped. */
function records(text: string, minFields: number): string[][] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('+') && !l.startsWith('-'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= minFields);
}

const days = (field: string | undefined): number | undefined =>
  field === undefined || !/^\d+$/.test(field) ? undefined : Number(field);

/** Parses the three files into accounts and groups; the password hashes are dropped here. */
export function parseAccounts(passwd: string, shadow: string, group: string): AccountsObservation {
  const shadows = new Map<string, string[]>();
  for (const f of records(shadow, 2)) if (!shadows.has(f[0] ?? '')) shadows.set(f[0] ?? '', f);
  const users: Account[] = [];
  for (const [name = '', pw = '', uid = '', gid = '', comment = '', home = '', shell = ''] of records(
    passwd,
    7,
  )) {
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    const sp = shadows.get(name);
    // `x` defers to /etc/shadow; any other value is the hash itself (or empty).
    const field = pw === 'x' ? sp?.[1] : pw;
    users.push({
      name,
      uid: Number(uid),
      gid: Number(gid),
      comment,
      home,
      shell,
      passwordState: field === undefined ? 'none' : classifyPassword(field),
      minDays: days(sp?.[3]),
      maxDays: days(sp?.[4]),
      warnDays: days(sp?.[5]),
      inactiveDays: days(sp?.[6]),
    });
  }
  const groups: GroupEntry[] = [];
  for (const [name = '', , gid = '', members = ''] of records(group, 4)) {
    if (!/^\d+$/.test(gid)) continue;
    groups.push({ name, gid: Number(gid), members: members.split(',').filter((m) => m !== '') });
  }
  return { users, groups };
}

const FILES = { passwd: '/etc/passwd', shadow: '/etc/shadow', group: '/etc/group' } as const;

/** The shared observer of the account databases. */
export const accountsResource: AuditResource<AccountsObservation> = {
  type: 'accounts',
  key: 'accounts',
  label: 'accounts',
  probe() {
    return {
      passwd: { kind: 'file', path: FILES.passwd },
      shadow: { kind: 'file', path: FILES.shadow },
      group: { kind: 'file', path: FILES.group },
    };
  },
  read(results: ProbeResults) {
    const text = (id: keyof typeof FILES): string => fileText(results, id, FILES[id]) ?? '';
    return parseAccounts(text('passwd'), text('shadow'), text('group'));
  },
};

const ACCOUNT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;

function accountName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !ACCOUNT.test(name) || name.length > 256) {
    misuse(`${what} needs an account name, not ${JSON.stringify(name)}`);
  }
  return name;
}

/** What a control can check about one user. */
export interface UserView {
  /** True when /etc/passwd lists the user. */
  readonly exists: Subject<boolean>;
  /** The numeric user id; undefined when the user does not exist (so are the other fields). */
  readonly uid: Subject<number | undefined>;
  /** The primary group's gid. */
  readonly gid: Subject<number | undefined>;
  /** The primary group's name (undefined when its gid has no group). */
  readonly group: Subject<string | undefined>;
  /** Every group the user is in, primary and supplementary, sorted. */
  readonly groups: Subject<string[]>;
  /** The home directory. */
  readonly home: Subject<string | undefined>;
  /** The login shell. */
  readonly shell: Subject<string | undefined>;
  /** `set`, `locked`, `empty` or `none`; undefined when the user does not exist. */
  readonly passwordState: Subject<PasswordState | undefined>;
  /** PASS_MAX_DAYS for this account (shadow field 5). */
  readonly maxDays: Subject<number | undefined>;
  /** PASS_MIN_DAYS for this account (shadow field 4). */
  readonly minDays: Subject<number | undefined>;
  /** PASS_WARN_AGE for this account (shadow field 6). */
  readonly warnDays: Subject<number | undefined>;
  /** Days after expiry before the account is disabled (shadow field 7). */
  readonly inactiveDays: Subject<number | undefined>;
}

/** Observes one local user. */
export function user(name: string): UserView {
  accountName(name, 'user()');
  const resource: AuditResource<AccountsObservation> = { ...accountsResource, label: `user ${name}` };
  // getpwnam returns the first line of a name listed twice.
  const find = (o: AccountsObservation): Account | undefined => o.users.find((u) => u.name === name);
  const field =
    <K extends keyof Account>(key: K) =>
    (o: AccountsObservation) =>
      find(o)?.[key];
  return {
    exists: subject(resource, 'exists', (o) => find(o) !== undefined),
    uid: subject(resource, 'uid', field('uid')),
    gid: subject(resource, 'gid', field('gid')),
    group: subject(resource, 'group', (o) => {
      const u = find(o);
      return u === undefined ? undefined : o.groups.find((g) => g.gid === u.gid)?.name;
    }),
    groups: subject(resource, 'groups', (o) => {
      const u = find(o);
      if (u === undefined) return [];
      return uniqueSorted(
        o.groups.filter((g) => g.gid === u.gid || g.members.includes(name)).map((g) => g.name),
      );
    }),
    home: subject(resource, 'home', field('home')),
    shell: subject(resource, 'shell', field('shell')),
    passwordState: subject(resource, 'password state', field('passwordState')),
    maxDays: subject(resource, 'max days', field('maxDays')),
    minDays: subject(resource, 'min days', field('minDays')),
    warnDays: subject(resource, 'warn days', field('warnDays')),
    inactiveDays: subject(resource, 'inactive days', field('inactiveDays')),
  };
}

/** One user as listed by `users()`. */
export interface UserSummary {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** What a control can check about all local users. */
export interface UsersView {
  /** Every account in /etc/passwd order. */
  readonly list: Subject<UserSummary[]>;
  /** Every account name, in file order. */
  readonly names: Subject<string[]>;
  /** Every uid, sorted, without duplicates. */
  readonly uids: Subject<number[]>;
  /** uids used by more than one account. */
  readonly duplicateUids: Subject<number[]>;
  /** Accounts whose password field is empty (login without a password). */
  readonly withEmptyPasswords: Subject<string[]>;
  /** Accounts with uid 0 (root's powers). */
  readonly withUid0: Subject<string[]>;
}

/** Observes every local user. */
export function users(): UsersView {
  const resource: AuditResource<AccountsObservation> = { ...accountsResource, label: 'users' };
  return {
    list: subject(resource, 'list', (o) =>
      o.users.map(({ name, uid, gid, home, shell }) => ({ name, uid, gid, home, shell })),
    ),
    names: subject(resource, 'names', (o) => o.users.map((u) => u.name)),
    uids: subject(resource, 'uids', (o) => uniqueSorted(o.users.map((u) => u.uid))),
    duplicateUids: subject(resource, 'duplicate uids', (o) => duplicates(o.users.map((u) => u.uid))),
    withEmptyPasswords: subject(resource, 'with empty passwords', (o) =>
      o.users.filter((u) => u.passwordState === 'empty').map((u) => u.name),
    ),
    withUid0: subject(resource, 'with uid 0', (o) => o.users.filter((u) => u.uid === 0).map((u) => u.name)),
  };
}

/** What a control can check about one group. */
export interface GroupView {
  /** True when /etc/group lists the group. */
  readonly exists: Subject<boolean>;
  /** The gid of its first entry; undefined when it does not exist. */
  readonly gid: Subject<number | undefined>;
  /** Members listed in /etc/group (users whose primary group it is are not listed there). */
  readonly members: Subject<string[]>;
}

/** Observes one local group. */
export function group(name: string): GroupView {
  accountName(name, 'group()');
  const resource: AuditResource<AccountsObservation> = { ...accountsResource, label: `group ${name}` };
  const find = (o: AccountsObservation): GroupEntry | undefined => o.groups.find((g) => g.name === name);
  return {
    exists: subject(resource, 'exists', (o) => find(o) !== undefined),
    gid: subject(resource, 'gid', (o) => find(o)?.gid),
    members: subject(resource, 'members', (o) => [...(find(o)?.members ?? [])]),
  };
}

/** What a control can check about all local groups. */
export interface GroupsView {
  /** Every group name, in file order. */
  readonly names: Subject<string[]>;
  /** Every gid, sorted, without duplicates. */
  readonly gids: Subject<number[]>;
  /** gids used by more than one group. */
  readonly duplicateGids: Subject<number[]>;
  /** Names listed more than once. */
  readonly duplicateNames: Subject<string[]>;
}

/** Observes every local group. */
export function groups(): GroupsView {
  const resource: AuditResource<AccountsObservation> = { ...accountsResource, label: 'groups' };
  return {
    names: subject(resource, 'names', (o) => o.groups.map((g) => g.name)),
    gids: subject(resource, 'gids', (o) => uniqueSorted(o.groups.map((g) => g.gid))),
    duplicateGids: subject(resource, 'duplicate gids', (o) => duplicates(o.groups.map((g) => g.gid))),
    duplicateNames: subject(resource, 'duplicate names', (o) => duplicates(o.groups.map((g) => g.name))),
  };
}
