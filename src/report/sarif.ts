/**
 * The audit report as SARIF 2.1.0, for code-scanning dashboards. Each distinct control or resource address is a
 * rule; only failed and errored outcomes are results. A control that could not be evaluated is reported as a
 * failure (fail closed): an audit cannot vouch for what it did not see. Waived failures stay in the log as
 * suppressed results, so the accepted risk remains visible.
 */
import { crypto } from '../builtins.js';
import type { AuditReport, AuditResult, Severity } from '../audit/types.js';
import { isWaived } from './audit-json.js';
import { checkText, httpUrl } from './common.js';

/** Options of the SARIF reporter. */
export interface SarifOptions {
  /** Bulwark's version, recorded as the tool driver's version. */
  readonly toolVersion: string;
}

/** The name of the fingerprint that identifies one control on one host across runs. */
export const FINGERPRINT = 'bulwarkResult/v1';

type Level = 'none' | 'note' | 'warning' | 'error';

const LEVEL: Record<Severity, Level> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  none: 'note',
};

/** A SARIF log: only the parts Bulwark writes, loosely typed below the run. */
export interface SarifLog {
  readonly $schema: string;
  readonly version: '2.1.0';
  readonly runs: readonly [SarifRun];
}

/** The one run of a Bulwark SARIF log. */
export interface SarifRun {
  readonly tool: { readonly driver: SarifDriver };
  readonly invocations: readonly Record<string, unknown>[];
  readonly results: readonly SarifResult[];
  readonly properties: Record<string, unknown>;
}

/** The tool driver: Bulwark, with one rule per control or resource address. */
export interface SarifDriver {
  readonly name: 'bulwark';
  readonly version: string;
  readonly rules: readonly Record<string, unknown>[];
}

/** One failed or errored control on one host. */
export interface SarifResult {
  readonly ruleId: string;
  readonly ruleIndex: number;
  readonly kind: 'fail';
  readonly level: Level;
  readonly message: { readonly text: string };
  readonly locations: readonly Record<string, unknown>[];
  readonly partialFingerprints: Readonly<Record<string, string>>;
  readonly suppressions?: readonly Record<string, unknown>[];
  readonly properties: Record<string, unknown>;
}

/** A stable identity for a control on a host: the same in every run, different on every other host. */
export function fingerprint(host: string, address: string): string {
  return crypto().createHash('sha256').update(`${host}\n${address}`).digest('hex');
}

/**
 * The absolute file an address is about, e.g. `/etc/shadow` for `file[/etc/shadow]` and
 * `/etc/ssh/sshd_config` for `keyValue[/etc/ssh/sshd_config:PermitRootLogin]`; undefined for controls and
 * resources that are not files (`service[ssh]`). The path ends at the first `:`, which separates a key.
 */
export function addressPath(address: string): string | undefined {
  const m = /^[A-Za-z][\w-]*\[(\/[^\]:\n]*)/.exec(address);
  const path = m?.[1];
  if (path === undefined || path === '/' || path.includes('\u0000')) return undefined;
  return path;
}

/** `file:///etc/shadow`, with each path segment percent-encoded. */
export function fileUri(path: string): string {
  return `file://${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** SARIF tags must be strings: `nist:AC-6`, one per value, plus the bucket. */
function flatTags(r: AuditResult): string[] {
  const tags = new Set<string>([r.bucket]);
  for (const [k, v] of Object.entries(r.tags)) {
    for (const value of typeof v === 'string' ? [v] : v) tags.add(value === '' ? k : `${k}:${value}`);
  }
  return [...tags];
}

/** The impact as a CVSS-like score `0.0`..`10.0`, as code-scanning dashboards expect it. */
export function securitySeverity(impact: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(impact) ? impact : 0));
  return (clamped * 10).toFixed(1);
}

function rule(r: AuditResult): Record<string, unknown> {
  const helpUri = r.refs.map((ref) => httpUrl(ref.url)).find((u) => u !== undefined);
  const refs = r.refs
    .map((ref) => [ref.title, ref.url].filter((s) => s !== undefined).join(' '))
    .filter((s) => s !== '');
  return {
    id: r.address,
    name: r.address,
    shortDescription: { text: r.title === '' ? r.address : r.title },
    fullDescription: { text: r.description ?? (r.title === '' ? r.address : r.title) },
    ...(helpUri === undefined ? {} : { helpUri }),
    ...(refs.length === 0 ? {} : { help: { text: refs.join('\n') } }),
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: {
      tags: flatTags(r),
      bucket: r.bucket,
      source: r.source,
      impact: r.impact,
      severity: r.severity,
      'security-severity': securitySeverity(r.impact),
    },
  };
}

function result(r: AuditResult, ruleIndex: number): SarifResult {
  const what =
    r.status === 'error' ? `${r.title}: could not be checked on ${r.host}` : `${r.title} on ${r.host}`;
  const lines = [r.message === '' ? what : `${what}: ${r.message}`];
  for (const c of r.checks) {
    const text = checkText(c);
    if (text !== undefined) lines.push(text);
  }
  const path = addressPath(r.address);
  const location = {
    ...(path === undefined ? {} : { physicalLocation: { artifactLocation: { uri: fileUri(path) } } }),
    logicalLocations: [{ name: r.address, fullyQualifiedName: `${r.host}/${r.address}`, kind: 'resource' }],
  };
  const w = r.waiver;
  return {
    ruleId: r.address,
    ruleIndex,
    kind: 'fail',
    level: r.status === 'error' ? 'error' : LEVEL[r.severity],
    message: { text: lines.join('\n') },
    locations: [location],
    partialFingerprints: { [FINGERPRINT]: fingerprint(r.host, r.address) },
    ...(isWaived(r) && w !== undefined
      ? { suppressions: [{ kind: 'external', status: 'accepted', justification: w.justification }] }
      : {}),
    properties: {
      host: r.host,
      status: r.status,
      bucket: r.bucket,
      severity: r.severity,
      ...(w === undefined ? {} : { waiver: w }),
    },
  };
}

/** The report as a SARIF 2.1.0 log with one run. */
export function toSarif(report: AuditReport, options: SarifOptions): SarifLog {
  const rules: Record<string, unknown>[] = [];
  const ruleIndex = new Map<string, number>();
  for (const r of report.results) {
    if (ruleIndex.has(r.address)) continue;
    ruleIndex.set(r.address, rules.length);
    rules.push(rule(r));
  }
  const results = report.results
    .filter((r) => r.status === 'failed' || r.status === 'error')
    .map((r) => result(r, ruleIndex.get(r.address) ?? 0));

  const notifications = [
    ...report.hosts.flatMap((h) =>
      h.error === undefined
        ? []
        : [{ level: 'error', message: { text: `${h.name}: ${h.error.code}: ${h.error.message}` } }],
    ),
    ...report.warnings.map((w) => ({ level: 'warning', message: { text: w } })),
    ...report.unusedWaivers.map((w) => ({
      level: 'warning',
      message: { text: `waiver matched no control: ${w}` },
    })),
  ];
  const started = new Date(report.startedAt);
  const times = Number.isNaN(started.getTime())
    ? {}
    : {
        startTimeUtc: started.toISOString(),
        endTimeUtc: new Date(started.getTime() + report.durationMs).toISOString(),
      };
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'bulwark',
            version: options.toolVersion,
            rules,
          },
        },
        invocations: [
          {
            executionSuccessful: report.hosts.every((h) => h.error === undefined),
            ...times,
            ...(notifications.length === 0 ? {} : { toolExecutionNotifications: notifications }),
          },
        ],
        results,
        properties: { summary: report.summary, hosts: report.hosts.map((h) => h.name) },
      },
    ],
  };
}
