/**
 * The profile language: `defineProfile` holds controls; each control has an id, metadata (title, impact, tags,
 * bucket...) and a body that declares checks on subjects (`t.expect(t.port(21).listening).toBe(false)`).
 * Declaring records data only; checks are evaluated after the one probe of the run.
 */
import type { Facts } from '../resources/types.js';
import {
  cmp,
  compare,
  equal,
  include,
  match,
  not,
  notMorePermissiveThan,
  oneOf,
  satisfy,
  type Matcher,
} from './matchers.js';
import { auditResources, type AuditResources } from './resources/index.js';
import type { Bucket, Severity, Subject } from './types.js';
import { debVersionGe, debVersionLt } from './debversion.js';

/** Impact as a number from 0 to 1 or a severity name (none 0, low 0.3, medium 0.5, high 0.7, critical 0.9). */
export type Impact = number | Severity;

/** Everything about a control except its checks. */
export interface ControlMeta {
  /** One line saying what must be true. */
  readonly title?: string;
  readonly description?: string;
  /** How much a failure matters. @default 0.5 (medium) */
  readonly impact?: Impact;
  /** e.g. `{ cis: '5.2.10', 'dev-sec': 'ssh-07' }`. @default {} */
  readonly tags?: Readonly<Record<string, string | readonly string[]>>;
  readonly refs?: readonly { readonly url?: string; readonly title?: string }[];
  /** Which kind of vulnerability a failure is. @default 'configuration' */
  readonly bucket?: Bucket;
}

/** Expectations on one subject; each call records one check. */
export interface Expectation<T> {
  /** Strict (deep) equality. */
  toBe(expected: T): void;
  /** Strict (deep) equality. */
  toEqual(expected: T): void;
  /** Loose comparison like InSpec's `cmp`: `'22'` cmp `22`, `'YES'` cmp `true`, case-insensitive strings. */
  toCmp(expected: unknown): void;
  toMatch(re: RegExp): void;
  toInclude(item: unknown): void;
  toBeOneOf(values: readonly unknown[]): void;
  toBeLessThan(n: number): void;
  toBeAtMost(n: number): void;
  toBeGreaterThan(n: number): void;
  toBeAtLeast(n: number): void;
  /** Debian version ordering: at least `version` (e.g. a fixed version). */
  toBeVersionAtLeast(version: string): void;
  /** Debian version ordering: strictly below `version`. */
  toBeVersionBelow(version: string): void;
  /** A file mode that grants no permission `max` lacks. */
  toBeNoMorePermissiveThan(max: number): void;
  /** A predicate of the profile's own, with a description of what it checks. */
  toSatisfy(predicate: (value: T) => boolean, description: string): void;
  /** The same expectations, negated. */
  readonly not: Expectation<T>;
}

/** A guard: a function of the facts, a boolean subject (e.g. a package is installed), or a constant. */
export type ControlGuard = boolean | ((facts: Facts) => boolean) | Subject<boolean>;

/** What a control body receives: every audit resource, `expect` and `onlyIf`. */
export type ControlContext = AuditResources & {
  /** Declares a check on a subject. */
  expect<T>(subject: Subject<T>): Expectation<T>;
  /** Skips the whole control, with `reason`, unless the guard holds. */
  onlyIf(guard: ControlGuard, reason?: string): void;
};

/** A recorded check: a subject and a matcher. */
export interface CheckDecl {
  readonly subject: Subject<unknown>;
  readonly matcher: Matcher<unknown>;
}

/** A recorded guard. */
export interface GuardDecl {
  readonly guard: ControlGuard;
  readonly reason: string;
}

/** The body of a control. */
export type ControlBody = (t: ControlContext) => void;

/** Declares one control. */
export type ControlFn = (id: string, meta: ControlMeta, body: ControlBody) => void;

/** Input values: plain data a profile reads and callers override. */
export type Inputs = { readonly [key: string]: InputValue };
/** One input value. */
export type InputValue = string | number | boolean | null | readonly InputValue[] | Inputs;

/** How one profile includes another. */
export interface ProfileInclude {
  readonly profile: AnyProfile;
  /** Control ids of the included profile not to run. @default [] */
  readonly skip?: readonly string[];
  /** New impacts for included controls, by id. @default {} */
  readonly impact?: Readonly<Record<string, Impact>>;
}

/** A profile as `defineProfile` returns it. */
export interface Profile<I extends Inputs = Inputs> {
  readonly kind: 'bulwark.profile';
  readonly name: string;
  readonly title: string;
  readonly version: string;
  readonly inputs: I;
  readonly include: readonly ProfileInclude[];
  readonly controls: (control: ControlFn, inputs: I) => void;
}

/** A profile whatever its input type. */
export interface AnyProfile {
  readonly kind: 'bulwark.profile';
  readonly name: string;
  readonly title: string;
  readonly version: string;
  readonly inputs: Inputs;
  readonly include: readonly ProfileInclude[];
  readonly controls: (control: ControlFn, inputs: never) => void;
}

/** What `defineProfile` takes. */
export interface ProfileSpec<I extends Inputs> {
  /** Letters, digits, `-`, `_`; inputs are overridden by it. */
  readonly name: string;
  readonly title?: string;
  readonly version?: string;
  /** Input defaults; callers override them with `--input NAME.key=value` or an input file. @default {} */
  readonly inputs?: I;
  /** Profiles whose controls this one runs too, optionally skipping some or changing their impact. @default [] */
  readonly include?: readonly (AnyProfile | ProfileInclude)[];
  /** Declares the controls. */
  readonly controls: (control: ControlFn, inputs: I) => void;
}

/** Defines a profile: named controls with typed inputs. */
export function defineProfile<I extends Inputs = Record<string, never>>(spec: ProfileSpec<I>): Profile<I> {
  return {
    kind: 'bulwark.profile',
    name: spec.name,
    title: spec.title ?? spec.name,
    version: spec.version ?? '0.0.0',
    inputs: spec.inputs ?? ({} as I),
    include: (spec.include ?? []).map((i) => ('kind' in i ? { profile: i } : i)),
    controls: spec.controls,
  };
}

/** True when `value` is a profile made by `defineProfile`. */
export function isProfile(value: unknown): value is AnyProfile {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'bulwark.profile'
  );
}

/** Runs a control body, recording its checks and guards; the body's exception, if any, is returned. */
export function recordControl(body: ControlBody): {
  checks: CheckDecl[];
  guards: GuardDecl[];
  thrown?: unknown;
} {
  const checks: CheckDecl[] = [];
  const guards: GuardDecl[] = [];
  const expectation = <T>(s: Subject<T>, negate: boolean): Expectation<T> => {
    const add = (m: Matcher<never>): void => {
      checks.push({ subject: s as Subject<unknown>, matcher: (negate ? not(m) : m) as Matcher<unknown> });
    };
    return {
      toBe: (v) => add(equal(v)),
      toEqual: (v) => add(equal(v)),
      toCmp: (v) => add(cmp(v)),
      toMatch: (re) => add(match(re)),
      toInclude: (x) => add(include(x)),
      toBeOneOf: (vs) => add(oneOf(vs)),
      toBeLessThan: (n) => add(compare('<', n)),
      toBeAtMost: (n) => add(compare('<=', n)),
      toBeGreaterThan: (n) => add(compare('>', n)),
      toBeAtLeast: (n) => add(compare('>=', n)),
      toBeVersionAtLeast: (v) =>
        add(satisfy((a: unknown) => typeof a === 'string' && debVersionGe(a, v), `version >= ${v}`)),
      toBeVersionBelow: (v) =>
        add(satisfy((a: unknown) => typeof a === 'string' && debVersionLt(a, v), `version < ${v}`)),
      toBeNoMorePermissiveThan: (max) => add(notMorePermissiveThan(max)),
      toSatisfy: (p, what) => add(satisfy(p, what)),
      get not() {
        return expectation(s, !negate);
      },
    };
  };
  const context = {
    ...auditResources,
    expect: <T>(s: Subject<T>) => expectation(s, false),
    onlyIf: (guard: ControlGuard, reason?: string) => {
      guards.push({ guard, reason: reason ?? 'its onlyIf guard does not hold' });
    },
  } as ControlContext;
  try {
    body(context);
    return { checks, guards };
  } catch (thrown) {
    return { checks, guards, thrown };
  }
}
