/**
 * Printing an audit-shaped report and mapping it to an exit code, shared by `audit`, `converge --audit` and
 * `vulns`. Apart from cli/audit.ts so that `vulns` loads no audit engine.
 */
import type { AuditReport, AuditSummary } from '../audit/types.js';
import { writeReports, type ReporterSpec } from '../report/reporters.js';
import { colorWanted, makeStyle } from '../report/style.js';
import { EXIT, VERSION, type Io } from './common.js';

/** Maps audit totals to an exit code: 100 for failures or errors, 101 for skips only, else 0. */
export function auditExitCode(summary: AuditSummary, noDistinctExit: boolean): number {
  if (summary.failed > 0 || summary.errors > 0) return noDistinctExit ? EXIT.ok : EXIT.auditFailed;
  if (summary.skipped > 0) return noDistinctExit ? EXIT.ok : EXIT.auditSkipped;
  return EXIT.ok;
}

/**
 * Writes an audit-shaped report through its reporters, names every host that could not be observed on stderr,
 * and returns the exit code: 2 when a host could not be observed, else as `auditExitCode`. Shared by audit and vulns.
 */
export async function emitAuditReport(
  report: AuditReport,
  specs: readonly ReporterSpec[],
  io: Io,
  options: { readonly noColor: boolean; readonly verbose: boolean; readonly noDistinctExit: boolean },
): Promise<number> {
  const style = makeStyle(!options.noColor && colorWanted(io.stdout));
  await writeReports(report, specs, {
    stdout: io.stdout,
    style,
    verbose: options.verbose,
    toolVersion: VERSION,
  });
  const unreachable = report.hosts.filter((h) => h.error !== undefined);
  for (const h of unreachable)
    io.stderr.write(`error ${h.error?.code ?? ''} on ${h.name}: ${h.error?.message ?? ''}\n`);
  if (unreachable.length > 0) return EXIT.runtime;
  return auditExitCode(report.summary, options.noDistinctExit);
}
