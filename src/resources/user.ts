/**
 * `user`: a local user account in /etc/passwd and /etc/shadow, with its supplementary groups from /etc/group.
 * Observed by reading the three files in the batched probe; changed with useradd, usermod, userdel and chpasswd.
 * The password is only ever a crypt(3) hash, and the hash never appears in a Change or in the observed state: the
 * state keeps a digest of it, so reports and stored runs cannot leak it.
 */
import { crypto } from '../builtins.js';
import { BulwarkError, type Problem } from '../errors.js';
import { accountProblems, parseGroupFile, probedText, records, showNames, sortedUnique } from './group.js';
import type { ApplyContext, Change, Provider } from './types.js';
import {
  checkAccount,
  checkAccountList,
  checkBoolean,
  checkId,
  checkPath,
  problem,
  problems,
} from './validate.js';

/** Desired state of one user account. */
export interface UserProps {
  /** Whether the account exists. @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /** The numeric user id. @default chosen by useradd for a new account, unmanaged for an existing one */
  readonly uid?: number;
  /** The primary group, by gid or name. @default a new group named like the user (or that group when it exists) */
  readonly gid?: number | string;
  /** The exact list of supplementary groups; groups not listed are left. @default unmanaged */
  readonly groups?: readonly string[];
  /** The home directory, absolute. @default /home/NAME for a new account, unmanaged for an existing one */
  readonly home?: string;
  /** The login shell, absolute. @default useradd's default (/bin/sh on Debian), unmanaged for an existing one */
  readonly shell?: string;
  /** Create the account as a system account (uid from the system range); only used when creating it. @default false */
  readonly system?: boolean;
  /** The GECOS field (full name); may not hold ':' or a newline. @default unmanaged */
  readonly comment?: string;
  /**
   * Create the home directory with a new account, move it when `home` changes, and remove it (and the mail spool)
   * with the account. @default false
   */
  readonly manageHome?: boolean;
  /**
   * The password as a crypt(3) hash (e.g. from `mkpasswd -m yescrypt`), or `!` / `*` for no usable password;
   * plain text is refused. Mark the resource sensitive so the engine redacts it. @default unmanaged
   */
  readonly password?: string;
  /** Whether the password is locked (`!` before the hash in /etc/shadow). @default unmanaged */
  readonly locked?: boolean;
}

/** What was observed of the password field of /etc/shadow, without the hash itself. */
export interface PasswordState {
  /** The field starts with `!` or `*`, so the password cannot be used to log in. */
  readonly locked: boolean;
  /** The field starts with `!`, the mark `usermod -L` adds and `usermod -U` removes. */
  readonly lockMark: boolean;
  /** Behind an optional `!`, the field holds a hash a password could match (not empty, not `*` or `!`). */
  readonly hasHash: boolean;
  /** SHA-256 of the field without its `!` mark, to compare with the desired hash without keeping it. */
  readonly digest: string;
}

/** What was observed of the account. */
export interface UserState {
  /** Whether /etc/passwd has the account; when false every other field is null or empty. */
  readonly exists: boolean;
  readonly uid: number | null;
  readonly gid: number | null;
  /** The name of the primary group, or null when its gid has no group. */
  readonly primaryGroup: string | null;
  /** Supplementary groups (groups of /etc/group listing the user), sorted. */
  readonly groups: readonly string[];
  readonly home: string | null;
  readonly shell: string | null;
  readonly comment: string | null;
  /** The shadow password field, or null when /etc/shadow has no entry for the account. */
  readonly password: PasswordState | null;
  /** gid of every group in /etc/group by name, to compare a primary group given by name. */
  readonly groupIds: Readonly<Record<string, number>>;
}

// A modular crypt hash `$id$[params$]salt$hash` (yescrypt, SHA-512, bcrypt...). DES hashes are refused: they are
// obsolete and cannot be told apart from a 13-character plain-text password.
const CRYPT_HASH = /^\$[a-z0-9-]{1,8}\$[A-Za-z0-9./=,+$-]+$/;

/** Splits a shadow password field into its `!` lock mark and the rest. */
function splitField(field: string): { lockMark: boolean; body: string } {
  return field.startsWith('!') ? { lockMark: true, body: field.slice(1) } : { lockMark: false, body: field };
}

function bodyHasHash(body: string): boolean {
  return body !== '' && !body.startsWith('*') && !body.startsWith('!');
}

function digest(body: string): string {
  return crypto().createHash('sha256').update(body).digest('hex');
}

/** Observes a shadow password field without keeping the hash. Exported for tests. */
export function passwordState(field: string): PasswordState {
  const { lockMark, body } = splitField(field);
  return {
    locked: lockMark || body.startsWith('*'),
    lockMark,
    hasHash: bodyHasHash(body),
    digest: digest(body),
  };
}

/** The lock state wanted: `locked` when given, else locked when the password itself starts with `!`. */
function desiredLocked(props: UserProps): boolean | undefined {
  if (props.locked !== undefined) return props.locked;
  return props.password?.startsWith('!') === true ? true : undefined;
}

/** The GECOS comment: text that fits in a field of /etc/passwd. */
function checkComment(value: unknown, at: string): Problem | undefined {
  const bad = (message: string): Problem => problem(at, 'comment', message);
  if (typeof value !== 'string') return bad(`must be a string, not ${typeof value}`);
  if (value.includes(':')) return bad("must not hold ':' (it separates the fields of /etc/passwd)");
  if (/\p{Cc}/u.test(value)) return bad('must not hold a newline or other control character');
  return undefined;
}

/** A home directory or login shell: an absolute path that fits in a field of /etc/passwd. */
function checkPasswdPath(value: unknown, at: string, property: string): Problem | undefined {
  const bad = checkPath(value, at, property);
  if (bad !== undefined || !/[:\s]/.test(value as string)) return bad;
  return problem(
    at,
    property,
    `${JSON.stringify(value)} must not hold ':' or whitespace (it is a field of /etc/passwd)`,
  );
}

/** A password: a crypt(3) hash, or `!` / `*`. Never quotes the value: it may be a secret typed by mistake. */
function checkPassword(value: unknown, at: string): Problem | undefined {
  const bad = (message: string): Problem => problem(at, 'password', message);
  if (typeof value !== 'string') return bad(`must be a string holding a crypt(3) hash, not ${typeof value}`);
  if (value === '')
    return bad('must not be empty: that would allow logging in without a password; use ! to lock');
  const { body } = splitField(value);
  if (body === '' || body === '*' || body === '!' || CRYPT_HASH.test(body)) return undefined;
  return bad(
    'must be a crypt(3) hash such as $y$... or $6$... (make one with mkpasswd), or ! or * for no usable ' +
      'password; plain-text passwords are refused',
  );
}

/** `locked: false` with a password that leaves nothing to unlock. */
function checkUnlock(props: UserProps, at: string): Problem | undefined {
  if (props.locked !== false || typeof props.password !== 'string') return undefined;
  if (props.password.startsWith('!')) {
    return problem(at, 'locked', "cannot be false with a password starting with '!' (the lock mark)");
  }
  if (!bodyHasHash(props.password)) {
    return problem(at, 'locked', 'cannot be false with a password of *: there is no hash to unlock');
  }
  return undefined;
}

/** Parses /etc/passwd and /etc/shadow and /etc/group into the state of one account. Exported for tests. */
export function readUser(name: string, passwd: string, shadow: string, group: string): UserState {
  const groups = parseGroupFile(group);
  // Reversed so that the first line wins when a name is listed twice, as getgrnam does.
  const groupIds = Object.fromEntries(groups.map((g) => [g.name, g.gid] as const).reverse());
  const pw = records(passwd, 7).find((f) => f[0] === name);
  if (pw === undefined) {
    return {
      exists: false,
      uid: null,
      gid: null,
      primaryGroup: null,
      groups: [],
      home: null,
      shell: null,
      comment: null,
      password: null,
      groupIds,
    };
  }
  const [, , uid = '', gid = '', comment = '', home = '', shell = ''] = pw;
  const sp = records(shadow, 2).find((f) => f[0] === name);
  return {
    exists: true,
    uid: Number(uid),
    gid: Number(gid),
    primaryGroup: groups.find((g) => g.gid === Number(gid))?.name ?? null,
    groups: sortedUnique(groups.filter((g) => g.members.includes(name)).map((g) => g.name)),
    home,
    shell,
    comment,
    password: sp === undefined ? null : passwordState(sp[1] ?? ''),
    groupIds,
  };
}

function showPassword(state: PasswordState | null): string {
  if (state === null) return '(no shadow entry)';
  return state.hasHash ? '(hash differs)' : '(no hash)';
}

/** The password and lock changes; the values are placeholders, never the hash. */
function passwordChanges(props: UserProps, state: UserState): Change[] {
  const changes: Change[] = [];
  const wantLocked = desiredLocked(props);
  if (props.password !== undefined) {
    const { body } = splitField(props.password);
    if (state.password === null || state.password.digest !== digest(body)) {
      changes.push({
        property: 'password',
        from: state.exists ? showPassword(state.password) : null,
        to: bodyHasHash(body) ? '(hash set)' : '(no hash)',
      });
    }
  }
  // useradd leaves a new account locked (`!`), so `locked: true` needs no change of its own when creating.
  const isLocked = state.password?.locked ?? !state.exists;
  if (wantLocked !== undefined && wantLocked !== isLocked) {
    changes.push({
      property: 'locked',
      from: state.exists ? String(isLocked) : null,
      to: String(wantLocked),
    });
  }
  return changes;
}

/** The field chpasswd -e writes for a password change: the hash, with `!` when the account is to stay locked. */
function newField(props: UserProps, state: UserState): string {
  const { body } = splitField(props.password ?? '');
  const current = state.password;
  // Without `locked`, a deliberately locked real hash stays locked; a fresh account's bare `!` does not count.
  const lock = desiredLocked(props) ?? (current !== null && current.lockMark && current.hasHash);
  if (!lock) return body;
  return body.startsWith('*') || body.startsWith('!') ? body : `!${body}`;
}

async function setPassword(name: string, field: string, ctx: ApplyContext): Promise<void> {
  // chpasswd reads the hash on stdin, so it shows neither in the process list nor in an error message.
  await ctx.run(['chpasswd', '-e'], { stdin: `${name}:${field}\n` });
}

function cannotUnlock(name: string): BulwarkError {
  return new BulwarkError(
    'BULWARK_APPLY_FAILED',
    `cannot unlock user ${name}: it has no password hash, so unlocking would leave it without a usable password ` +
      '(usermod -U refuses silently); give `password` a crypt(3) hash as well',
  );
}

async function createUser(
  name: string,
  props: UserProps,
  state: UserState,
  ctx: ApplyContext,
): Promise<void> {
  const wantLocked = desiredLocked(props);
  const passwordBody = splitField(props.password ?? '').body;
  if (wantLocked === false && !bodyHasHash(passwordBody)) throw cannotUnlock(name);
  let gid: string[] = [];
  if (props.gid !== undefined) {
    gid = ['-g', String(props.gid)];
  } else {
    // With USERGROUPS_ENAB useradd fails when a group named like the user exists (for example one a `group`
    // resource created earlier in this run: the engine re-observes /etc/group before applying then); use that
    // group, as adduser does.
    if (Object.hasOwn(state.groupIds, name)) gid = ['-g', name];
  }
  await ctx.run([
    'useradd',
    ...(props.uid === undefined ? [] : ['-u', String(props.uid)]),
    ...gid,
    ...(props.groups === undefined || props.groups.length === 0
      ? []
      : ['-G', sortedUnique(props.groups).join(',')]),
    ...(props.home === undefined ? [] : ['-d', props.home]),
    ...(props.shell === undefined ? [] : ['-s', props.shell]),
    ...(props.comment === undefined ? [] : ['-c', props.comment]),
    ...(props.system === true ? ['-r'] : []),
    props.manageHome === true ? '-m' : '-M',
    name,
  ]);
  if (props.password !== undefined) {
    const field = newField(props, readUser(name, '', '', ''));
    // useradd already wrote `!`.
    if (field !== '!') await setPassword(name, field, ctx);
  }
}

/** The `user` resource: a local account, its ids, groups, home, shell, GECOS, password hash and lock. */
export const userProvider: Provider<UserProps, UserState> = {
  type: 'user',
  knownProps: [
    'ensure',
    'uid',
    'gid',
    'groups',
    'home',
    'shell',
    'system',
    'comment',
    'manageHome',
    'password',
    'locked',
  ],

  validate(name, props) {
    const at = `user[${name}]`;
    const gid: unknown = props.gid;
    return [
      ...problems(
        ...accountProblems(name, at, props),
        props.uid === undefined ? undefined : checkId(props.uid, at, 'uid'),
        gid === undefined
          ? undefined
          : typeof gid === 'number'
            ? checkId(gid, at, 'gid')
            : checkAccount(gid, at, 'gid'),
        props.home === undefined ? undefined : checkPasswdPath(props.home, at, 'home'),
        props.shell === undefined ? undefined : checkPasswdPath(props.shell, at, 'shell'),
        props.comment === undefined ? undefined : checkComment(props.comment, at),
        checkBoolean(props.manageHome, at, 'manageHome'),
        checkBoolean(props.locked, at, 'locked'),
        props.password === undefined ? undefined : checkPassword(props.password, at),
        checkUnlock(props, at),
      ),
      ...(props.groups === undefined ? [] : checkAccountList(props.groups, at, 'groups')),
    ];
  },

  probe() {
    return {
      passwd: { kind: 'file', path: '/etc/passwd' },
      group: { kind: 'file', path: '/etc/group' },
      shadow: { kind: 'file', path: '/etc/shadow' },
    };
  },

  read(name, _props, results) {
    return readUser(
      name,
      probedText(results, 'passwd', '/etc/passwd'),
      probedText(results, 'shadow', '/etc/shadow'),
      probedText(results, 'group', '/etc/group'),
    );
  },

  diff(_name, props, state) {
    if (props.ensure === 'absent')
      return state.exists ? [{ property: 'ensure', from: 'present', to: 'absent' }] : [];
    const changes: Change[] = [];
    const add = (property: string, from: string | null, to: string): void => {
      if (from !== to) changes.push({ property, from, to });
    };
    if (!state.exists) changes.push({ property: 'ensure', from: 'absent', to: 'present' });
    const show = (v: number | string | null): string | null => (v === null ? null : String(v));
    if (props.uid !== undefined) add('uid', show(state.uid), String(props.uid));
    if (props.gid !== undefined) {
      const byName = typeof props.gid === 'string' && Object.hasOwn(state.groupIds, props.gid);
      const wanted =
        typeof props.gid === 'number' ? props.gid : byName ? state.groupIds[props.gid] : undefined;
      if (state.gid === null || wanted !== state.gid) {
        changes.push({ property: 'gid', from: show(state.primaryGroup ?? state.gid), to: String(props.gid) });
      }
    }
    if (props.groups !== undefined && showNames(state.groups) !== showNames(props.groups)) {
      changes.push({
        property: 'groups',
        from: state.exists ? showNames(state.groups) : null,
        to: showNames(props.groups),
      });
    }
    if (props.home !== undefined) add('home', state.home, props.home);
    if (props.shell !== undefined) add('shell', state.shell, props.shell);
    if (props.comment !== undefined && (state.comment ?? '') !== props.comment) {
      changes.push({ property: 'comment', from: state.comment, to: props.comment });
    }
    changes.push(...passwordChanges(props, state));
    return changes;
  },

  async apply(name, props, state, changes, ctx) {
    const changed = new Set(changes.map((c) => c.property));
    if (props.ensure === 'absent') {
      await ctx.run(['userdel', ...(props.manageHome === true ? ['-r'] : []), name]);
      return;
    }
    if (changed.has('ensure')) {
      await createUser(name, props, state, ctx);
      return;
    }
    const args: string[] = [];
    if (changed.has('uid') && props.uid !== undefined) args.push('-u', String(props.uid));
    if (changed.has('gid') && props.gid !== undefined) args.push('-g', String(props.gid));
    if (changed.has('groups') && props.groups !== undefined)
      args.push('-G', sortedUnique(props.groups).join(','));
    if (changed.has('home') && props.home !== undefined) {
      args.push('-d', props.home, ...(props.manageHome === true ? ['-m'] : []));
    }
    if (changed.has('shell') && props.shell !== undefined) args.push('-s', props.shell);
    if (changed.has('comment') && props.comment !== undefined) args.push('-c', props.comment);
    // A password change writes the lock mark with the hash; -L/-U only when the hash stays.
    if (changed.has('locked') && !changed.has('password')) {
      if (desiredLocked(props) === true) args.push('-L');
      else if (state.password?.lockMark === true && state.password.hasHash) args.push('-U');
      else throw cannotUnlock(name);
    }
    if (args.length > 0) await ctx.run(['usermod', ...args, name]);
    if (changed.has('password')) await setPassword(name, newField(props, state), ctx);
  },
};
