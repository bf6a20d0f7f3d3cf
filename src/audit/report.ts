/**
 * Audit reports: totals by status, bucket and severity, and the report of one or more hosts' results. Kept apart
 * from the audit engine (run.ts) so that commands which only report results (`bulwark vulns`) load none of it.
 */
import type { CompiledCookbook } from '../dsl/compile.js';
import type { CompiledProfile } from './compile.js';
import type {
  AuditHost,
  AuditReport,
  AuditResult,
  AuditStatus,
  AuditSummary,
  Bucket,
  Severity,
  StatusCounts,
} from './types.js';
import { BUCKETS } from './types.js';
import { isWaived } from './waivers.js';

/** What to audit on a host. */
export interface AuditSources {
  readonly profiles: readonly CompiledProfile[];
  /** Cookbooks checked in audit mode: each resource's desired state, plus the controls they carry. */
  readonly cookbooks: readonly CompiledCookbook[];
}

/** The results of one host. */
export interface HostAudit {
  readonly host: AuditHost;
  readonly results: readonly AuditResult[];
  /** Waiver ids that matched nothing on this host. */
  readonly unusedWaivers: readonly string[];
}

const zero = (): { passed: number; failed: number; skipped: number; errors: number; waived: number } => ({
  passed: 0,
  failed: 0,
  skipped: 0,
  errors: 0,
  waived: 0,
});

/** Totals results by status, bucket and severity; waived failures count as waived, not failed. */
export function summarizeAudit(results: readonly AuditResult[]): AuditSummary {
  const all = zero();
  const byBucket = Object.fromEntries(BUCKETS.map((b) => [b, zero()])) as Record<
    Bucket,
    ReturnType<typeof zero>
  >;
  const severities: Severity[] = ['none', 'low', 'medium', 'high', 'critical'];
  const bySeverity = Object.fromEntries(severities.map((s) => [s, zero()])) as Record<
    Severity,
    ReturnType<typeof zero>
  >;
  const field: Record<AuditStatus, keyof StatusCounts> = {
    passed: 'passed',
    failed: 'failed',
    skipped: 'skipped',
    error: 'errors',
  };
  for (const r of results) {
    const f = isWaived(r) ? 'waived' : field[r.status];
    all[f]++;
    byBucket[r.bucket][f]++;
    bySeverity[r.severity][f]++;
  }
  return { ...all, total: results.length, byBucket, bySeverity };
}

/** Builds a report from the audits of one or more hosts. */
export function buildAuditReport(
  sources: AuditSources,
  hosts: readonly HostAudit[],
  timing: { readonly startedAt: string; readonly durationMs: number },
): AuditReport {
  const results = hosts.flatMap((h) => h.results);
  const unused =
    hosts.length === 0
      ? []
      : (hosts[0]?.unusedWaivers ?? []).filter((id) => hosts.every((h) => h.unusedWaivers.includes(id)));
  return {
    schemaVersion: 1,
    kind: 'bulwark.audit',
    startedAt: timing.startedAt,
    durationMs: timing.durationMs,
    sources: [
      ...sources.profiles.map((p) => ({
        name: p.name,
        kind: 'profile' as const,
        title: p.title,
        version: p.version,
      })),
      ...sources.cookbooks.map((c) => ({ name: c.name, kind: 'cookbook' as const, title: c.name })),
    ],
    hosts: hosts.map((h) => h.host),
    summary: summarizeAudit(results),
    results,
    unusedWaivers: unused,
    warnings: [],
  };
}
