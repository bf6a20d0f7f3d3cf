/**
 * The audit report as JUnit XML, for CI systems that show test results: one <testsuite> per host and profile or
 * cookbook, one <testcase> per control. A waived failure is reported as <skipped> with the waiver's justification:
 * CI should not go red for a risk someone accepted, but the report must still show it was not passed.
 */
import type { AuditReport, AuditResult, StatusCounts } from '../audit/types.js';
import { countStatuses, groupByHost, groupBySource, isWaived } from './audit-json.js';
import { checkText } from './common.js';

/** Characters XML 1.0 does not allow anywhere, not even escaped: most C0 controls, lone surrogates, U+FFFE/U+FFFF. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ILLEGAL_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udfff]/gu;

const XML_ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Makes text safe inside XML content and quoted attributes: escapes the five markup characters, drops illegal ones. */
export function escapeXml(text: string): string {
  return text.replace(ILLEGAL_XML, '').replace(/[&<>"']/g, (c) => XML_ENTITY[c] ?? c);
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** `2026-11-26T17:00:00`: the form the Ant JUnit schema's timestamp takes (UTC, no zone, whole seconds). */
function timestamp(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 19);
}

function counts(c: StatusCounts, tests: number, ms: number): Record<string, string | number> {
  return { tests, failures: c.failed, errors: c.errors, skipped: c.skipped + c.waived, time: seconds(ms) };
}

function property(name: string, value: string | number): string {
  return `<property${attrs({ name, value })}/>`;
}

function outcome(r: AuditResult): string {
  const body = r.checks.map(checkText).filter((l) => l !== undefined);
  const w = r.waiver;
  if (w?.expired === true)
    body.push(`waiver EXPIRED${w.expires === undefined ? '' : ` on ${w.expires}`}: ${w.justification}`);
  const text = escapeXml(body.join('\n'));
  const message = r.message !== '' ? r.message : (body[0] ?? r.title);
  if (isWaived(r) && w !== undefined) {
    const who = [
      w.approver === undefined ? '' : `by ${w.approver}`,
      w.expires === undefined ? '' : `until ${w.expires}`,
    ]
      .filter((s) => s !== '')
      .join(', ');
    return `<skipped${attrs({ message: `waived: ${w.justification}${who === '' ? '' : ` (${who})`}` })}/>`;
  }
  switch (r.status) {
    case 'passed':
      return '';
    case 'skipped':
      return `<skipped${attrs({ message })}/>`;
    case 'failed':
      return `<failure${attrs({ message, type: r.severity })}>${text}</failure>`;
    case 'error':
      return `<error${attrs({ message, type: 'error' })}>${text}</error>`;
  }
}

/**
 * The report as JUnit XML. Bulwark observes a host in one probe, so a control has no time of its own: each testcase
 * gets an equal share of its host's time, so that suite times add up to the host's.
 */
export function toJunit(report: AuditReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = countStatuses(report.results);
  out.push(
    `<testsuites${attrs({ name: 'bulwark audit', ...counts(all, report.results.length, report.durationMs), timestamp: timestamp(report.startedAt) })}>`,
  );
  let id = 0;
  for (const group of groupByHost(report)) {
    const share = group.results.length === 0 ? 0 : (group.host?.durationMs ?? 0) / group.results.length;
    for (const [source, results] of groupBySource(report, group.results)) {
      const suite = {
        name: `${group.name}/${source}`,
        ...counts(countStatuses(results), results.length, share * results.length),
        timestamp: timestamp(report.startedAt),
        hostname: group.name,
        id: id++,
        package: source,
      };
      out.push(`  <testsuite${attrs(suite)}>`);
      out.push('    <properties>');
      out.push(`      ${property('host', group.name)}`);
      if (group.host !== undefined) {
        out.push(`      ${property('target', group.host.target)}`);
        out.push(`      ${property('roundTrips', group.host.roundTrips)}`);
        if (group.host.error !== undefined)
          out.push(`      ${property('hostError', `${group.host.error.code}: ${group.host.error.message}`)}`);
      }
      out.push(`      ${property('source', source)}`);
      out.push('    </properties>');
      for (const r of results) {
        out.push(`    <testcase${attrs({ name: r.address, classname: source, time: seconds(share) })}>`);
        out.push('      <properties>');
        out.push(`        ${property('title', r.title)}`);
        out.push(`        ${property('bucket', r.bucket)}`);
        out.push(`        ${property('impact', r.impact)}`);
        out.push(`        ${property('severity', r.severity)}`);
        if (r.waiver !== undefined)
          out.push(`        ${property('waiver', r.waiver.expired ? 'expired' : 'active')}`);
        out.push('      </properties>');
        const o = outcome(r);
        if (o !== '') out.push(`      ${o}`);
        out.push('    </testcase>');
      }
      out.push('  </testsuite>');
    }
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
