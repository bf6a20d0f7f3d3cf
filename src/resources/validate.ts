/**
 * The checks resource validators share: the problem constructor, absolute paths, account names and ids, `ensure`,
 * booleans, argv commands and verify commands. Each check returns a Problem or undefined, so a validator can
 * collect every problem with `problems(...)` instead of stopping at the first.
 */
import { posix } from 'node:path';
import type { Problem } from '../errors.js';

/** A BULWARK_RESOURCE_INVALID problem; `property` is undefined for a problem with the resource's name as a whole. */
export function problem(at: string, property: string | undefined, message: string): Problem {
  return property === undefined
    ? { code: 'BULWARK_RESOURCE_INVALID', at, message }
    : { code: 'BULWARK_RESOURCE_INVALID', at, property, message };
}

/** Collects the defined problems. */
export function problems(...found: readonly (Problem | undefined)[]): Problem[] {
  return found.filter((p): p is Problem => p !== undefined);
}

// NUL, line breaks and every other control character: none belongs in a path, a name or a line of config.
const CONTROL = /\p{Cc}/u;

/** Options for `checkPath`. */
export interface PathOptions {
  /** The path names a file, so `/` and a trailing `/` are refused. @default false */
  readonly file?: boolean;
  /** A trailing `/` is accepted, as in a working directory written `/srv/`. @default false */
  readonly trailingSlash?: boolean;
}

/** An absolute, normalised path (no `.`, `..` or `//` segments, no trailing `/`) without control characters. */
export function checkPath(
  path: unknown,
  at: string,
  property = 'path',
  options: PathOptions = {},
): Problem | undefined {
  const bad = (message: string): Problem => problem(at, property, message);
  if (typeof path !== 'string' || path === '')
    return bad('must be a non-empty string holding an absolute path');
  if (CONTROL.test(path)) return bad('must not hold a NUL byte, a line break or another control character');
  const shown = JSON.stringify(path);
  if (!path.startsWith('/')) return bad(`${shown} is relative; give an absolute path (starting with /)`);
  if (options.file === true && path.endsWith('/')) {
    return bad(`${shown} names a directory; give the path of a file`);
  }
  const normal = posix.normalize(path);
  const trailing = path.length > 1 && path.endsWith('/');
  const wanted =
    trailing && options.trailingSlash !== true && normal.length > 1 ? normal.slice(0, -1) : normal;
  if (path === wanted) return undefined;
  return bad(
    normal === path
      ? `${shown} ends with '/'; write ${JSON.stringify(wanted)}`
      : `${shown} is not normalised (no '.', '..' or '//' segments); write ${JSON.stringify(wanted)}`,
  );
}

/** Debian's default NAME_REGEX, used by adduser and useradd for user and group names. */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]*\$?$/;

/** The longest user or group name the shadow tools accept. */
export const ACCOUNT_NAME_MAX = 32;

/** The highest valid uid or gid: (uid_t)-1 means "no id" to the kernel. */
export const ID_MAX = 4294967294;

/** Options for `checkAccount`. */
export interface AccountOptions {
  /** A numeric id written as a string (`'1000'`) is accepted too, as chown accepts it. @default false */
  readonly numeric?: boolean;
}

/** A user or group name following Debian's NAME_REGEX, at most 32 characters. */
export function checkAccount(
  name: unknown,
  at: string,
  property: string,
  options: AccountOptions = {},
): Problem | undefined {
  const bad = (message: string): Problem => problem(at, property, message);
  if (typeof name !== 'string') return bad(`must be a string, not ${typeof name}`);
  if (options.numeric === true && /^[0-9]+$/.test(name)) return checkId(Number(name), at, property);
  if (name.length > ACCOUNT_NAME_MAX) {
    return bad(`${JSON.stringify(name)} is longer than ${ACCOUNT_NAME_MAX} characters`);
  }
  if (!ACCOUNT_NAME.test(name)) {
    return bad(
      `${JSON.stringify(name)} is not a valid user or group name: use lower-case letters, digits, '_' and '-', ` +
        `starting with a letter or '_'${options.numeric === true ? ', or give a numeric id' : ''}`,
    );
  }
  return undefined;
}

/** A uid or gid: a whole number from 0 to `ID_MAX`. */
export function checkId(id: unknown, at: string, property: string): Problem | undefined {
  if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 && id <= ID_MAX) return undefined;
  return problem(
    at,
    property,
    `${JSON.stringify(id)} is not a valid id: give a whole number from 0 to ${ID_MAX}`,
  );
}

/** A list of account names: an array, every element a valid name, none listed twice. */
export function checkAccountList(list: unknown, at: string, property: string): Problem[] {
  if (!Array.isArray(list)) return [problem(at, property, 'must be an array of names')];
  const found: Problem[] = [];
  const seen = new Set<unknown>();
  for (const item of list as unknown[]) {
    const bad = checkAccount(item, at, property);
    if (bad !== undefined) found.push(bad);
    else if (seen.has(item)) found.push(problem(at, property, `${JSON.stringify(item)} is listed twice`));
    seen.add(item);
  }
  return found;
}

/** An `ensure` prop: `'present'`, `'absent'`, or left out. */
export function checkEnsure(ensure: unknown, at: string): Problem | undefined {
  if (ensure === undefined || ensure === 'present' || ensure === 'absent') return undefined;
  return problem(at, 'ensure', `must be 'present' or 'absent', not ${JSON.stringify(ensure)}`);
}

/** A boolean prop: `true`, `false`, or left out. */
export function checkBoolean(value: unknown, at: string, property: string): Problem | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  return problem(at, property, `must be true or false, not ${JSON.stringify(value)}`);
}

/** A command as argv: a non-empty array of strings without NUL bytes, whose program (first word) is not empty. */
export function checkArgv(argv: unknown, at: string, property: string, example: string): Problem | undefined {
  const bad = (message: string): Problem => problem(at, property, message);
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((w) => typeof w === 'string')) {
    return bad(`must be a non-empty argv array of strings, e.g. ${example}`);
  }
  const words = argv as readonly string[];
  if (words.some((w) => w.includes('\0'))) return bad('must not contain a NUL byte');
  if (words[0] === '') return bad('the program (first word) must not be empty');
  return undefined;
}

/**
 * A verify command: argv (see `checkArgv`) with `%{path}`, which stands for the new content's path, in some word;
 * left out is fine.
 */
export function checkVerify(verify: unknown, at: string, property = 'verify'): Problem | undefined {
  if (verify === undefined) return undefined;
  const bad = checkArgv(verify, at, property, "['/usr/sbin/sshd', '-t', '-f', '%{path}']");
  if (bad !== undefined) return bad;
  if (!(verify as readonly string[]).some((w) => w.includes('%{path}'))) {
    return problem(at, property, 'must contain %{path} in some word, or it would not check the new content');
  }
  return undefined;
}
