/**
 * Matchers: the comparisons a check makes between a subject's observed value and what is expected. Each is pure
 * and returns a verdict with the expected and actual values described for people.
 */

/** The verdict of one matcher on one value. */
export interface Verdict {
  readonly pass: boolean;
  /** What was expected, e.g. `== "no"`, `<= 0640 (no more permissive)`. */
  readonly expected: string;
}

/** A comparison of one value, as recorded by `expect(subject).toX(...)`. */
export interface Matcher<T> {
  /** e.g. `to equal "no"`, used in the check's description. */
  readonly description: string;
  readonly test: (actual: T) => Verdict;
}

/** Shows a value in messages: strings quoted, arrays and objects as JSON, undefined as `(none)`. */
export function show(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof RegExp) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Strict deep equality. */
export function equal<T>(expected: T): Matcher<T> {
  return {
    description: `to equal ${show(expected)}`,
    test: (a) => ({ pass: deepEqual(a, expected), expected: `== ${show(expected)}` }),
  };
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/**
 * Loose comparison, like InSpec's `cmp`: numeric strings compare as numbers (`'22'` cmp `22`, and `'022'` cmp
 * `22` too), an octal mode string compares with a number as octal (`'0640'` cmp `0o640`), strings compare
 * case-insensitively, `yes`/`no`/`true`/`false` with booleans, and a one-element array with its element.
 */
export function cmp(expected: unknown): Matcher<unknown> {
  const norm = (v: unknown, other: unknown): unknown => {
    if (Array.isArray(v) && v.length === 1) return norm(v[0], other);
    if (typeof v === 'string') {
      const t = v.trim();
      if (typeof other === 'number' && /^0[0-7]{3,4}$/.test(t)) return Number.parseInt(t, 8);
      if (NUMERIC.test(t)) return Number(t);
      if (/^(yes|true)$/i.test(t)) return true;
      if (/^(no|false)$/i.test(t)) return false;
      return t.toLowerCase();
    }
    return v;
  };
  return {
    description: `to cmp ${show(expected)}`,
    test: (a) => ({
      pass: deepEqual(norm(a, expected), norm(expected, a)),
      expected: `cmp ${show(expected)}`,
    }),
  };
}

/** A regular expression match of the value as text (arrays: any element matches). */
export function match(pattern: RegExp): Matcher<unknown> {
  // A global or sticky expression keeps state between tests; checks must not depend on each other.
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  const one = (v: unknown): boolean =>
    typeof v === 'string' || typeof v === 'number' ? re.test(String(v)) : false;
  return {
    description: `to match ${String(pattern)}`,
    test: (a) => ({ pass: Array.isArray(a) ? a.some(one) : one(a), expected: `matches ${String(pattern)}` }),
  };
}

/** An array or string includes the item. */
export function include(item: unknown): Matcher<unknown> {
  return {
    description: `to include ${show(item)}`,
    test: (a) => ({
      pass: Array.isArray(a)
        ? a.some((x) => deepEqual(x, item))
        : typeof a === 'string' && typeof item === 'string' && a.includes(item),
      expected: `includes ${show(item)}`,
    }),
  };
}

/** The value is one of the given values. */
export function oneOf(values: readonly unknown[]): Matcher<unknown> {
  return {
    description: `to be one of ${show(values)}`,
    test: (a) => ({ pass: values.some((v) => deepEqual(a, v)), expected: `one of ${show(values)}` }),
  };
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v.trim())) return Number(v.trim());
  return undefined;
}

/** Numeric ordering; numeric strings count as numbers, anything else fails. */
export function compare(op: '<' | '<=' | '>' | '>=', expected: number): Matcher<unknown> {
  const fns = {
    '<': (a: number) => a < expected,
    '<=': (a: number) => a <= expected,
    '>': (a: number) => a > expected,
    '>=': (a: number) => a >= expected,
  };
  return {
    description: `to be ${op} ${expected}`,
    test: (a) => {
      const n = toNumber(a);
      return { pass: n !== undefined && fns[op](n), expected: `${op} ${expected}` };
    },
  };
}

/** A file mode grants nothing beyond `max` (no bit set that `max` lacks), like InSpec's be_more_permissive_than. */
export function notMorePermissiveThan(max: number): Matcher<unknown> {
  const shown = max.toString(8).padStart(4, '0');
  return {
    description: `to be no more permissive than ${shown}`,
    test: (a) => ({
      pass: typeof a === 'number' && (a & ~max & 0o7777) === 0,
      expected: `no more permissive than ${shown}`,
    }),
  };
}

/** A predicate written by the profile's author, with a description of what it checks. */
export function satisfy<T>(predicate: (value: T) => boolean, what: string): Matcher<T> {
  return { description: `to satisfy ${what}`, test: (a) => ({ pass: predicate(a), expected: what }) };
}

/** The opposite of a matcher. */
export function not<T>(m: Matcher<T>): Matcher<T> {
  return {
    description: `not ${m.description}`,
    test: (a) => {
      const v = m.test(a);
      return { pass: !v.pass, expected: `not ${v.expected}` };
    },
  };
}
