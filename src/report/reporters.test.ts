import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AuditReport, AuditResult } from '../audit/types.js';
import { isBulwarkError } from '../errors.js';
import { summarize } from './audit-json.js';
import { makeStyle } from './style.js';
import { parseReporterSpecs, writeReports } from './reporters.js';

const HOSTILE = `<script>alert(1)</script> "quoted" & 'single' ]]> \u0001 🔒`;

function result(r: Partial<AuditResult> & Pick<AuditResult, 'address' | 'host' | 'status'>): AuditResult {
  return {
    bucket: 'configuration',
    impact: 0.5,
    severity: 'medium',
    title: r.address,
    message: '',
    checks: [],
    source: 'cis-debian',
    tags: {},
    refs: [],
    ...r,
  };
}

/** A realistic audit of two hosts: every status, every bucket, waivers active and expired, hostile text. */
function fixture(): AuditReport {
  const results: AuditResult[] = [
    result({
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
    result({
      address: 'control[ssh-01]',
      host: 'web1',
      status: 'passed',
      title: 'sshd config is root-owned',
    }),
    result({
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
    result({
      address: 'control[pkg-openssl]',
      host: 'web1',
      status: 'failed',
      bucket: 'patch',
      impact: 1,
      severity: 'critical',
      title: 'OpenSSL is patched',
      message: 'openssl 3.0.11-1 is vulnerable',
      checks: [
        {
          status: 'failed',
          description: 'package openssl version',
          expected: '>= 3.0.13-1',
          actual: '3.0.11-1',
        },
      ],
      waiver: { justification: 'Waiting for the vendor', expires: '2020-01-01', expired: true },
    }),
    result({
      address: 'control[<script>alert(1)</script>]',
      host: 'web1',
      status: 'failed',
      bucket: 'code',
      impact: 0.6,
      title: HOSTILE,
      message: HOSTILE,
      checks: [
        { status: 'failed', description: HOSTILE, expected: '<b>"x"</b>', actual: "'); DROP TABLE--" },
      ],
      tags: { '<img src=x onerror=alert(1)>': 'x"y' },
      refs: [{ title: 'evil', url: 'javascript:alert(1)' }],
    }),
    result({
      address: 'file[/etc/shadow]',
      host: 'web1',
      status: 'failed',
      source: 'hardening',
      title: 'file /etc/shadow',
      message: 'mode differs',
      checks: [{ status: 'failed', description: 'file /etc/shadow mode', expected: '0640', actual: '0644' }],
    }),
    result({
      address: 'keyValue[/etc/ssh/sshd_config:PermitRootLogin]',
      host: 'web1',
      status: 'passed',
      source: 'hardening',
      title: 'keyValue /etc/ssh/sshd_config PermitRootLogin',
    }),
    result({
      address: 'control[kernel-01]',
      host: 'web1',
      status: 'skipped',
      bucket: 'patch',
      title: 'Kernel live patching',
      message: 'only on systemd hosts',
    }),
    result({
      address: 'control[ssh-07]',
      host: 'db-2',
      status: 'passed',
      impact: 0.8,
      severity: 'high',
      title: 'Disable root login over SSH',
    }),
    result({
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
    result({
      address: 'control[pkg-openssl]',
      host: 'db-2',
      status: 'failed',
      bucket: 'patch',
      impact: 1,
      severity: 'critical',
      title: 'OpenSSL is patched',
      message: 'openssl 3.0.11-1 is vulnerable',
      checks: [
        {
          status: 'failed',
          description: 'package openssl version',
          expected: '>= 3.0.13-1',
          actual: '3.0.11-1',
        },
      ],
    }),
    result({
      address: 'control[code-01]',
      host: 'db-2',
      status: 'passed',
      bucket: 'code',
      impact: 0,
      severity: 'none',
      title: 'No world-writable scripts',
    }),
    result({
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
  return {
    schemaVersion: 1,
    kind: 'bulwark.audit',
    startedAt: '2026-11-26T17:00:00.000Z',
    durationMs: 1540.5,
    sources: [
      { name: 'cis-debian', kind: 'profile', title: 'CIS Debian 12 Benchmark', version: '1.2.0' },
      { name: 'hardening', kind: 'cookbook', title: 'Site hardening' },
    ],
    hosts: [
      { name: 'web1', target: 'ssh:root@web1', roundTrips: 1, durationMs: 812, facts },
      { name: 'db-2', target: 'ssh:root@db-2', roundTrips: 2, durationMs: 700 },
    ],
    summary: summarize(results),
    results,
    unusedWaivers: ['control[old-01]'],
    warnings: ['profile cis-debian: control[x] has no impact'],
  };
}

const require = createRequire(import.meta.url);

function sarifValidator(): ReturnType<Ajv['compile']> {
  const path = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  // The official schema is draft-04, which ajv 8 reads once its `$schema`/`id` are given ajv's spelling.
  const { id, ...schema } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete schema['$schema'];
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addFormat('uri-reference', (s: string) => !/\s/.test(s));
  ajv.addFormat('date-time', (s: string) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s),
  );
  return ajv.compile({ ...schema, $id: String(id) });
}

test('no reporter specs means the text report on standard output', () => {
  assert.deepEqual(parseReporterSpecs([]), [{ kind: 'cli' }]);
});

test('reporter specs take an optional path after the first colon', () => {
  assert.deepEqual(
    parseReporterSpecs(['cli', 'json:out/a.json', 'junit:r.xml', 'sarif:a:b.sarif', 'html:r.html']),
    [
      { kind: 'cli' },
      { kind: 'json', path: 'out/a.json' },
      { kind: 'junit', path: 'r.xml' },
      { kind: 'sarif', path: 'a:b.sarif' },
      { kind: 'html', path: 'r.html' },
    ],
  );
  assert.deepEqual(parseReporterSpecs(['json']), [{ kind: 'json' }]);
});

test('bad reporter specs are refused with a usage error that says what to write', () => {
  const cases: [string[], RegExp][] = [
    [['xml:a'], /Unknown reporter 'xml:a'/],
    [['cli', 'json'], /Only one reporter can write to standard output/],
    [['sarif'], /needs a file: write sarif:PATH/],
    [['junit'], /junit:audit\.xml/],
    [['json:'], /empty or unusable path/],
    [['json:a\nb'], /empty or unusable path/],
    [['json:x.json', 'html:./x.json'], /Two reporters write to \.\/x\.json/],
  ];
  for (const [specs, message] of cases) {
    assert.throws(
      () => parseReporterSpecs(specs),
      (e: unknown) => isBulwarkError(e, 'BULWARK_USAGE') && message.test(e.message),
      specs.join(' '),
    );
  }
});

test('writeReports writes every format, each parsing back to the same audit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const report = fixture();
  let stdout = '';
  const specs = parseReporterSpecs([
    'cli',
    `json:${join(dir, 'audit.json')}`,
    `junit:${join(dir, 'junit', 'audit.xml')}`,
    `sarif:${join(dir, 'audit.sarif')}`,
    `html:${join(dir, 'audit.html')}`,
  ]);
  const written = await writeReports(report, specs, {
    stdout: { write: (s: string) => (stdout += s) },
    style: makeStyle(false),
    toolVersion: '0.1.0',
  });
  assert.equal(written.length, 4);
  assert.deepEqual((await readdir(dir)).sort(), ['audit.html', 'audit.json', 'audit.sarif', 'junit']);
  assert.deepEqual(await readdir(join(dir, 'junit')), ['audit.xml'], 'no temporary file is left behind');

  assert.match(stdout, /^Audit of 2 hosts against cis-debian, hardening\n/);
  assert.match(stdout, /13 results: 4 passed, 5 failed, 2 skipped, 1 error, 1 waived/);

  assert.deepEqual(JSON.parse(await readFile(join(dir, 'audit.json'), 'utf8')), report);

  const xml = await readFile(join(dir, 'junit', 'audit.xml'), 'utf8');
  assert.equal(XMLValidator.validate(xml), true);
  const junit = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (n) => n === 'testsuite' || n === 'testcase',
  }).parse(xml) as {
    testsuites: Record<string, string> & {
      testsuite: (Record<string, string> & { testcase: { name: string }[] })[];
    };
  };
  assert.deepEqual(
    [
      junit.testsuites['tests'],
      junit.testsuites['failures'],
      junit.testsuites['errors'],
      junit.testsuites['skipped'],
    ],
    ['13', '5', '1', '3'],
  );
  assert.deepEqual(
    junit.testsuites.testsuite.map((s) => s['name']),
    ['web1/cis-debian', 'web1/hardening', 'db-2/cis-debian', 'db-2/hardening'],
  );
  assert.ok(
    junit.testsuites.testsuite[0]?.testcase.some((c) => c.name === 'control[<script>alert(1)</script>]'),
  );

  const sarif = JSON.parse(await readFile(join(dir, 'audit.sarif'), 'utf8')) as {
    runs: { results: unknown[]; tool: { driver: { rules: unknown[] } } }[];
  };
  const validate = sarifValidator();
  assert.ok(validate(sarif), JSON.stringify(validate.errors, null, 2));
  assert.equal(sarif.runs[0]?.results.length, 7, '6 failures (one waived) and 1 error');
  assert.equal(sarif.runs[0]?.tool.driver.rules.length, 9, 'one rule per distinct address');

  const html = await readFile(join(dir, 'audit.html'), 'utf8');
  assert.doesNotMatch(html, /<script>alert/);
  assert.doesNotMatch(html, /javascript:/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &quot;quoted&quot; &amp; &#39;single&#39;/);
});

test('a cli report written to a file is never coloured, whatever the terminal style', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeReports(fixture(), [{ kind: 'cli', path: join(dir, 'audit.txt') }], {
    stdout: { write: () => assert.fail('nothing goes to standard output') },
    style: makeStyle(true),
    verbose: true,
    toolVersion: '0.1.0',
  });
  const text = await readFile(join(dir, 'audit.txt'), 'utf8');
  assert.ok(!text.includes('\u001b['));
  assert.match(text, /ok sshd Protocol is 2/, 'verbose shows passed checks');
});

test('a report that cannot be written fails with a usage error naming the file and leaves nothing behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'not-a-dir'), 'x');
  await assert.rejects(
    writeReports(fixture(), [{ kind: 'json', path: join(dir, 'not-a-dir', 'audit.json') }], {
      stdout: { write: () => true },
      style: makeStyle(false),
      toolVersion: '0.1.0',
    }),
    (e: unknown) =>
      isBulwarkError(e, 'BULWARK_USAGE') && /Could not write the json report to .*not-a-dir/.test(e.message),
  );
  assert.deepEqual(await readdir(dir), ['not-a-dir']);
});

test('writing a report over an existing file replaces it whole', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.json');
  await writeFile(path, 'old contents that are longer than nothing');
  await writeReports(fixture(), [{ kind: 'json', path }], {
    stdout: { write: () => true },
    style: makeStyle(false),
    toolVersion: '0.1.0',
  });
  assert.equal((JSON.parse(await readFile(path, 'utf8')) as AuditReport).kind, 'bulwark.audit');
  assert.deepEqual(await readdir(dir), ['audit.json']);
});
