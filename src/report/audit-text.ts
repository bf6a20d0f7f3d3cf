/**
 * The human-readable audit output: grouped by host, then by profile or cookbook, one line per control, failed
 * checks as `expected … / got …`, and totals by status, bucket and severity. Statuses map through an exhaustive record.
 */
import {
  BUCKETS,
  type AuditReport,
  type AuditResult,
  type AuditStatus,
  type StatusCounts,
} from '../audit/types.js';
import { countStatuses, groupByHost, groupBySource, isWaived, SEVERITIES } from './audit-json.js';
import type { Style } from './style.js';

/** Options of the audit text reporter. */
export interface AuditTextOptions {
  /** Also show passed checks, descriptions, tags, refs and host facts. @default false */
  readonly verbose?: boolean;
}

const MARK: Record<AuditStatus, (s: Style) => string> = {
  passed: (s) => s.green('ok      '),
  failed: (s) => s.red('FAILED  '),
  skipped: (s) => s.dim('skipped '),
  error: (s) => s.red('ERROR   '),
};
const WAIVED_MARK = (s: Style): string => s.yellow('waived  ');

const DETAIL = '              ';

/**
 * Makes text from a profile or a host safe to print on one terminal line: a hostile title must not be able to
 * move the cursor, change colours or fake extra result lines.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    c === '\n' || c === '\r' || c === '\t' ? ' ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** Status counts as `3 passed, 1 failed, …`; zero counts are left out unless `all`. */
export function formatCounts(c: StatusCounts, style: Style, all = false): string {
  const parts: [number, string, (s: string) => string][] = [
    [c.passed, 'passed', style.green],
    [c.failed, 'failed', style.red],
    [c.skipped, 'skipped', (s) => s],
    [c.errors, c.errors === 1 ? 'error' : 'errors', style.red],
    [c.waived, 'waived', style.yellow],
  ];
  const shown = parts.filter(([n]) => all || n > 0);
  if (shown.length === 0) return 'none';
  return shown.map(([n, word, colour]) => (n > 0 ? colour(`${n} ${word}`) : `${n} ${word}`)).join(', ');
}

function waiverLines(r: AuditResult, style: Style): string[] {
  const w = r.waiver;
  if (w === undefined) return [];
  const until = w.expires === undefined || w.expired ? '' : `until ${w.expires}`;
  const who = [w.approver === undefined ? '' : `by ${w.approver}`, until].filter((s) => s !== '').join(', ');
  const detail = `${oneLine(w.justification)}${who === '' ? '' : ` (${oneLine(who)})`}`;
  return [
    w.expired
      ? `${DETAIL}${style.red('waiver EXPIRED')}${w.expires === undefined ? '' : ` on ${oneLine(w.expires)}`}: ${detail}`
      : `${DETAIL}${style.yellow('waived')}: ${detail}`,
  ];
}

/** One result as lines of text: the control line, then why it failed, errored or was skipped. */
export function formatAuditResult(r: AuditResult, style: Style, verbose: boolean): string[] {
  const mark = isWaived(r) ? WAIVED_MARK(style) : MARK[r.status](style);
  const rating =
    r.status === 'failed' || r.status === 'error' ? style.dim(` (${r.severity}, ${r.bucket})`) : '';
  const lines = [`    ${mark}${oneLine(r.address)}  ${oneLine(r.title)}${rating}`];
  // The message repeats the first failing or erring check; show it only when no check line will say it.
  const checksSayIt = r.checks.some((c) => c.status === 'failed' || c.status === 'error');
  if (r.message !== '' && r.status !== 'passed' && !checksSayIt) {
    const colour =
      r.status === 'skipped' || isWaived(r) ? style.dim : r.status === 'error' ? style.red : (s: string) => s;
    lines.push(`${DETAIL}${colour(oneLine(r.message))}`);
  }
  for (const c of r.checks) {
    switch (c.status) {
      case 'passed':
        if (verbose) lines.push(`${DETAIL}${style.green('ok')} ${oneLine(c.description)}`);
        break;
      case 'failed':
        lines.push(
          `${DETAIL}${style.red('✗')} ${oneLine(c.description)}: expected ${oneLine(c.expected)} / got ${style.red(oneLine(c.actual))}`,
        );
        break;
      case 'error':
        lines.push(`${DETAIL}${style.red('error')} ${oneLine(c.description)}: ${oneLine(c.message)}`);
        break;
    }
  }
  lines.push(...waiverLines(r, style));
  if (verbose) {
    if (r.description !== undefined) lines.push(`${DETAIL}${style.dim(oneLine(r.description))}`);
    const tags = Object.entries(r.tags).map(([k, v]) => `${k}=${typeof v === 'string' ? v : v.join(',')}`);
    if (tags.length > 0) lines.push(`${DETAIL}${style.dim(`tags: ${oneLine(tags.join(' '))}`)}`);
    for (const ref of r.refs) {
      const text = [ref.title, ref.url].filter((s) => s !== undefined).join(' ');
      if (text !== '') lines.push(`${DETAIL}${style.dim(`ref: ${oneLine(text)}`)}`);
    }
  }
  return lines;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The whole audit report as text, as `bulwark audit` prints it. */
export function formatAuditReport(report: AuditReport, style: Style, options: AuditTextOptions = {}): string {
  const verbose = options.verbose ?? false;
  const hosts = groupByHost(report);
  const lines: string[] = [];
  const sources = report.sources.map((s) => oneLine(s.name)).join(', ');
  lines.push(
    style.bold(`Audit of ${plural(hosts.length, 'host')}${sources === '' ? '' : ` against ${sources}`}`),
  );

  for (const group of hosts) {
    const h = group.host;
    lines.push('');
    lines.push(
      style.bold(oneLine(group.name)) + (h === undefined ? '' : style.dim(` (${oneLine(h.target)})`)),
    );
    if (h?.error !== undefined)
      lines.push(`  ${style.red(oneLine(h.error.code))}: ${oneLine(h.error.message)}`);
    if (verbose && h?.facts !== undefined) {
      const f = h.facts;
      lines.push(
        style.dim(`  ${oneLine(`${f.osId} ${f.osVersion} (${f.osCodename}) ${f.arch}, ${f.init}`)}`),
      );
    }
    for (const [name, results] of groupBySource(report, group.results)) {
      const source = report.sources.find((s) => s.name === name);
      const about =
        source === undefined
          ? ''
          : style.dim(
              ` — ${oneLine(source.title)} (${source.kind}${source.version === undefined ? '' : ` ${oneLine(source.version)}`})`,
            );
      lines.push(`  ${oneLine(name)}${about}`);
      for (const r of results) lines.push(...formatAuditResult(r, style, verbose));
    }
    const cost =
      h === undefined ? '' : ` · ${plural(h.roundTrips, 'round trip')} · ${Math.round(h.durationMs)} ms`;
    lines.push(`  ${oneLine(group.name)}: ${formatCounts(countStatuses(group.results), style, true)}${cost}`);
  }

  lines.push('');
  for (const w of report.unusedWaivers)
    lines.push(`${style.yellow('warning')} waiver matched no control: ${oneLine(w)}`);
  for (const w of report.warnings) lines.push(`${style.yellow('warning')} ${oneLine(w)}`);
  const s = report.summary;
  lines.push(
    style.bold(`${plural(s.total, 'result')}: `) +
      `${formatCounts(s, style, true)} · ${Math.round(report.durationMs)} ms`,
  );
  const buckets = BUCKETS.map((b) => [b, s.byBucket[b]] as const).filter(([, c]) => total(c) > 0);
  if (buckets.length > 0)
    lines.push(`  by bucket:   ${buckets.map(([b, c]) => `${b} ${formatCounts(c, style)}`).join(' · ')}`);
  const severities = SEVERITIES.map((v) => [v, s.bySeverity[v]] as const).filter(([, c]) => total(c) > 0);
  if (severities.length > 0)
    lines.push(`  by severity: ${severities.map(([v, c]) => `${v} ${formatCounts(c, style)}`).join(' · ')}`);
  return lines.join('\n');
}

function total(c: StatusCounts): number {
  return c.passed + c.failed + c.skipped + c.errors + c.waived;
}
