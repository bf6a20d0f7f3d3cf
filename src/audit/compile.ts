/**
 * Turns a profile into the controls a run checks: resolves includes (skips, impact overrides), merges input
 * overrides, runs the `controls` function and validates ids, impacts and buckets, collecting every problem.
 */
import { mergeAttributes } from '../dsl/compile.js';
import { BulwarkError, throwProblems, type ErrorCode, type Problem } from '../errors.js';
import {
  isProfile,
  type AnyProfile,
  type ControlBody,
  type ControlFn,
  type ControlMeta,
  type Impact,
  type Inputs,
} from './profile.js';
import { BUCKETS, type Bucket, type Severity } from './types.js';

/** A validated control, ready to run. */
export interface ControlDecl {
  readonly id: string;
  /** `control[id]`. */
  readonly address: string;
  /** The profile that declared it. */
  readonly profile: string;
  readonly title: string;
  readonly description?: string;
  readonly impact: number;
  readonly tags: Readonly<Record<string, string | readonly string[]>>;
  readonly refs: readonly { readonly url?: string; readonly title?: string }[];
  readonly bucket: Bucket;
  readonly body: ControlBody;
}

/** A profile ready to run. */
export interface CompiledProfile {
  readonly name: string;
  readonly title: string;
  readonly version: string;
  /** Every profile in the run, in inclusion order. */
  readonly profiles: readonly string[];
  readonly controls: readonly ControlDecl[];
}

/** Options for compiling a profile. */
export interface CompileProfileOptions {
  /** Input overrides keyed by profile name, e.g. `{ baseline: { sshPort: 2222 } }`. @default {} */
  readonly inputs?: Readonly<Record<string, unknown>>;
}

const NAMED: Readonly<Record<Severity, number>> = {
  none: 0,
  low: 0.3,
  medium: 0.5,
  high: 0.7,
  critical: 0.9,
};
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** The severity an impact falls in: 0 none, below 0.4 low, below 0.7 medium, below 0.9 high, else critical. */
export function severityOf(impact: number): Severity {
  if (impact <= 0) return 'none';
  if (impact < 0.4) return 'low';
  if (impact < 0.7) return 'medium';
  if (impact < 0.9) return 'high';
  return 'critical';
}

/** Turns an impact into a number in 0..1, or undefined when it is not one. */
export function impactValue(impact: Impact | undefined): number | undefined {
  if (impact === undefined) return 0.5;
  if (typeof impact === 'string') return Object.hasOwn(NAMED, impact) ? NAMED[impact] : undefined;
  return typeof impact === 'number' && impact >= 0 && impact <= 1 ? impact : undefined;
}

/** Compiles a profile into validated controls, or throws one error listing every problem. */
export function compileProfile(profile: AnyProfile, options: CompileProfileOptions = {}): CompiledProfile {
  if (!isProfile(profile)) {
    throw new BulwarkError('BULWARK_PROFILE_INVALID', 'not a profile: define it with defineProfile({...})');
  }
  const found: Problem[] = [];
  const controls: ControlDecl[] = [];
  const order: string[] = [];
  const seen = new Set<string>();
  const overrides = options.inputs ?? {};

  const run = (
    p: AnyProfile,
    skip: ReadonlySet<string>,
    impacts: ReadonlyMap<string, Impact>,
    via: string,
  ): void => {
    const at = `profile[${p.name}]`;
    if (!isProfile(p)) {
      found.push({ code: 'BULWARK_PROFILE_INVALID', at: via, message: 'an included value is not a profile' });
      return;
    }
    if (seen.has(p.name)) return;
    seen.add(p.name);
    order.push(p.name);
    if (!NAME.test(p.name))
      found.push({
        code: 'BULWARK_PROFILE_INVALID',
        at,
        property: 'name',
        message: 'use letters, digits, - and _',
      });
    for (const inc of p.include) {
      // Skips and impact overrides reach controls of profiles included further down as well.
      const incSkip = new Set([...skip, ...(inc.skip ?? [])]);
      const incImpacts = new Map([...impacts, ...Object.entries(inc.impact ?? {})]);
      const before = controls.length;
      run(inc.profile, incSkip, incImpacts, at);
      const ids = new Set(controls.slice(before).map((c) => c.id));
      // Skipped controls were never added, so check the skip list against what the included profile declares.
      const declared = declaredIdsDeep(inc.profile);
      for (const id of [...(inc.skip ?? []), ...Object.keys(inc.impact ?? {})]) {
        if (!declared.has(id) && !ids.has(id)) {
          found.push({
            code: 'BULWARK_PROFILE_INVALID',
            at,
            property: 'include',
            message: `${inc.profile.name} has no control ${id}`,
          });
        }
      }
    }
    const inputs = mergeAttributes(p.inputs, overrides[p.name], at, found) as Inputs;
    for (const problem of found) {
      if (problem.code === 'BULWARK_ATTRIBUTE_UNKNOWN' && problem.at === at)
        (problem as { code: ErrorCode }).code = 'BULWARK_INPUT_UNKNOWN';
    }
    const control: ControlFn = (id: string, meta: ControlMeta, body: ControlBody) => {
      const cat = `control[${String(id)}]`;
      if (typeof id !== 'string' || !ID.test(id)) {
        found.push({
          code: 'BULWARK_PROFILE_INVALID',
          at: cat,
          property: 'id',
          message: 'a control id is 1-128 letters, digits, ., _, : or -, starting with a letter or digit',
        });
        return;
      }
      if (skip.has(id)) return;
      if (controls.some((c) => c.id === id)) {
        found.push({
          code: 'BULWARK_CONTROL_DUPLICATE',
          at: cat,
          message: describeDuplicate(controls.find((c) => c.id === id)?.profile ?? p.name, p.name),
        });
        return;
      }
      const given = impacts.get(id) ?? meta.impact;
      const impact = impactValue(given);
      if (impact === undefined) {
        found.push({
          code: 'BULWARK_PROFILE_INVALID',
          at: cat,
          property: 'impact',
          message: `${JSON.stringify(given)} is not an impact: use 0..1 or none, low, medium, high, critical`,
        });
      }
      const bucket = meta.bucket ?? 'configuration';
      if (!BUCKETS.includes(bucket)) {
        found.push({
          code: 'BULWARK_PROFILE_INVALID',
          at: cat,
          property: 'bucket',
          message: `use one of ${BUCKETS.join(', ')}`,
        });
      }
      if (typeof body !== 'function') {
        found.push({
          code: 'BULWARK_PROFILE_INVALID',
          at: cat,
          property: 'body',
          message: 'a control needs a body: (t) => { t.expect(...)... }',
        });
        return;
      }
      controls.push({
        id,
        address: cat,
        profile: p.name,
        title: meta.title ?? id,
        ...(meta.description === undefined ? {} : { description: meta.description }),
        impact: impact ?? 0.5,
        tags: meta.tags ?? {},
        refs: meta.refs ?? [],
        bucket,
        body,
      });
    };
    try {
      (p.controls as (c: ControlFn, i: Inputs) => void)(control, inputs);
    } catch (e) {
      found.push({
        code: 'BULWARK_PROFILE_INVALID',
        at,
        property: 'controls',
        message: `the controls function threw: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  };
  run(profile, new Set(), new Map(), 'run');

  for (const name of Object.keys(overrides)) {
    if (!seen.has(name)) {
      found.push({
        code: 'BULWARK_INPUT_UNKNOWN',
        at: `profile[${name}]`,
        message: `inputs were given for a profile that is not in this run (in it: ${order.join(', ')})`,
      });
    }
  }
  const codes = new Set(found.map((p) => p.code));
  const code: ErrorCode =
    codes.size === 1 ? ([...codes][0] ?? 'BULWARK_PROFILE_INVALID') : 'BULWARK_PROFILE_INVALID';
  throwProblems(code, `profile ${profile.name} is invalid`, found);
  return { name: profile.name, title: profile.title, version: profile.version, profiles: order, controls };
}

/** The ids a profile and the profiles it includes declare with default inputs, for checking skip lists. */
function declaredIdsDeep(p: AnyProfile, seen = new Set<string>()): Set<string> {
  const ids = new Set<string>();
  if (!isProfile(p) || seen.has(p.name)) return ids;
  seen.add(p.name);
  for (const inc of p.include) for (const id of declaredIdsDeep(inc.profile, seen)) ids.add(id);
  try {
    (p.controls as (c: ControlFn, i: Inputs) => void)((id) => void ids.add(id), p.inputs);
  } catch {
    // reported when the profile itself runs
  }
  return ids;
}

function describeDuplicate(first: string, second: string): string {
  return first === second
    ? `declared twice in profile ${first}`
    : `declared by both profile ${first} and profile ${second}`;
}
