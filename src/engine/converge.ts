/**
 * The engine: plans and converges a compiled cookbook on one transport. All reads go to the host in one batched
 * probe; resources are applied in declared order, each re-observed first when an earlier one changed the host;
 * notifications run immediately or once at the end. This layer imports dsl, resources and transports.
 */
import { notificationsOf, targetAddress, type CompiledCookbook } from '../dsl/compile.js';
import type { ResourceDecl } from '../dsl/cookbook.js';
import { BulwarkError, isBulwarkError } from '../errors.js';
import { PROVIDERS, type AnyProvider } from '../resources/registry.js';
import type { ApplyContext, Change, ProbeOp } from '../resources/types.js';
import { describeFailure } from '../transports/shell-transport.js';
import type { Transport } from '../transports/transport.js';
import { runProbe } from './probe.js';
import { describeGuard, guardHolds, resourceOps, resultsWithPrefix } from './observe.js';
import {
  summarize,
  type NotificationResult,
  type ReportedError,
  type ResourceResult,
  type RunReport,
} from './report.js';

/** Options for a run. */
export interface ConvergeOptions {
  /** Plan only: observe and diff, change nothing. @default false */
  readonly dryRun?: boolean;
  /** Go on with the next resources after a failure instead of stopping. @default false */
  readonly continueOnFailure?: boolean;
  /** Where replaced files are copied to on the host. @default '/var/backups/bulwark' */
  readonly backupDir?: string;
  /** Seconds a command guard may run. @default 60 */
  readonly guardTimeoutSec?: number;
  /** Called after each resource, e.g. for progress output. */
  readonly onResource?: (result: ResourceResult) => void;
  readonly signal?: AbortSignal;
}

const REDACTED = '(sensitive)';

function redact(changes: readonly Change[]): Change[] {
  return changes.map((c) => ({
    property: c.property,
    from: c.from === null ? null : REDACTED,
    to: c.to === null ? null : REDACTED,
  }));
}

function toReported(e: unknown, sensitive: boolean): ReportedError {
  const code = isBulwarkError(e) ? e.code : 'BULWARK_APPLY_FAILED';
  if (sensitive) return { code, message: 'failed (details withheld: the resource is sensitive)' };
  return { code, message: e instanceof Error ? e.message : String(e) };
}

/** Plans (dry run) or converges a compiled cookbook on a transport and reports what happened. */
export async function converge(
  cookbook: CompiledCookbook,
  transport: Transport,
  options: ConvergeOptions = {},
): Promise<RunReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const tripsBefore = transport.roundTrips;
  const dryRun = options.dryRun ?? false;
  const timeoutSec = options.guardTimeoutSec ?? 60;
  const decls = cookbook.resources;
  const providers = decls.map((d) => {
    const p = PROVIDERS[d.type];
    if (p === undefined)
      throw new BulwarkError('BULWARK_RESOURCE_INVALID', `unknown resource type ${d.type}`);
    return p;
  });
  const warnings = [...cookbook.warnings];
  const base = {
    schemaVersion: 1 as const,
    command: dryRun ? ('plan' as const) : ('converge' as const),
    dryRun,
    target: transport.target,
    cookbook: cookbook.name,
    startedAt,
  };

  const allOps = new Map<string, ProbeOp>();
  decls.forEach((d, i) => {
    for (const [id, op] of resourceOps(d, providers[i] as AnyProvider, `${i}:`, timeoutSec))
      allOps.set(id, op);
  });
  const probeOptions = options.signal === undefined ? {} : { signal: options.signal };
  let { facts, results } = await runProbe(transport, allOps, probeOptions);

  const makeContext = (resourceWarnings: string[]): ApplyContext => ({
    transport,
    facts,
    backupDir: options.backupDir ?? '/var/backups/bulwark',
    warn: (m) => resourceWarnings.push(m),
    run: async (argv, runOptions = {}) => {
      const r = await transport.exec(argv, {
        ...runOptions,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (r.exitCode !== 0) {
        throw new BulwarkError('BULWARK_APPLY_FAILED', `${argv.join(' ')} ${describeFailure(r)}`);
      }
      return r;
    },
  });

  const out: ResourceResult[] = [];
  const notificationResults: NotificationResult[] = [];
  const delayed = new Map<string, { target: string; action: string; by: string[] }>();
  let stale = false;
  let stopped = false;

  const runAction = async (
    target: string,
    action: string,
    timing: 'delayed' | 'immediate',
    by: readonly string[],
  ): Promise<boolean> => {
    const idx = decls.findIndex((d) => d.address === target);
    const decl = decls[idx];
    const fn = providers[idx]?.actions?.[action];
    if (decl === undefined || fn === undefined) return false;
    if (dryRun) {
      notificationResults.push({ target, action, timing, by, status: 'planned' });
      return true;
    }
    try {
      const w: string[] = [];
      await fn(decl.name, decl.props, makeContext(w));
      const hidden = decl.options.sensitive === true;
      warnings.push(...w.map((m) => `${target}: ${hidden ? REDACTED : m}`));
      notificationResults.push({ target, action, timing, by, status: 'ran' });
      stale = true;
      return true;
    } catch (e) {
      notificationResults.push({
        target,
        action,
        timing,
        by,
        status: 'failed',
        error: toReported(e, decl.options.sensitive === true),
      });
      return false;
    }
  };

  for (let i = 0; i < decls.length; i++) {
    const decl = decls[i] as ResourceDecl;
    const provider = providers[i] as AnyProvider;
    const sensitive = decl.options.sensitive === true;
    const t0 = performance.now();
    const record = (r: ResourceResult): void => {
      out.push(r);
      options.onResource?.(r);
    };
    if (stopped) {
      record({ address: decl.address, status: 'skipped', reason: 'an earlier resource failed' });
      continue;
    }
    let changes: Change[] = [];
    try {
      if (stale && !dryRun) {
        // An earlier resource changed the host: observe this one again before deciding.
        const again = await runProbe(
          transport,
          new Map(resourceOps(decl, provider, `${i}:`, timeoutSec)),
          probeOptions,
        );
        results = new Map([...results, ...again.results]);
        facts = again.facts;
        stale = false;
      }
      if (
        decl.options.onlyIf !== undefined &&
        !guardHolds(decl.options.onlyIf, `${i}:g:onlyIf`, results, facts)
      ) {
        record({
          address: decl.address,
          status: 'skipped',
          reason: `onlyIf (${describeGuard(decl.options.onlyIf)}) is false`,
        });
        continue;
      }
      if (
        decl.options.notIf !== undefined &&
        guardHolds(decl.options.notIf, `${i}:g:notIf`, results, facts)
      ) {
        record({
          address: decl.address,
          status: 'skipped',
          reason: `notIf (${describeGuard(decl.options.notIf)}) is true`,
        });
        continue;
      }
      const state: unknown = provider.read(
        decl.name,
        decl.props,
        resultsWithPrefix(`${i}:r:`, results),
        facts,
      );
      changes = provider.diff(decl.name, decl.props, state, facts);
      if (changes.length === 0) {
        record({ address: decl.address, status: 'up-to-date', durationMs: performance.now() - t0 });
        continue;
      }
      const resourceWarnings: string[] = [];
      if (!dryRun) {
        stale = true;
        await provider.apply(decl.name, decl.props, state, changes, makeContext(resourceWarnings));
      }
      record({
        address: decl.address,
        status: 'changed',
        changes: sensitive ? redact(changes) : changes,
        durationMs: performance.now() - t0,
        planned: dryRun,
        ...(resourceWarnings.length > 0 ? { warnings: sensitive ? [REDACTED] : resourceWarnings } : {}),
      });
      for (const n of notificationsOf(decl.options)) {
        const target = targetAddress(n);
        if (n.timing === 'immediate') {
          await runAction(target, n.action, 'immediate', [decl.address]);
        } else {
          const key = `${target} ${n.action}`;
          const entry = delayed.get(key);
          if (entry === undefined) delayed.set(key, { target, action: n.action, by: [decl.address] });
          else entry.by.push(decl.address);
        }
      }
    } catch (e) {
      if (options.signal?.aborted === true) throw e;
      const ignored = decl.options.ignoreFailure === true;
      record({
        address: decl.address,
        status: 'failed',
        changes: sensitive ? redact(changes) : changes,
        error: toReported(e, sensitive),
        ignored,
        durationMs: performance.now() - t0,
      });
      if (!ignored && options.continueOnFailure !== true) stopped = true;
    }
  }

  // Delayed notifications run once each, at the end, also when the run stopped early: a changed config whose
  // service was never restarted would otherwise stay unapplied, and no later run would notice.
  for (const { target, action, by } of delayed.values()) await runAction(target, action, 'delayed', by);

  return {
    ...base,
    durationMs: performance.now() - started,
    roundTrips: transport.roundTrips - tripsBefore,
    summary: summarize(out),
    resources: out,
    notifications: notificationResults,
    warnings,
    facts,
  };
}
