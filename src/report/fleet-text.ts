/** The text of a fleet converge: one row per host, then what went wrong where. */
import type { FleetConvergeReport, FleetHostResult } from '../fleet/run.js';
import { formatResource, formatRunFooter } from './converge-text.js';
import type { Style } from './style.js';

const STATUS: Record<FleetHostResult['status'], (s: Style) => string> = {
  ok: (s) => s.green('ok'),
  changed: (s) => s.yellow('changed'),
  failed: (s) => s.red('FAILED'),
  error: (s) => s.red('ERROR'),
};

function pad(text: string, width: number, shown = text): string {
  return shown + ' '.repeat(Math.max(0, width - text.length));
}

/** The fleet report as text: a table of hosts, then the failures (and with `verbose`, every host's run). */
export function formatFleetReport(report: FleetConvergeReport, style: Style, verbose: boolean): string {
  const header = ['HOST', 'STATUS', 'CHANGED', 'OK', 'FAILED', 'SKIPPED', 'TRIPS', 'TIME', 'TARGET'];
  const rows = report.hosts.map((h) => {
    if (h.status === 'error')
      return [h.name, 'ERROR', '-', '-', '-', '-', '-', `${Math.round(h.durationMs)} ms`, h.target];
    const s = h.report.summary;
    const verb = h.status === 'failed' ? 'FAILED' : h.status;
    return [
      h.name,
      verb,
      String(s.changed),
      String(s.upToDate),
      String(s.failed),
      String(s.skipped),
      String(h.report.roundTrips),
      `${Math.round(h.report.durationMs)} ms`,
      h.target,
    ];
  });
  const widths = header.map((_, i) =>
    Math.max(header[i]?.length ?? 0, ...rows.map((r) => r[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[], statusStyled?: string): string =>
    cells
      .map((c, i) =>
        i === 1 && statusStyled !== undefined ? pad(c, widths[i] ?? 0, statusStyled) : pad(c, widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const out = [
    style.bold(
      `${report.dryRun ? 'Plan for' : 'Converged'} ${report.hosts.length} host${report.hosts.length === 1 ? '' : 's'}`,
    ),
    style.dim(line(header)),
  ];
  report.hosts.forEach((h, i) => out.push(line(rows[i] ?? [], STATUS[h.status](style))));
  for (const h of report.hosts) {
    if (h.status === 'error') {
      out.push('', `${style.bold(h.name)}: ${style.red(h.error.code)}: ${h.error.message}`);
    } else if (h.status === 'failed' || verbose || (report.dryRun && h.status === 'changed')) {
      out.push('', style.bold(h.name));
      for (const r of h.report.resources) out.push(...formatResource(r, style, verbose));
      out.push(formatRunFooter(h.report, style));
    }
  }
  const s = report.summary;
  out.push(
    '',
    `${s.hosts} hosts: ${s.ok} ok, ${s.changed} changed, ${s.failed > 0 ? style.red(`${s.failed} failed`) : '0 failed'}, ${s.errors > 0 ? style.red(`${s.errors} unreachable or in error`) : '0 in error'} · ${Math.round(report.durationMs)} ms`,
  );
  return out.join('\n');
}
