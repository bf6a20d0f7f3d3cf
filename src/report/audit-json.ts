/**
 * The audit report as JSON (schema version 1, docs/audit-report-schema.md), and the counting rules every audit
 * reporter shares so that the text, JUnit, SARIF and HTML outputs never disagree about what was waived.
 */
import { isWaived } from '../audit/waivers.js';
import {
  BUCKETS,
  type AuditHost,
  type AuditReport,
  type AuditResult,
  type AuditSummary,
  type Bucket,
  type Severity,
  type StatusCounts,
} from '../audit/types.js';

/** Every severity, most severe first: the order reports list them in. */
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'none'];

/** The one waiver rule (audit/waivers.ts), re-exported for the reporters. */
export { isWaived };

/** Counts results by status, with waived failures in `waived` rather than `failed`. */
export function countStatuses(results: Iterable<AuditResult>): StatusCounts {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let errors = 0;
  let waived = 0;
  for (const r of results) {
    if (isWaived(r)) waived++;
    else if (r.status === 'passed') passed++;
    else if (r.status === 'failed') failed++;
    else if (r.status === 'skipped') skipped++;
    else errors++;
  }
  return { passed, failed, skipped, errors, waived };
}

/** The summary of any set of results (a whole report, or one host's share of it). */
export function summarize(results: readonly AuditResult[]): AuditSummary {
  const byBucket = Object.fromEntries(
    BUCKETS.map((b) => [b, countStatuses(results.filter((r) => r.bucket === b))]),
  ) as Record<Bucket, StatusCounts>;
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((s) => [s, countStatuses(results.filter((r) => r.severity === s))]),
  ) as Record<Severity, StatusCounts>;
  return { ...countStatuses(results), total: results.length, byBucket, bySeverity };
}

/** One host's results, in the order the report lists them. */
export interface HostGroup {
  readonly name: string;
  /** Absent when results name a host that the report's `hosts` does not list. */
  readonly host?: AuditHost;
  readonly results: readonly AuditResult[];
}

/** Results grouped by host: the report's hosts in order (even those without results), then any others. */
export function groupByHost(report: AuditReport): HostGroup[] {
  const byName = groupBy(
    report.results,
    (r) => r.host,
    report.hosts.map((h) => h.name),
  );
  return [...byName].map(([name, results]) => {
    const host = report.hosts.find((h) => h.name === name);
    return host === undefined ? { name, results } : { name, host, results };
  });
}

/** Results grouped by the profile or cookbook they came from, in the report's source order, then any others. */
export function groupBySource(
  report: AuditReport,
  results: readonly AuditResult[],
): Map<string, AuditResult[]> {
  const byName = groupBy(
    results,
    (r) => r.source,
    report.sources.map((s) => s.name),
  );
  for (const [name, rs] of byName) if (rs.length === 0) byName.delete(name);
  return byName;
}

function groupBy(
  results: readonly AuditResult[],
  key: (r: AuditResult) => string,
  order: readonly string[],
): Map<string, AuditResult[]> {
  const groups = new Map<string, AuditResult[]>(order.map((k) => [k, []]));
  for (const r of results) {
    const group = groups.get(key(r));
    if (group === undefined) groups.set(key(r), [r]);
    else group.push(r);
  }
  return groups;
}

/** The report as the documented JSON value: the report object itself, which already is schema version 1. */
export function toJson(report: AuditReport): AuditReport {
  return report;
}

/** The report as JSON text, indented, with a final newline, as `--reporter json` prints it. */
export function formatJson(report: AuditReport): string {
  return `${JSON.stringify(toJson(report), null, 2)}\n`;
}
