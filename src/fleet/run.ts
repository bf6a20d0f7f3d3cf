/**
 * Fleet runs: converge or audit many hosts at once with a concurrency limit. Each host has its own transport and
 * its own failures: one unreachable host never stops the others. The results merge into one report.
 */
import { monotonicMs } from '../builtins.js';
import type { AuditSources, HostAudit } from '../audit/run.js';
import { auditHost, buildAuditReport } from '../audit/run.js';
import type { AuditReport } from '../audit/types.js';
import type { CompiledCookbook } from '../dsl/compile.js';
import { converge, type ConvergeOptions } from '../engine/converge.js';
import { summarize, type ReportedError, type RunReport, type Summary } from '../engine/report.js';
import { isBulwarkError } from '../errors.js';
import { openTarget } from '../transports/index.js';
import type { SshOptions } from '../transports/ssh.js';
import type { Transport } from '../transports/transport.js';
import type { Waivers } from '../audit/waivers.js';
import { DEFAULT_CONCURRENCY, mapConcurrent } from './concurrency.js';
import type { InventoryHost } from './inventory.js';

export { DEFAULT_CONCURRENCY, mapConcurrent } from './concurrency.js';

/** Progress of a fleet run, after each host. */
export interface FleetProgress {
  readonly done: number;
  readonly total: number;
  readonly changed: number;
  readonly failed: number;
}

/** Options for a fleet run. */
export interface FleetOptions {
  /** Hosts at once. @default 16 */
  readonly concurrency?: number;
  /** SSH options that apply to every host (host-specific ones from the inventory win). @default {} */
  readonly ssh?: SshOptions;
  /** Called after each host. */
  readonly onProgress?: (p: FleetProgress) => void;
  readonly signal?: AbortSignal;
}

function openHost(host: InventoryHost, ssh: SshOptions | undefined): Transport {
  return openTarget(host.target, { ssh: { ...ssh, ...host.ssh } });
}

function reported(e: unknown): ReportedError {
  return {
    code: isBulwarkError(e) ? e.code : 'BULWARK_TRANSPORT',
    message: e instanceof Error ? e.message : String(e),
  };
}

/** One host of a fleet converge. */
export type FleetHostResult =
  | {
      readonly name: string;
      readonly target: string;
      readonly status: 'ok' | 'changed' | 'failed';
      readonly report: RunReport;
    }
  | {
      readonly name: string;
      readonly target: string;
      readonly status: 'error';
      readonly error: ReportedError;
      readonly durationMs: number;
    };

/** A converge (or plan) of many hosts. Version 1 of the fleet converge JSON. */
export interface FleetConvergeReport {
  readonly schemaVersion: 1;
  readonly kind: 'bulwark.fleet-converge';
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly hosts: readonly FleetHostResult[];
  readonly summary: {
    readonly hosts: number;
    /** Hosts where nothing changed and nothing failed. */
    readonly ok: number;
    readonly changed: number;
    /** Hosts where a resource or notification failed. */
    readonly failed: number;
    /** Hosts that could not be reached, observed or compiled for. */
    readonly errors: number;
    /** Resource totals over every host. */
    readonly resources: Summary;
  };
}

/** Converges every host with the cookbook its run list compiles to; failures stay on their host. */
export async function convergeFleet(
  hosts: readonly InventoryHost[],
  cookbookFor: (host: InventoryHost) => Promise<CompiledCookbook>,
  options: FleetOptions & Pick<ConvergeOptions, 'dryRun' | 'continueOnFailure' | 'backupDir'> = {},
): Promise<FleetConvergeReport> {
  const started = monotonicMs();
  const startedAt = new Date().toISOString();
  let done = 0;
  let changed = 0;
  let failed = 0;
  const results = await mapConcurrent(
    hosts,
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async (host): Promise<FleetHostResult> => {
      const t0 = monotonicMs();
      let result: FleetHostResult;
      let transport: Transport | undefined;
      try {
        const cookbook = await cookbookFor(host);
        transport = openHost(host, options.ssh);
        const report = await converge(cookbook, transport, {
          ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
          ...(options.continueOnFailure === undefined
            ? {}
            : { continueOnFailure: options.continueOnFailure }),
          ...(options.backupDir === undefined ? {} : { backupDir: options.backupDir }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        const hostFailed =
          report.summary.failed > 0 || report.notifications.some((n) => n.status === 'failed');
        const status = hostFailed ? 'failed' : report.summary.changed > 0 ? 'changed' : 'ok';
        result = { name: host.name, target: host.target, status, report: { ...report, target: host.target } };
      } catch (e) {
        result = {
          name: host.name,
          target: host.target,
          status: 'error',
          error: reported(e),
          durationMs: monotonicMs() - t0,
        };
      } finally {
        await transport?.close().catch(() => undefined);
      }
      done++;
      if (result.status === 'changed') changed++;
      if (result.status === 'failed' || result.status === 'error') failed++;
      options.onProgress?.({ done, total: hosts.length, changed, failed });
      return result;
    },
  );
  const count = (s: FleetHostResult['status']): number => results.filter((r) => r.status === s).length;
  return {
    schemaVersion: 1,
    kind: 'bulwark.fleet-converge',
    dryRun: options.dryRun ?? false,
    startedAt,
    durationMs: monotonicMs() - started,
    hosts: results,
    summary: {
      hosts: results.length,
      ok: count('ok'),
      changed: count('changed'),
      failed: count('failed'),
      errors: count('error'),
      resources: summarize(results.flatMap((r) => ('report' in r ? r.report.resources : []))),
    },
  };
}

/** Audits every host with the sources its run list compiles to, and merges the results into one report. */
export async function auditFleet(
  hosts: readonly InventoryHost[],
  sourcesFor: (host: InventoryHost) => Promise<AuditSources>,
  options: FleetOptions & { readonly waivers?: Waivers; readonly now?: Date } = {},
): Promise<AuditReport> {
  const started = monotonicMs();
  const startedAt = new Date().toISOString();
  let done = 0;
  let failed = 0;
  const all: AuditSources[] = [];
  const audits = await mapConcurrent(
    hosts,
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async (host): Promise<HostAudit> => {
      const t0 = monotonicMs();
      let transport: Transport | undefined;
      let audit: HostAudit;
      try {
        const sources = await sourcesFor(host);
        all.push(sources);
        transport = openHost(host, options.ssh);
        audit = await auditHost(sources, transport, {
          host: host.name,
          ...(options.waivers === undefined ? {} : { waivers: options.waivers }),
          ...(options.now === undefined ? {} : { now: options.now }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      } catch (e) {
        audit = {
          host: {
            name: host.name,
            target: host.target,
            roundTrips: transport?.roundTrips ?? 0,
            durationMs: monotonicMs() - t0,
            error: reported(e),
          },
          results: [],
          unusedWaivers: [],
        };
      } finally {
        await transport?.close().catch(() => undefined);
      }
      done++;
      if (
        audit.host.error !== undefined ||
        audit.results.some((r) => r.status === 'failed' || r.status === 'error')
      )
        failed++;
      options.onProgress?.({ done, total: hosts.length, changed: 0, failed });
      return audit;
    },
  );
  const names = new Set<string>();
  const merged: AuditSources = {
    profiles: all
      .flatMap((s) => s.profiles)
      .filter((p) => !names.has(`p:${p.name}`) && names.add(`p:${p.name}`)),
    cookbooks: all
      .flatMap((s) => s.cookbooks)
      .filter((c) => !names.has(`c:${c.name}`) && names.add(`c:${c.name}`)),
  };
  return buildAuditReport(merged, audits, { startedAt, durationMs: monotonicMs() - started });
}
