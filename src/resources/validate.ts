/** Checks shared by resource validators: paths, user and group names. Each returns a Problem or undefined. */
import type { Problem } from '../errors.js';

function problem(at: string, property: string, message: string): Problem {
  return { code: 'BULWARK_RESOURCE_INVALID', at, property, message };
}

/** An absolute, normalised path with no NUL or newline. */
export function checkPath(path: unknown, at: string, property = 'path'): Problem | undefined {
  if (typeof path !== 'string' || path === '')
    return problem(at, property, 'a path must be a non-empty string');
  if (/[\0\n\r]/.test(path))
    return problem(at, property, 'a path must not hold NUL, newline or carriage return');
  if (!path.startsWith('/'))
    return problem(at, property, `${JSON.stringify(path)} is relative; give an absolute path`);
  if (path.split('/').some((seg) => seg === '.' || seg === '..') || path.includes('//')) {
    return problem(at, property, `${JSON.stringify(path)} is not normalised (no '.', '..' or '//' segments)`);
  }
  if (path.length > 1 && path.endsWith('/'))
    return problem(at, property, `${JSON.stringify(path)} ends with '/'`);
  return undefined;
}

const ACCOUNT = /^[a-z_][a-z0-9_-]*\$?$/;

/** A user or group name (Debian's default NAME_REGEX) or a numeric id. */
export function checkAccount(name: unknown, at: string, property: string): Problem | undefined {
  if (typeof name !== 'string' || !(ACCOUNT.test(name) || /^[0-9]+$/.test(name)) || name.length > 32) {
    return problem(at, property, `${JSON.stringify(name)} is not a valid user or group name`);
  }
  return undefined;
}

/** Collects the defined problems. */
export function problems(...found: readonly (Problem | undefined)[]): Problem[] {
  return found.filter((p): p is Problem => p !== undefined);
}
