/**
 * The audit engine: checks profiles' controls and cookbooks' desired states against one host. Control bodies are
 * run first to record their checks; every observation they and the cookbook resources need goes to the host in
 * one probe; then each check is evaluated, waivers are applied and the results are totalled.
 */
import { monotonicMs } from '../builtins.js';
import type { ResourceDecl } from '../dsl/cookbook.js';
import { describeGuard, guardHolds, resourceOps, resultsWithPrefix } from '../engine/observe.js';
import { runProbe } from '../engine/probe.js';
import { BulwarkError, isBulwarkError } from '../errors.js';
import { PROVIDERS } from '../resources/registry.js';
import type { Change, Facts, ProbeOp, ProbeResult } from '../resources/types.js';
import type { Transport } from '../transports/transport.js';
import { compileProfile, severityOf, type ControlDecl } from './compile.js';
import { show } from './matchers.js';
import { defineProfile, recordControl, type CheckDecl, type GuardDecl } from './profile.js';
import type {
  AuditReport,
  AuditResource,
  AuditResult,
  AuditStatus,
  Bucket,
  CheckResult,
  Severity,
  Subject,
} from './types.js';
import { buildAuditReport, type AuditSources, type HostAudit } from './report.js';
import { applyWaiver, isWaived, type Waivers } from './waivers.js';

export { isWaived };
export { buildAuditReport, summarizeAudit, type AuditSources, type HostAudit } from './report.js';

/** Options for an audit. */
export interface AuditOptions {
  readonly waivers?: Waivers;
  /** The time waivers are judged against. @default now */
  readonly now?: Date;
  /** The host name in results. @default the host's own name for `local`, else the target */
  readonly host?: string;
  /** Seconds a command guard of a cookbook resource may run. @default 60 */
  readonly guardTimeoutSec?: number;
  readonly signal?: AbortSignal;
}

type Observation =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

interface PendingControl {
  readonly decl: ControlDecl;
  readonly source: string;
  readonly checks: readonly CheckDecl[];
  readonly guards: readonly GuardDecl[];
  readonly thrown?: unknown;
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function isSubject(g: unknown): g is Subject<boolean> {
  return typeof g === 'object' && g !== null && 'resource' in g && 'select' in g;
}

function selectValue<T>(s: Subject<T>, observations: ReadonlyMap<string, Observation>): Observation {
  const o = observations.get(s.resource.key);
  if (o === undefined) return { ok: false, message: `${s.resource.label} was not observed` };
  if (!o.ok) return o;
  try {
    return { ok: true, value: (s.select as (obs: unknown) => unknown)(o.value) };
  } catch (e) {
    return { ok: false, message: `${s.label}: ${errorMessage(e)}` };
  }
}

function evaluateCheck(check: CheckDecl, observations: ReadonlyMap<string, Observation>): CheckResult {
  const description = `${check.subject.label} ${check.matcher.description}`;
  const v = selectValue(check.subject, observations);
  if (!v.ok) return { status: 'error', description, message: v.message };
  try {
    const verdict = check.matcher.test(v.value);
    if (verdict.pass) return { status: 'passed', description };
    const format = (check.subject.format ?? show) as (x: unknown) => string;
    return {
      status: 'failed',
      description,
      expected: verdict.expected,
      actual: v.value === undefined ? '(none)' : format(v.value),
    };
  } catch (e) {
    return { status: 'error', description, message: errorMessage(e) };
  }
}

function messageOf(status: AuditStatus, checks: readonly CheckResult[]): string {
  const first = checks.find((c) => c.status === status);
  if (first === undefined) return '';
  const more = checks.filter((c) => c.status === status).length - 1;
  const tail = more > 0 ? ` (+${more} more)` : '';
  if (first.status === 'failed')
    return `${first.description}: expected ${first.expected}, got ${first.actual}${tail}`;
  if (first.status === 'error') return `${first.description}: ${first.message}${tail}`;
  return '';
}

function statusOf(checks: readonly CheckResult[]): AuditStatus {
  if (checks.some((c) => c.status === 'error')) return 'error';
  if (checks.some((c) => c.status === 'failed')) return 'failed';
  return 'passed';
}

function controlResult(
  p: PendingControl,
  host: string,
  observations: ReadonlyMap<string, Observation>,
  facts: Facts | undefined,
  hostError: string | undefined,
): AuditResult {
  const { decl } = p;
  const base = {
    address: decl.address,
    host,
    bucket: decl.bucket,
    impact: decl.impact,
    severity: severityOf(decl.impact),
    title: decl.title,
    source: p.source,
    tags: decl.tags,
    refs: decl.refs,
    ...(decl.description === undefined ? {} : { description: decl.description }),
  };
  if (p.thrown !== undefined) {
    return { ...base, status: 'error', message: `the control threw: ${errorMessage(p.thrown)}`, checks: [] };
  }
  if (hostError !== undefined) return { ...base, status: 'error', message: hostError, checks: [] };
  for (const g of p.guards) {
    let holds: boolean;
    try {
      if (typeof g.guard === 'boolean') holds = g.guard;
      else if (typeof g.guard === 'function') holds = facts === undefined ? false : g.guard(facts);
      else if (isSubject(g.guard)) {
        const v = selectValue(g.guard, observations);
        if (!v.ok) return { ...base, status: 'error', message: `onlyIf: ${v.message}`, checks: [] };
        holds = v.value === true;
      } else holds = false;
    } catch (e) {
      return { ...base, status: 'error', message: `onlyIf threw: ${errorMessage(e)}`, checks: [] };
    }
    if (!holds) return { ...base, status: 'skipped', message: g.reason, checks: [] };
  }
  if (p.checks.length === 0)
    return { ...base, status: 'skipped', message: 'the control declares no checks', checks: [] };
  const checks = p.checks.map((c) => evaluateCheck(c, observations));
  const status = statusOf(checks);
  return { ...base, status, message: messageOf(status, checks), checks };
}

function describeChange(c: Change): CheckResult {
  return {
    status: 'failed',
    description: c.property,
    expected: c.to ?? '(absent)',
    actual: c.from ?? '(absent)',
  };
}

function resourceResult(
  decl: ResourceDecl,
  index: string,
  results: ReadonlyMap<string, ProbeResult>,
  facts: Facts | undefined,
  host: string,
  hostError: string | undefined,
): AuditResult {
  const base = {
    address: decl.address,
    host,
    bucket: 'configuration' as Bucket,
    impact: 0.5,
    severity: 'medium' as Severity,
    title: `${decl.address} is in its desired state`,
    source: decl.cookbook,
    tags: {},
    refs: [],
  };
  if (hostError !== undefined || facts === undefined)
    return { ...base, status: 'error', message: hostError ?? 'not observed', checks: [] };
  const provider = PROVIDERS[decl.type];
  if (provider === undefined)
    return { ...base, status: 'error', message: `unknown resource type ${decl.type}`, checks: [] };
  try {
    const { onlyIf, notIf } = decl.options;
    if (onlyIf !== undefined && !guardHolds(onlyIf, `${index}g:onlyIf`, results, facts)) {
      return {
        ...base,
        status: 'skipped',
        message: `onlyIf (${describeGuard(onlyIf)}) is false`,
        checks: [],
      };
    }
    if (notIf !== undefined && guardHolds(notIf, `${index}g:notIf`, results, facts)) {
      return { ...base, status: 'skipped', message: `notIf (${describeGuard(notIf)}) is true`, checks: [] };
    }
    const state: unknown = provider.read(
      decl.name,
      decl.props,
      resultsWithPrefix(`${index}r:`, results),
      facts,
    );
    const changes = provider.diff(decl.name, decl.props, state, facts);
    if (changes.length === 0)
      return {
        ...base,
        status: 'passed',
        message: '',
        checks: [{ status: 'passed', description: 'desired state' }],
      };
    const sensitive = decl.options.sensitive === true;
    const checks = changes.map((c) =>
      sensitive
        ? {
            status: 'failed' as const,
            description: c.property,
            expected: '(sensitive)',
            actual: '(sensitive)',
          }
        : describeChange(c),
    );
    return { ...base, status: 'failed', message: messageOf('failed', checks), checks };
  } catch (e) {
    const message =
      decl.options.sensitive === true ? 'could not be read (details withheld: sensitive)' : errorMessage(e);
    return { ...base, status: 'error', message, checks: [] };
  }
}

function waiverKey(r: AuditResult): string {
  const m = /^control\[(.*)\]$/.exec(r.address);
  return m?.[1] ?? r.address;
}

/** Audits one host: one probe, every check evaluated, waivers applied. */
export async function auditHost(
  sources: AuditSources,
  transport: Transport,
  options: AuditOptions = {},
): Promise<HostAudit> {
  const started = monotonicMs();
  const tripsBefore = transport.roundTrips;
  const now = options.now ?? new Date();
  const waivers = options.waivers ?? new Map();
  const guardTimeoutSec = options.guardTimeoutSec ?? 60;

  // 1. Run control bodies to learn their checks; waived controls with run: false are not even run.
  const pending: PendingControl[] = [];
  const notRun: { decl: ControlDecl; source: string }[] = [];
  const allProfiles = [
    ...sources.profiles.map((p) => ({ profile: p, source: p.name })),
    ...sources.cookbooks.flatMap((c) =>
      c.controlSets.map((set) => ({
        profile: compileProfile(
          defineProfile({ name: set.cookbook, controls: (control) => set.controls(control) }),
        ),
        source: set.cookbook,
      })),
    ),
  ];
  const seenIds = new Map<string, string>();
  for (const { profile, source } of allProfiles) {
    for (const decl of profile.controls) {
      const other = seenIds.get(decl.id);
      if (other !== undefined) {
        throw new BulwarkError(
          'BULWARK_CONTROL_DUPLICATE',
          `control ${decl.id} is declared by both ${other} and ${source}`,
        );
      }
      seenIds.set(decl.id, source);
      const w = waivers.get(decl.id);
      if (w !== undefined && !w.run && !applyWaiver(w, now).expired) {
        notRun.push({ decl, source });
        continue;
      }
      pending.push({ decl, source, ...recordControl(decl.body) });
    }
  }

  // 2. Every observation, deduplicated by resource key, plus the cookbook resources' reads, in one probe.
  const resources = new Map<string, AuditResource<unknown>>();
  for (const p of pending) {
    for (const c of p.checks) resources.set(c.subject.resource.key, c.subject.resource);
    for (const g of p.guards) if (isSubject(g.guard)) resources.set(g.guard.resource.key, g.guard.resource);
  }
  const keys = [...resources.keys()];
  const ops = new Map<string, ProbeOp>();
  keys.forEach((key, k) => {
    for (const [name, op] of Object.entries((resources.get(key) as AuditResource<unknown>).probe()))
      ops.set(`a${k}:${name}`, op);
  });
  const cookbookDecls = sources.cookbooks.flatMap((c, ci) =>
    c.resources.map((decl, i) => ({ decl, index: `c${ci}:${i}:` })),
  );
  for (const { decl, index } of cookbookDecls) {
    const provider = PROVIDERS[decl.type];
    if (provider !== undefined)
      for (const [id, op] of resourceOps(decl, provider, index, guardTimeoutSec)) ops.set(id, op);
  }

  let facts: Facts | undefined;
  let results: ReadonlyMap<string, ProbeResult> = new Map();
  let hostError: { code: string; message: string } | undefined;
  try {
    ({ facts, results } = await runProbe(
      transport,
      ops,
      options.signal === undefined ? {} : { signal: options.signal },
    ));
  } catch (e) {
    hostError = { code: isBulwarkError(e) ? e.code : 'BULWARK_PROBE_FAILED', message: errorMessage(e) };
  }
  const host =
    options.host ?? (transport.target === 'local' && facts !== undefined ? facts.hostname : transport.target);

  // 3. Observations, then every result.
  const observations = new Map<string, Observation>();
  keys.forEach((key, k) => {
    if (facts === undefined) return;
    try {
      const value = (resources.get(key) as AuditResource<unknown>).read(
        resultsWithPrefix(`a${k}:`, results),
        facts,
      );
      observations.set(key, { ok: true, value });
    } catch (e) {
      observations.set(key, { ok: false, message: errorMessage(e) });
    }
  });
  const out: AuditResult[] = [
    ...cookbookDecls.map(({ decl, index }) => {
      const w = waivers.get(decl.address);
      if (w !== undefined && !w.run && !applyWaiver(w, now).expired) {
        const notRunResult = resourceResult(decl, index, new Map(), facts, host, 'not run: waived');
        return { ...notRunResult, status: 'skipped' as const, message: 'not run: waived', checks: [] };
      }
      return resourceResult(decl, index, results, facts, host, hostError?.message);
    }),
    ...pending.map((p) => controlResult(p, host, observations, facts, hostError?.message)),
    ...notRun.map(({ decl, source }): AuditResult => ({
      address: decl.address,
      host,
      status: 'skipped',
      bucket: decl.bucket,
      impact: decl.impact,
      severity: severityOf(decl.impact),
      title: decl.title,
      message: 'not run: waived',
      checks: [],
      source,
      tags: decl.tags,
      refs: decl.refs,
    })),
  ];

  // 4. Waivers.
  const used = new Set<string>();
  const waived = out.map((r) => {
    const key = waiverKey(r);
    const w = waivers.get(key);
    if (w === undefined) return r;
    used.add(key);
    const applied = applyWaiver(w, now);
    const message = r.status === 'skipped' && !w.run && !applied.expired ? 'not run: waived' : r.message;
    return { ...r, message, waiver: applied };
  });
  return {
    host: {
      name: host,
      target: transport.target,
      roundTrips: transport.roundTrips - tripsBefore,
      durationMs: monotonicMs() - started,
      ...(hostError === undefined ? {} : { error: hostError }),
      ...(facts === undefined ? {} : { facts }),
    },
    results: waived,
    unusedWaivers: [...waivers.keys()].filter((k) => !used.has(k)),
  };
}

/** Audits one host and wraps the result in a report. */
export async function audit(
  sources: AuditSources,
  transport: Transport,
  options: AuditOptions = {},
): Promise<AuditReport> {
  const started = monotonicMs();
  const startedAt = new Date().toISOString();
  const h = await auditHost(sources, transport, options);
  return buildAuditReport(sources, [h], { startedAt, durationMs: monotonicMs() - started });
}
