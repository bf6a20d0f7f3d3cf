/**
 * The engine: plans and converges a compiled cookbook on one transport. All reads go to the host in one batched
 * probe. The changes are then made in declared order, batched: every resource's commands are recorded and sent as
 * one script, one round trip, which re-checks each resource's observation before touching it and, when an earlier
 * change made it stale, stops there and observes the rest anew in the same round trip (see apply.ts). Resources
 * whose apply needs answers from the host run directly. Notifications run immediately after their resource or once
 * at the end. This layer imports dsl, resources and transports.
 */
import { monotonicMs } from '../builtins.js';
import { notificationsOf, targetAddress, type CompiledCookbook } from '../dsl/compile.js';
import type { ResourceDecl } from '../dsl/cookbook.js';
import { BulwarkError, isBulwarkError } from '../errors.js';
import { PROVIDERS, type AnyProvider } from '../resources/registry.js';
import type { ApplyContext, Change, Facts, ProbeOp, ProbeResult } from '../resources/types.js';
import type { Transport } from '../transports/transport.js';
import {
  directContext,
  groupError,
  groupWarnings,
  predictedStatLine,
  recordingContext,
  runBatch,
  type BatchGroup,
  type RecordedWrite,
  type BatchOutcome,
  type Step,
} from './apply.js';
import { observationDigest, resultsFor, runProbe } from './probe.js';
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
  /** Called before a batch of changes goes to the host, with the addresses it changes, e.g. for progress output. */
  readonly onApply?: (addresses: readonly string[]) => void;
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

/** What the plan of one resource found. */
type Planned =
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'up-to-date' }
  | { readonly kind: 'failed'; readonly error: unknown; readonly changes: Change[] }
  | { readonly kind: 'change'; readonly state: unknown; readonly changes: Change[] };

/** A delayed notification and what triggers it. */
interface Pending {
  readonly target: string;
  readonly action: string;
  readonly by: string[];
  /** A notifying resource already changed. */
  triggered: boolean;
  done: boolean;
}

/** A resource's plan inside a batch: what it changes, its recorded warnings, its immediate notifications. */
interface PlanEntry {
  planned: Planned;
  warnings: string[];
  immediates: { group: BatchGroup; target: string; action: string; warnings: string[] }[];
}

/** One batch: what the resources from `next` on need, as groups of a script, with their plans. */
interface Batch {
  readonly t0: number;
  readonly groups: BatchGroup[];
  readonly groupOf: Map<number, BatchGroup>;
  readonly plans: Map<number, PlanEntry>;
  readonly checked: number[];
  /** The ops of the checked resources: what the script observes anew when it finds one of them stale. */
  readonly reprobe: ReadonlyMap<string, ProbeOp>;
  readonly direct: number | undefined;
  readonly last: number;
  readonly final: boolean;
  readonly delayedGroups: { group: BatchGroup; entry: Pending; warnings: string[] }[];
}

/** Plans (dry run) or converges a compiled cookbook on a transport and reports what happened. */
export async function converge(
  cookbook: CompiledCookbook,
  transport: Transport,
  options: ConvergeOptions = {},
): Promise<RunReport> {
  const started = monotonicMs();
  const startedAt = new Date().toISOString();
  const tripsBefore = transport.roundTrips;
  const dryRun = options.dryRun ?? false;
  const timeoutSec = options.guardTimeoutSec ?? 60;
  const backupDir = options.backupDir ?? '/var/backups/bulwark';
  const signal = options.signal;
  const withSignal = signal === undefined ? {} : { signal };
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

  const opsOf = decls.map((d, i) => resourceOps(d, providers[i] as AnyProvider, `${i}:`, timeoutSec));
  const allOps = new Map<string, ProbeOp>(opsOf.flat());
  const first = await runProbe(transport, allOps, withSignal);
  const facts: Facts = first.facts;
  const results = new Map<string, ProbeResult>(first.results);

  const out: ResourceResult[] = [];
  const notificationResults: NotificationResult[] = [];
  const record = (r: ResourceResult): void => {
    out.push(r);
    options.onResource?.(r);
  };
  const isSensitive = (i: number): boolean => decls[i]?.options.sensitive === true;

  const plan = (i: number): Planned => {
    const decl = decls[i] as ResourceDecl;
    const provider = providers[i] as AnyProvider;
    try {
      const { onlyIf, notIf } = decl.options;
      if (onlyIf !== undefined && !guardHolds(onlyIf, `${i}:g:onlyIf`, results, facts)) {
        return { kind: 'skip', reason: `onlyIf (${describeGuard(onlyIf)}) is false` };
      }
      if (notIf !== undefined && guardHolds(notIf, `${i}:g:notIf`, results, facts)) {
        return { kind: 'skip', reason: `notIf (${describeGuard(notIf)}) is true` };
      }
      const state: unknown = provider.read(
        decl.name,
        decl.props,
        resultsWithPrefix(`${i}:r:`, results),
        facts,
      );
      const changes = provider.diff(decl.name, decl.props, state, facts);
      return changes.length === 0 ? { kind: 'up-to-date' } : { kind: 'change', state, changes };
    } catch (e) {
      return { kind: 'failed', error: e, changes: [] };
    }
  };

  const changedResult = (i: number, changes: Change[], ms: number, w: readonly string[]): ResourceResult => ({
    address: (decls[i] as ResourceDecl).address,
    status: 'changed',
    changes: isSensitive(i) ? redact(changes) : changes,
    durationMs: ms,
    planned: dryRun,
    ...(w.length > 0 ? { warnings: isSensitive(i) ? [REDACTED] : [...w] } : {}),
  });
  const failedResult = (i: number, changes: Change[], e: unknown, ms: number): ResourceResult => ({
    address: (decls[i] as ResourceDecl).address,
    status: 'failed',
    changes: isSensitive(i) ? redact(changes) : changes,
    error: toReported(e, isSensitive(i)),
    ignored: decls[i]?.options.ignoreFailure === true,
    durationMs: ms,
  });
  const stops = (i: number): boolean =>
    decls[i]?.options.ignoreFailure !== true && options.continueOnFailure !== true;
  const finalResult = (i: number, p: Planned, ms: number): ResourceResult => {
    const address = (decls[i] as ResourceDecl).address;
    if (p.kind === 'skip') return { address, status: 'skipped', reason: p.reason };
    if (p.kind === 'up-to-date') return { address, status: 'up-to-date', durationMs: ms };
    if (p.kind === 'failed') return failedResult(i, p.changes, p.error, ms);
    return changedResult(i, p.changes, ms, []);
  };

  // What every apply context of this run shares; `w` collects the warnings.
  const contextBase = (w: string[]) => ({
    transport,
    facts,
    backupDir,
    warn: (m: string): void => void w.push(m),
    ...withSignal,
  });
  const applyResource = (
    i: number,
    p: { readonly state: unknown; readonly changes: Change[] },
    ctx: ApplyContext,
  ): Promise<void> => {
    const decl = decls[i] as ResourceDecl;
    return (providers[i] as AnyProvider).apply(decl.name, decl.props, p.state, p.changes, ctx);
  };

  // The provider of a notification's target and its action, or undefined when there is none.
  const actionOf = (target: string, action: string) => {
    const idx = decls.findIndex((d) => d.address === target);
    const decl = decls[idx];
    const fn = providers[idx]?.actions?.[action];
    return decl === undefined || fn === undefined ? undefined : { decl, fn };
  };
  const targetHidden = (target: string): boolean =>
    decls.find((d) => d.address === target)?.options.sensitive === true;
  const notificationFailed = (target: string, e: unknown): ReportedError =>
    toReported(e, targetHidden(target));
  const notificationWarnings = (target: string, w: readonly string[]): string[] =>
    w.map((m) => `${target}: ${targetHidden(target) ? REDACTED : m}`);
  const notificationFailedWith = (
    n: { target: string; action: string; timing: 'delayed' | 'immediate'; by: readonly string[] },
    e: unknown,
  ): void => {
    const { target, action, timing, by } = n;
    notificationResults.push({
      target,
      action,
      timing,
      by,
      status: 'failed',
      error: notificationFailed(target, e),
    });
  };
  // Reports a notification that ran in a batch (or whose batch failed, with `error`).
  const settleNotification = (
    n: { target: string; action: string; timing: 'delayed' | 'immediate'; by: readonly string[] },
    group: BatchGroup,
    recordWarnings: readonly string[],
    outcome: BatchOutcome | undefined,
    error?: unknown,
  ): void => {
    const { target, action, timing, by } = n;
    if (outcome !== undefined && outcome.groups.get(group.id) === 'ok') {
      warnings.push(...notificationWarnings(target, [...recordWarnings, ...groupWarnings(group, outcome)]));
      notificationResults.push({ target, action, timing, by, status: 'ran' });
      return;
    }
    notificationFailedWith(n, outcome === undefined ? error : groupError(group, outcome));
  };

  if (dryRun) {
    const delayed = new Map<string, { target: string; action: string; by: string[] }>();
    for (let i = 0; i < decls.length; i++) {
      const t0 = monotonicMs();
      const p = plan(i);
      record(finalResult(i, p, monotonicMs() - t0));
      if (p.kind !== 'change') continue;
      for (const n of notificationsOf((decls[i] as ResourceDecl).options)) {
        const target = targetAddress(n);
        if (actionOf(target, n.action) === undefined) continue;
        if (n.timing === 'immediate') {
          notificationResults.push({
            target,
            action: n.action,
            timing: 'immediate',
            by: [(decls[i] as ResourceDecl).address],
            status: 'planned',
          });
          continue;
        }
        const key = `${target} ${n.action}`;
        const entry = delayed.get(key);
        if (entry === undefined)
          delayed.set(key, { target, action: n.action, by: [(decls[i] as ResourceDecl).address] });
        else entry.by.push((decls[i] as ResourceDecl).address);
      }
    }
    for (const { target, action, by } of delayed.values())
      notificationResults.push({ target, action, timing: 'delayed', by, status: 'planned' });
    return finish();
  }

  // Runs a notification's action directly; reports it.
  const runActionDirectly = async (
    target: string,
    action: string,
    timing: 'delayed' | 'immediate',
    by: readonly string[],
  ): Promise<void> => {
    const found = actionOf(target, action);
    if (found === undefined) return;
    try {
      const w: string[] = [];
      await found.fn(found.decl.name, found.decl.props, directContext(contextBase(w)));
      warnings.push(...notificationWarnings(target, w));
      notificationResults.push({ target, action, timing, by, status: 'ran' });
    } catch (e) {
      if (signal?.aborted === true) throw e;
      notificationFailedWith({ target, action, timing, by }, e);
    }
  };

  // Records a notification's action as steps; undefined when it must run directly.
  const recordAction = async (target: string, action: string, w: string[]): Promise<Step[] | undefined> => {
    const found = actionOf(target, action);
    if (found === undefined) return [];
    const { ctx, recording } = recordingContext(contextBase(w));
    try {
      await found.fn(found.decl.name, found.decl.props, ctx);
    } catch {
      return undefined;
    }
    return recording.refused === undefined ? recording.steps : undefined;
  };

  const pending = new Map<string, Pending>();
  const notifyLater = (i: number): void => {
    for (const n of notificationsOf((decls[i] as ResourceDecl).options)) {
      if (n.timing !== 'delayed') continue;
      const target = targetAddress(n);
      const key = `${target} ${n.action}`;
      const entry = pending.get(key);
      if (entry === undefined)
        pending.set(key, {
          target,
          action: n.action,
          by: [(decls[i] as ResourceDecl).address],
          triggered: true,
          done: false,
        });
      else {
        entry.by.push((decls[i] as ResourceDecl).address);
        entry.triggered = true;
      }
    }
  };

  // After a recorded file replacement, later resources of the same batch are planned from what the file will be,
  // and their checks expect that: several edits of one file (sshd_config) then go in one round trip. A wrong
  // prediction only costs a round trip: the check finds the difference and the resource is observed anew.
  const fileOps = new Map<string, [string, ProbeOp][]>();
  for (const [id, op] of allOps) {
    if (op.kind !== 'exec') fileOps.set(op.path, [...(fileOps.get(op.path) ?? []), [id, op]]);
  }
  const predict = (write: RecordedWrite): void => {
    const ids = fileOps.get(write.path) ?? [];
    if (ids.length === 0 || write.path.startsWith('/proc/') || write.path.startsWith('/sys/')) return;
    const before = ids.map(([id]) => results.get(id)).find((r) => r !== undefined && r.exitCode === 0);
    const line = predictedStatLine(write, before?.stderr.toString('utf8'));
    if (line === undefined) return;
    for (const [id, op] of ids) {
      results.set(id, {
        exitCode: 0,
        stdout: op.kind === 'file' ? Buffer.from(write.data) : Buffer.alloc(0),
        stderr: Buffer.from(line),
      });
    }
  };

  let epoch = 0; // how many times the host may have changed since the run began
  const observedAt = decls.map(() => 0);
  let stopped = false;

  // Plans the resources from `next` on and records their applies as one batch; stops at one that must run
  // directly (it joins the batch only to have its observation confirmed) or at a failure that stops the run.
  const planBatch = async (next: number): Promise<Batch> => {
    const t0 = monotonicMs();
    const groups: BatchGroup[] = [];
    const groupOf = new Map<number, BatchGroup>();
    const plans = new Map<number, PlanEntry>();
    const checked: number[] = [];
    let stepsSeen = false;
    let direct: number | undefined;
    let last = decls.length - 1;
    for (let j = next; j < decls.length; j++) {
      const decl = decls[j] as ResourceDecl;
      // A resource that observes nothing (an execute without guards) has nothing that could have gone stale.
      const needCheck = (stepsSeen || observedAt[j] !== epoch) && (opsOf[j] ?? []).length > 0;
      const check = needCheck
        ? { ops: opsOf[j] ?? [], digest: observationDigest(opsOf[j] ?? [], results) }
        : undefined;
      if (needCheck) checked.push(j);
      let planned = plan(j);
      const w: string[] = [];
      const immediates: { group: BatchGroup; target: string; action: string; warnings: string[] }[] = [];
      let steps: Step[] = [];
      if (planned.kind === 'change') {
        const { ctx, recording } = recordingContext(contextBase(w));
        try {
          await applyResource(j, planned, ctx);
        } catch (e) {
          if (recording.refused === undefined)
            planned = { kind: 'failed', error: e, changes: planned.changes };
        }
        steps = recording.steps;
        let refused = recording.refused !== undefined;
        if (!refused && planned.kind === 'change') for (const w of recording.writes) predict(w);
        if (!refused && planned.kind === 'change') {
          for (const n of notificationsOf(decl.options)) {
            if (n.timing !== 'immediate') continue;
            const target = targetAddress(n);
            if (actionOf(target, n.action) === undefined) continue;
            const nw: string[] = [];
            const actionSteps = await recordAction(target, n.action, nw);
            if (actionSteps === undefined) {
              refused = true;
              break;
            }
            immediates.push({
              group: {
                id: `n${j}i${immediates.length}`,
                kind: 'immediate',
                steps: actionSteps,
                after: [`r${j}`],
              },
              target,
              action: n.action,
              warnings: nw,
            });
          }
        }
        if (refused) {
          // This resource runs directly, after the batch confirmed its observation (if anything came before it).
          direct = j;
          last = j;
          plans.set(j, { planned, warnings: [], immediates: [] });
          if (check !== undefined) {
            const g: BatchGroup = { id: `r${j}`, kind: 'resource', check, steps: [] };
            groups.push(g);
            groupOf.set(j, g);
          }
          break;
        }
      }
      plans.set(j, { planned, warnings: w, immediates });
      if (planned.kind === 'change' || check !== undefined) {
        const g: BatchGroup = {
          id: `r${j}`,
          kind: 'resource',
          ...(check === undefined ? {} : { check }),
          steps: planned.kind === 'change' ? steps : [],
          stopOnFailure: stops(j),
          ...(planned.kind === 'failed' ? { planFailed: true } : {}),
        };
        groups.push(g);
        groupOf.set(j, g);
        for (const im of immediates) groups.push(im.group);
        if (planned.kind === 'change') stepsSeen = true;
      }
      if (planned.kind === 'failed' && stops(j)) {
        last = j; // nothing after a failure runs
        break;
      }
    }
    const final = direct === undefined;

    // Delayed notifications that may run at the end of this batch.
    const delayedGroups: { group: BatchGroup; entry: Pending; warnings: string[] }[] = [];
    const triggers = new Map<string, string[]>();
    for (const [j, p] of plans) {
      if (p.planned.kind !== 'change' || direct === j) continue;
      for (const n of notificationsOf((decls[j] as ResourceDecl).options)) {
        if (n.timing !== 'delayed') continue;
        const target = targetAddress(n);
        const key = `${target} ${n.action}`;
        if (!pending.has(key))
          pending.set(key, { target, action: n.action, by: [], triggered: false, done: false });
        triggers.set(key, [...(triggers.get(key) ?? []), `r${j}`]);
      }
    }
    let k = 0;
    for (const [key, entry] of pending) {
      if (entry.done || (!entry.triggered && !triggers.has(key))) continue;
      const w: string[] = [];
      const steps = await recordAction(entry.target, entry.action, w);
      if (steps === undefined) continue; // runs directly at the end
      const group: BatchGroup = {
        id: `n${k++}d`,
        kind: 'delayed',
        steps,
        after: entry.triggered ? [] : (triggers.get(key) ?? []),
      };
      groups.push(group);
      delayedGroups.push({ group, entry, warnings: w });
    }
    const reprobe = new Map(checked.flatMap((j) => opsOf[j] ?? []));
    return { t0, groups, groupOf, plans, checked, reprobe, direct, last, final, delayedGroups };
  };

  // Sends a batch; resolves to what it reported, or to the error that kept it from reporting.
  const sendBatch = async (
    batch: Batch,
  ): Promise<{ outcome: BatchOutcome | undefined; batchError: unknown; ms: number }> => {
    const { t0, groups, groupOf, reprobe, final } = batch;
    let outcome: BatchOutcome | undefined;
    let batchError: unknown;
    if (groups.length > 0) {
      const changing = [...groupOf].filter(([, g]) => g.steps.length > 0);
      if (changing.length > 0) options.onApply?.(changing.map(([j]) => (decls[j] as ResourceDecl).address));
      try {
        outcome = await runBatch(transport, groups, { final, reprobe, ...withSignal });
      } catch (e) {
        if (signal?.aborted === true) throw e;
        batchError = e;
      }
      if (groups.some((g) => g.steps.length > 0)) epoch += 1;
    }
    const ms = monotonicMs() - t0;
    return { outcome, batchError, ms };
  };

  // Records the result of every resource the batch settled, in order, and of its notifications; returns the
  // resource the batch found stale, if any.
  const settleBatch = (
    batch: Batch,
    next: number,
    outcome: BatchOutcome | undefined,
    batchError: unknown,
    ms: number,
  ): number | undefined => {
    const { groupOf, plans, direct, last, delayedGroups } = batch;
    // Settle each resource of the batch, in order.
    let staleAt: number | undefined;
    for (let j = next; j <= last; j++) {
      const p = plans.get(j);
      if (p === undefined) break;
      const g = groupOf.get(j);
      if (stopped) {
        record({
          address: (decls[j] as ResourceDecl).address,
          status: 'skipped',
          reason: 'an earlier resource failed',
        });
        continue;
      }
      if (batchError !== undefined && g !== undefined) {
        // The connection or the script failed: what ran is unknown. Every resource with work fails with that
        // error; the others were not confirmed and are skipped. A re-run observes and converges anew.
        if (p.planned.kind === 'change') record(failedResult(j, p.planned.changes, batchError, ms));
        else
          record({
            address: (decls[j] as ResourceDecl).address,
            status: 'skipped',
            reason: `not confirmed: ${toReported(batchError, false).message}`,
          });
        stopped = true;
        continue;
      }
      const status = g === undefined ? 'ok' : outcome?.groups.get(g.id);
      if (status === 'stale') {
        staleAt = j;
        break;
      }
      if (j === direct) break;
      if (status === undefined) {
        // Not reached: the batch stopped at a failure before it.
        record({
          address: (decls[j] as ResourceDecl).address,
          status: 'skipped',
          reason: 'an earlier resource failed',
        });
        stopped = true;
        continue;
      }
      const planned = p.planned;
      if (planned.kind === 'change') {
        if (status === 'ok' && outcome !== undefined) {
          record(
            changedResult(j, planned.changes, ms, [
              ...p.warnings,
              ...groupWarnings(g as BatchGroup, outcome),
            ]),
          );
          notifyLater(j);
          for (const im of p.immediates) {
            if (!outcome.groups.has(im.group.id)) continue;
            const n = {
              target: im.target,
              action: im.action,
              timing: 'immediate' as const,
              by: [(decls[j] as ResourceDecl).address],
            };
            settleNotification(n, im.group, im.warnings, outcome);
          }
        } else {
          record(
            failedResult(
              j,
              planned.changes,
              outcome === undefined ? batchError : groupError(g as BatchGroup, outcome),
              ms,
            ),
          );
          if (stops(j)) stopped = true;
        }
        continue;
      }
      record(finalResult(j, planned, 0));
      if (planned.kind === 'failed' && stops(j)) stopped = true;
    }
    // Delayed notifications that ran in this batch.
    if (outcome !== undefined) {
      for (const { group, entry, warnings: w } of delayedGroups) {
        if (!outcome.groups.has(group.id)) continue;
        entry.done = true;
        settleNotification({ ...entry, timing: 'delayed' }, group, w, outcome);
      }
    }
    return staleAt;
  };

  // Applies a resource that asks the host questions while it applies, after its observation was confirmed.
  const applyDirect = async (d: number, p: Planned): Promise<void> => {
    const decl = decls[d] as ResourceDecl;
    const td = monotonicMs();
    if (p.kind === 'change') {
      const w: string[] = [];
      try {
        await applyResource(d, p, directContext(contextBase(w)));
        record(changedResult(d, p.changes, monotonicMs() - td, w));
        notifyLater(d);
        for (const n of notificationsOf(decl.options)) {
          if (n.timing === 'immediate')
            await runActionDirectly(targetAddress(n), n.action, 'immediate', [decl.address]);
        }
      } catch (e) {
        if (signal?.aborted === true) throw e;
        record(failedResult(d, p.changes, e, monotonicMs() - td));
        if (stops(d)) stopped = true;
      }
      epoch += 1;
    } else {
      record(finalResult(d, p, 0));
    }
  };

  // Delayed notifications run once each, at the end, also when the run stopped early: a changed config whose
  // service was never restarted would otherwise stay unapplied, and no later run would notice.
  const runLeftNotifications = async (): Promise<void> => {
    const left = [...pending.values()].filter((e) => e.triggered && !e.done);
    if (left.length > 0) {
      const groups: BatchGroup[] = [];
      const recorded: { group: BatchGroup; entry: Pending; warnings: string[] }[] = [];
      for (const entry of left) {
        const w: string[] = [];
        const steps = await recordAction(entry.target, entry.action, w);
        if (steps === undefined) continue;
        const group: BatchGroup = { id: `n${recorded.length}d`, kind: 'delayed', steps, after: [] };
        groups.push(group);
        recorded.push({ group, entry, warnings: w });
      }
      if (groups.length > 0) {
        let outcome: BatchOutcome | undefined;
        let error: unknown;
        try {
          outcome = await runBatch(transport, groups, { final: true, reprobe: new Map(), ...withSignal });
        } catch (e) {
          if (signal?.aborted === true) throw e;
          error = e;
        }
        for (const { group, entry, warnings: w } of recorded) {
          entry.done = true;
          settleNotification({ ...entry, timing: 'delayed' }, group, w, outcome, error);
        }
      }
      for (const entry of left)
        if (!entry.done) await runActionDirectly(entry.target, entry.action, 'delayed', entry.by);
    }
  };

  for (let next = 0; next < decls.length && !stopped;) {
    const batch = await planBatch(next);
    const { outcome, batchError, ms } = await sendBatch(batch);
    const staleAt = settleBatch(batch, next, outcome, batchError, ms);
    if (stopped) break;
    if (staleAt !== undefined) {
      // Observed anew after this batch's changes: re-plan from the stale resource with fresh data.
      const empty = { execs: new Map(), stats: new Map(), contents: new Map(), kernel: new Map() };
      for (const [id, r] of resultsFor(batch.reprobe, outcome?.reprobe ?? empty)) results.set(id, r);
      for (const j of batch.checked) observedAt[j] = epoch;
      next = staleAt;
    } else if (batch.direct !== undefined) {
      await applyDirect(batch.direct, batch.plans.get(batch.direct)?.planned ?? plan(batch.direct));
      next = batch.direct + 1;
    } else {
      next = batch.last + 1;
    }
  }
  for (let j = out.length; j < decls.length; j++) {
    record({
      address: (decls[j] as ResourceDecl).address,
      status: 'skipped',
      reason: 'an earlier resource failed',
    });
  }
  await runLeftNotifications();
  return finish();

  function finish(): RunReport {
    return {
      ...base,
      durationMs: monotonicMs() - started,
      roundTrips: transport.roundTrips - tripsBefore,
      summary: summarize(out),
      resources: out,
      notifications: notificationResults,
      warnings,
      facts,
    };
  }
}
