/**
 * Vulnerability findings as audit results in the `patch` bucket, so every audit reporter (cli, json, junit,
 * sarif, html) and exit code applies to `bulwark vulns` unchanged. Pure functions.
 *
 * Impact follows Debian's urgency, the highest among a source package's issues: high 0.8 (severity high),
 * medium 0.6, not yet assigned 0.5 (medium: most current issues carry no rating), low 0.3, end-of-life 0.3,
 * unimportant 0.1. A pending security-suite update that no feed explains counts as not yet assigned.
 * This module imports no audit or engine code at run time: the securityUpdates resource uses the scanner, and the
 * resource registry must load without a cycle. Reports are built with `buildAuditReport` (src/audit/run.ts).
 */
import type { AuditResult, Severity } from '../audit/types.js';
import type { Finding } from './scan.js';
import type { Urgency } from './types.js';

/** Impact (0..1) by urgency; see the file header. */
export const URGENCY_IMPACT: Readonly<Record<Urgency, number>> = {
  high: 0.8,
  medium: 0.6,
  'not yet assigned': 0.5,
  low: 0.3,
  'end-of-life': 0.3,
  unimportant: 0.1,
};

/** The severity of an impact, with the thresholds of `severityOf` in src/audit/compile.ts. */
function severityOf(impact: number): Severity {
  if (impact <= 0) return 'none';
  if (impact < 0.4) return 'low';
  if (impact < 0.7) return 'medium';
  if (impact < 0.9) return 'high';
  return 'critical';
}

/** How many ids a one-line message names before it says "+N more". */
const IDS_IN_MESSAGE = 5;

/** The address of a finding: `vuln[SOURCE]`. */
export function findingAddress(source: string): string {
  return `vuln[${source}]`;
}

function idList(ids: readonly string[]): string {
  if (ids.length <= IDS_IN_MESSAGE) return ids.join(', ');
  return `${ids.slice(0, IDS_IN_MESSAGE).join(', ')} (+${ids.length - IDS_IN_MESSAGE} more)`;
}

const FIX_TEXT: Readonly<Record<Finding['fix'], string>> = {
  available: 'fix available from the configured sources',
  'not in configured sources':
    'fix not in configured sources (is the security suite configured and updated?)',
  none: 'no fixed version yet',
  'not checked': 'availability of the fix not checked',
};

const STATUS_TEXT: Readonly<Record<Finding['status'], string>> = {
  fixable: 'fixed in',
  'no-fix-yet': 'affected, no fix yet',
  postponed: 'affected, no security update planned',
  unknown: 'possibly affected (not yet determined)',
  'security-update': 'security update',
};

/** The one-line message of a finding: installed vs fixed version, ids, fix availability. */
export function findingMessage(f: Finding): string {
  const bins = f.binaries.map((b) => b.name).join(', ');
  const target =
    f.status === 'fixable' || f.status === 'security-update'
      ? `${STATUS_TEXT[f.status]} ${f.fixedVersion ?? '?'}`
      : STATUS_TEXT[f.status];
  const ids = f.ids.length > 0 ? ` (${idList(f.ids)})` : '';
  return `${f.source} ${f.installedVersion} installed (${bins}), ${target}${ids}; ${FIX_TEXT[f.fix]}`;
}

/** The audit result of one finding. */
export function findingResult(f: Finding, host: string): AuditResult {
  const impact = URGENCY_IMPACT[f.urgency];
  const title =
    f.status === 'security-update'
      ? `${f.source} has a pending security update`
      : `${f.source} has ${f.ids.length} known ${f.ids.length === 1 ? 'vulnerability' : 'vulnerabilities'}`;
  const expected =
    f.fixedVersion === undefined ? 'a version without known vulnerabilities' : `>= ${f.fixedVersion}`;
  return {
    address: findingAddress(f.source),
    host,
    status: 'failed',
    bucket: 'patch',
    impact,
    severity: severityOf(impact),
    title,
    message: findingMessage(f),
    checks: [
      {
        status: 'failed',
        description: `${f.source} source version`,
        expected,
        actual: f.installedVersion,
      },
    ],
    source: f.origins.join('+'),
    tags: {
      cve: f.ids,
      urgency: f.urgency,
      fix: f.fix,
      status: f.status,
      installed: f.installedVersion,
      ...(f.fixedVersion === undefined ? {} : { fixed: f.fixedVersion }),
      binaries: f.binaries.map((b) => `${b.name}:${b.arch}`),
      ...(f.idOrigins === undefined || Object.keys(f.idOrigins).length === 0
        ? {}
        : { 'cve-origins': f.ids.map((id) => `${id}=${(f.idOrigins?.[id] ?? []).join('+')}`) }),
      ...(f.changelog === undefined ? {} : { changelog: `${f.changelog.binary} ${f.changelog.version}` }),
    },
    refs: [
      {
        url: `https://security-tracker.debian.org/tracker/source-package/${f.source}`,
        title: 'Debian tracker',
      },
    ],
  };
}
