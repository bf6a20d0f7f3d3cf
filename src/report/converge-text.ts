/** The human-readable converge and plan output. Statuses map through an exhaustive record. */
import type { ResourceResult, ResourceStatus, RunReport } from '../engine/report.js';
import type { Change } from '../resources/types.js';
import type { Style } from './style.js';

const LABEL: Record<ResourceStatus, (s: Style, planned: boolean) => string> = {
  'up-to-date': (s) => s.green('ok      '),
  changed: (s, planned) => s.yellow(planned ? 'change  ' : 'changed '),
  failed: (s) => s.red('FAILED  '),
  skipped: (s) => s.dim('skipped '),
};

function describeChange(c: Change): string {
  const show = (v: string | null): string => (v === null ? '(none)' : v);
  return `${c.property}: ${show(c.from)} -> ${show(c.to)}`;
}

/** One resource as lines of text; up-to-date resources only when `verbose`. */
export function formatResource(r: ResourceResult, style: Style, verbose: boolean): string[] {
  if (r.status === 'up-to-date' && !verbose) return [];
  const planned = r.status === 'changed' && r.planned;
  const lines = [`  ${LABEL[r.status](style, planned)}${r.address}`];
  switch (r.status) {
    case 'up-to-date':
      break;
    case 'changed':
    case 'failed':
      for (const c of r.changes) {
        lines.push(`            ${describeChange(c)}`);
        if (c.diff !== undefined && c.diff !== '') {
          for (const d of c.diff.replace(/\n$/, '').split('\n').slice(0, 40)) {
            const colour = d.startsWith('+') ? style.green : d.startsWith('-') ? style.red : style.dim;
            lines.push(`              ${colour(d)}`);
          }
        }
      }
      if (r.status === 'changed')
        for (const w of r.warnings ?? []) lines.push(`            ${style.yellow('warning:')} ${w}`);
      if (r.status === 'failed') {
        lines.push(
          `            ${style.red(r.error.code)}${r.ignored ? ' (ignored)' : ''}: ${r.error.message.split('\n').join('\n              ')}`,
        );
      }
      break;
    case 'skipped':
      lines.push(`            ${style.dim(r.reason)}`);
      break;
  }
  return lines;
}

/** The first line of a run's output. */
export function formatRunHeader(cookbook: string, target: string, dryRun: boolean, style: Style): string {
  return style.bold(`${dryRun ? 'Plan for' : 'Converging'} ${cookbook} on ${target}`);
}

/** Everything after the resources: notifications, warnings, errors and the summary line. */
export function formatRunFooter(report: RunReport, style: Style): string {
  const lines: string[] = [];
  for (const n of report.notifications) {
    const what = n.status === 'planned' ? 'would run' : n.status === 'ran' ? 'ran' : style.red('FAILED');
    lines.push(
      `  ${style.dim('notify  ')}${n.target} ${n.action} (${n.timing}, by ${n.by.join(', ')}): ${what}`,
    );
    if (n.error !== undefined) lines.push(`            ${style.red(n.error.code)}: ${n.error.message}`);
  }
  for (const w of report.warnings) lines.push(`  ${style.yellow('warning')} ${w}`);
  if (report.error !== undefined) lines.push(`  ${style.red(report.error.code)}: ${report.error.message}`);
  const s = report.summary;
  const changed = report.dryRun ? `${s.changed} to change` : `${s.changed} changed`;
  const failed = s.failed > 0 ? style.red(`${s.failed} failed`) : `${s.failed} failed`;
  const ignored = s.ignoredFailures > 0 ? `, ${s.ignoredFailures} failed (ignored)` : '';
  const trips = `${report.roundTrips} round trip${report.roundTrips === 1 ? '' : 's'}`;
  lines.push(
    `${changed}, ${s.upToDate} up to date, ${failed}${ignored}, ${s.skipped} skipped · ${trips} · ${Math.round(report.durationMs)} ms`,
  );
  return lines.join('\n');
}

/** The whole report as text: header, resources, footer. */
export function formatRunReport(report: RunReport, style: Style, verbose: boolean): string {
  return [
    formatRunHeader(report.cookbook, report.target, report.dryRun, style),
    ...report.resources.flatMap((r) => formatResource(r, style, verbose)),
    formatRunFooter(report, style),
  ].join('\n');
}
