/**
 * Audit results and reports for reporter tests: one builder each with plain defaults (host `web1`, profile `cis`,
 * a medium configuration control), a realistic audit of two hosts, and a parser for the JUnit XML the reporters
 * write. Test-only; imports the audit types, the shared counting rules and fast-xml-parser.
 */
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AuditHost, AuditReport, AuditResult } from '../audit/types.js';
import { summarize } from '../report/audit-json.js';

/** What a test gives for one result: the address and status, and any field that should differ from the default. */
export type AuditResultInit = Partial<AuditResult> & Pick<AuditResult, 'address' | 'status'>;

/** What a test may set on a report besides its results; the summary is always computed from the results. */
export type AuditReportInit = Partial<Omit<AuditReport, 'schemaVersion' | 'kind' | 'results' | 'summary'>>;

/** The one host a report built by `auditReport` has unless told otherwise. */
export const DEFAULT_HOST: AuditHost = { name: 'web1', target: 'local', roundTrips: 1, durationMs: 100 };

/**
 * A result of a medium configuration control from the `cis` profile on `web1`, passing no checks, titled by its
 * address; every field given in `init` replaces the default.
 */
export function auditResult(init: AuditResultInit): AuditResult {
  return {
    host: 'web1',
    bucket: 'configuration',
    impact: 0.5,
    severity: 'medium',
    title: init.address,
    message: '',
    checks: [],
    source: 'cis',
    tags: {},
    refs: [],
    ...init,
  };
}

/**
 * A report of `results` started 2026-11-26T17:00:00Z and lasting 120 ms, against the `cis` profile, of the one
 * host `DEFAULT_HOST`, without warnings or unused waivers; every field given in `init` replaces the default.
 */
export function auditReport(results: readonly AuditResult[], init: AuditReportInit = {}): AuditReport {
  return {
    schemaVersion: 1,
    kind: 'bulwark.audit',
    startedAt: init.startedAt ?? '2026-11-26T17:00:00.000Z',
    durationMs: init.durationMs ?? 120,
    sources: init.sources ?? [{ name: 'cis', kind: 'profile', title: 'CIS' }],
    hosts: init.hosts ?? [DEFAULT_HOST],
    summary: summarize(results),
    results,
    unusedWaivers: init.unusedWaivers ?? [],
    warnings: init.warnings ?? [],
  };
}

/** Text that is markup, quotes, an XML-illegal control character and an emoji all at once. */
export const TWO_HOST_HOSTILE = `<script>alert(1)</script> "quoted" & 'single' ]]> \u0001 🔒`;

/** A result of the two-host audit: from the `cis-debian` profile unless `init` names another source. */
function cisDebian(init: AuditResultInit & Pick<AuditResult, 'host'>): AuditResult {
  return auditResult({ source: 'cis-debian', ...init });
}

/** The vulnerable-OpenSSL control, failed alike on both hosts. */
const OPENSSL: Omit<AuditResultInit, 'host'> = {
  address: 'control[pkg-openssl]',
  status: 'failed',
  bucket: 'patch',
  impact: 1,
  severity: 'critical',
  title: 'OpenSSL is patched',
  message: 'openssl 3.0.11-1 is vulnerable',
  checks: [
    { status: 'failed', description: 'package openssl version', expected: '>= 3.0.13-1', actual: '3.0.11-1' },
  ],
};

/**
 * A realistic audit of two hosts (`web1` with facts, `db-2`) against a profile and a cookbook: 13 results of every
 * status and bucket, an active and an expired waiver, an unused waiver, a warning and hostile text
 * (`TWO_HOST_HOSTILE`) in a title, message, check, tag and link.
 */
export function twoHostAudit(): AuditReport {
  const results: AuditResult[] = [
    cisDebian({
      address: 'control[ssh-07]',
      host: 'web1',
      status: 'failed',
      impact: 0.8,
      severity: 'high',
      title: 'Disable root login over SSH',
      message: '1 of 2 checks failed',
      description: 'Logging in as root directly hides who did what.',
      checks: [
        { status: 'passed', description: 'sshd Protocol is 2' },
        { status: 'failed', description: 'sshd PermitRootLogin', expected: 'no', actual: 'yes' },
      ],
      tags: { nist: ['AC-6', 'IA-2'], cis: '5.2.10' },
      refs: [{ title: 'CIS Debian 12 5.2.10', url: 'https://www.cisecurity.org/benchmark/debian_linux' }],
    }),
    cisDebian({
      address: 'control[ssh-01]',
      host: 'web1',
      status: 'passed',
      title: 'sshd config is root-owned',
    }),
    cisDebian({
      address: 'control[ftp-01]',
      host: 'web1',
      status: 'failed',
      impact: 0.3,
      severity: 'low',
      title: 'No FTP server',
      message: 'vsftpd is installed',
      checks: [
        { status: 'failed', description: 'package vsftpd installed', expected: 'false', actual: 'true' },
      ],
      waiver: {
        justification: 'Legacy partner upload, removal in Q3',
        approver: 'alice',
        expires: '2099-01-01',
        expired: false,
      },
    }),
    cisDebian({
      ...OPENSSL,
      host: 'web1',
      waiver: { justification: 'Waiting for the vendor', expires: '2020-01-01', expired: true },
    }),
    cisDebian({
      address: 'control[<script>alert(1)</script>]',
      host: 'web1',
      status: 'failed',
      bucket: 'code',
      impact: 0.6,
      title: TWO_HOST_HOSTILE,
      message: TWO_HOST_HOSTILE,
      checks: [
        {
          status: 'failed',
          description: TWO_HOST_HOSTILE,
          expected: '<b>"x"</b>',
          actual: "'); DROP TABLE--",
        },
      ],
      tags: { '<img src=x onerror=alert(1)>': 'x"y' },
      refs: [{ title: 'evil', url: 'javascript:alert(1)' }],
    }),
    cisDebian({
      address: 'file[/etc/shadow]',
      host: 'web1',
      status: 'failed',
      source: 'hardening',
      title: 'file /etc/shadow',
      message: 'mode differs',
      checks: [{ status: 'failed', description: 'file /etc/shadow mode', expected: '0640', actual: '0644' }],
    }),
    cisDebian({
      address: 'keyValue[/etc/ssh/sshd_config:PermitRootLogin]',
      host: 'web1',
      status: 'passed',
      source: 'hardening',
      title: 'keyValue /etc/ssh/sshd_config PermitRootLogin',
    }),
    cisDebian({
      address: 'control[kernel-01]',
      host: 'web1',
      status: 'skipped',
      bucket: 'patch',
      title: 'Kernel live patching',
      message: 'only on systemd hosts',
    }),
    cisDebian({
      address: 'control[ssh-07]',
      host: 'db-2',
      status: 'passed',
      impact: 0.8,
      severity: 'high',
      title: 'Disable root login over SSH',
    }),
    cisDebian({
      address: 'control[ssh-01]',
      host: 'db-2',
      status: 'error',
      title: 'sshd config is root-owned',
      message: 'sshd -T exited 255',
      checks: [
        {
          status: 'error',
          description: 'sshd effective config',
          message: 'sshd -T exited 255: missing host keys',
        },
      ],
    }),
    cisDebian({ ...OPENSSL, host: 'db-2' }),
    cisDebian({
      address: 'control[code-01]',
      host: 'db-2',
      status: 'passed',
      bucket: 'code',
      impact: 0,
      severity: 'none',
      title: 'No world-writable scripts',
    }),
    cisDebian({
      address: 'file[/etc/shadow]',
      host: 'db-2',
      status: 'skipped',
      source: 'hardening',
      title: 'file /etc/shadow',
      message: 'onlyIf is false',
    }),
  ];
  const facts = {
    hostname: 'web1',
    osId: 'debian',
    osVersion: '12',
    osCodename: 'bookworm',
    arch: 'x86_64',
    init: 'systemd' as const,
    liveKernel: true,
  };
  return auditReport(results, {
    durationMs: 1540.5,
    sources: [
      { name: 'cis-debian', kind: 'profile', title: 'CIS Debian 12 Benchmark', version: '1.2.0' },
      { name: 'hardening', kind: 'cookbook', title: 'Site hardening' },
    ],
    hosts: [
      { name: 'web1', target: 'ssh:root@web1', roundTrips: 1, durationMs: 812, facts },
      { name: 'db-2', target: 'ssh:root@db-2', roundTrips: 2, durationMs: 700 },
    ],
    unusedWaivers: ['control[old-01]'],
    warnings: ['profile cis-debian: control[x] has no impact'],
  });
}

/** An element of parsed JUnit XML: attributes by name (as text), child elements, and `#text`. */
export interface XmlNode {
  [key: string]: unknown;
}

/** A JUnit document, parsed: the `<testsuites>` root, its suites, and every testcase of every suite. */
export interface ParsedJunit {
  readonly suites: XmlNode;
  readonly suite: XmlNode[];
  readonly cases: XmlNode[];
}

/**
 * Parses JUnit XML after asserting it is well-formed. Attributes keep their names without prefix and stay text;
 * `testsuite`, `testcase` and `property` are always arrays (empty when the document has none).
 */
export function parseJunit(xml: string): ParsedJunit {
  assert.equal(XMLValidator.validate(xml), true, 'well-formed XML');
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  });
  const doc = parser.parse(xml) as {
    testsuites: XmlNode & { testsuite?: (XmlNode & { testcase?: XmlNode[] })[] };
  };
  const suite = doc.testsuites.testsuite ?? [];
  return { suites: doc.testsuites, suite, cases: suite.flatMap((s) => s.testcase ?? []) };
}

/** The `tests`, `failures`, `errors` and `skipped` attributes of a `<testsuites>` or `<testsuite>`, in that order. */
export function junitCounts(node: XmlNode): unknown[] {
  return [node['tests'], node['failures'], node['errors'], node['skipped']];
}
