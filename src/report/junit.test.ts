import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AuditReport, AuditResult } from '../audit/types.js';
import { summarize } from './audit-json.js';
import { escapeXml, toJunit } from './junit.js';

function result(r: Partial<AuditResult> & Pick<AuditResult, 'address' | 'status'>): AuditResult {
  return {
    host: 'web1',
    bucket: 'configuration',
    impact: 0.5,
    severity: 'medium',
    title: r.address,
    message: '',
    checks: [],
    source: 'cis',
    tags: {},
    refs: [],
    ...r,
  };
}

function report(
  results: AuditResult[],
  hosts: AuditReport['hosts'] = [{ name: 'web1', target: 'local', roundTrips: 1, durationMs: 100 }],
): AuditReport {
  return {
    schemaVersion: 1,
    kind: 'bulwark.audit',
    startedAt: '2026-11-26T17:00:00.000Z',
    durationMs: 120,
    sources: [{ name: 'cis', kind: 'profile', title: 'CIS' }],
    hosts,
    summary: summarize(results),
    results,
    unusedWaivers: [],
    warnings: [],
  };
}

interface Node {
  [key: string]: unknown;
}

function parse(xml: string): { suites: Node; suite: Node[]; cases: Node[] } {
  assert.equal(XMLValidator.validate(xml), true, 'well-formed XML');
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  });
  const doc = parser.parse(xml) as { testsuites: Node & { testsuite: (Node & { testcase: Node[] })[] } };
  return {
    suites: doc.testsuites,
    suite: doc.testsuites.testsuite,
    cases: doc.testsuites.testsuite.flatMap((s) => s.testcase),
  };
}

const HOSTILE = `<script>alert(1)</script> "q" & 'a' ]]> \u0000\u0001\u0008\u000b end`;
/** HOSTILE without the characters XML 1.0 cannot hold. */
const CLEAN = `<script>alert(1)</script> "q" & 'a' ]]>  end`;

const results = [
  result({ address: 'control[pass]', status: 'passed' }),
  result({
    address: 'control[fail]',
    status: 'failed',
    severity: 'high',
    impact: 0.8,
    message: 'PermitRootLogin is yes',
    checks: [
      { status: 'passed', description: 'ok check' },
      { status: 'failed', description: 'sshd PermitRootLogin', expected: 'no', actual: 'yes' },
    ],
  }),
  result({ address: 'control[err]', status: 'error', message: 'sshd -T exited 255' }),
  result({ address: 'control[skip]', status: 'skipped', message: 'not systemd' }),
  result({
    address: 'control[waived]',
    status: 'failed',
    waiver: { justification: 'Legacy upload', approver: 'alice', expires: '2099-01-01', expired: false },
  }),
  result({
    address: 'control[expired]',
    status: 'failed',
    message: 'still vulnerable',
    waiver: { justification: 'Vendor fix', expires: '2020-01-01', expired: true },
  }),
  result({ address: 'file[/etc/shadow]', status: 'passed', source: 'hardening' }),
  result({
    address: `control[${HOSTILE}]`,
    status: 'failed',
    host: 'db',
    title: HOSTILE,
    message: HOSTILE,
    source: HOSTILE,
  }),
];
const hosts = [
  { name: 'web1', target: 'local', roundTrips: 1, durationMs: 700 },
  { name: 'db', target: 'local', roundTrips: 1, durationMs: 50 },
];

test('escapeXml escapes the five markup characters and drops characters XML 1.0 forbids', () => {
  assert.equal(escapeXml(`a&b<c>d"e'f`), 'a&amp;b&lt;c&gt;d&quot;e&apos;f');
  assert.equal(escapeXml('x\u0000\u0001\u0008\u000b\u000c\u000e\u001f\ufffe\uffffy'), 'xy');
  assert.equal(escapeXml('tab\tnl\ncr\r'), 'tab\tnl\ncr\r', 'tab, newline and carriage return are legal');
  assert.equal(escapeXml('lone \ud800 surrogate, pair 🔒 kept'), 'lone  surrogate, pair 🔒 kept');
  assert.equal(escapeXml('&amp;'), '&amp;amp;', 'already-escaped text is escaped again, not trusted');
});

test('there is one testsuite per host and source, with counts and times that add up', () => {
  const { suites, suite } = parse(toJunit(report(results, hosts)));
  assert.deepEqual(
    [suites['tests'], suites['failures'], suites['errors'], suites['skipped'], suites['time']],
    ['8', '3', '1', '2', '0.120'],
  );
  assert.equal(suites['timestamp'], '2026-11-26T17:00:00');
  assert.deepEqual(
    suite.map((s) => [
      s['name'],
      s['hostname'],
      s['tests'],
      s['failures'],
      s['errors'],
      s['skipped'],
      s['time'],
    ]),
    [
      ['web1/cis', 'web1', '6', '2', '1', '2', '0.600'],
      ['web1/hardening', 'web1', '1', '0', '0', '0', '0.100'],
      [`db/${CLEAN}`, 'db', '1', '1', '0', '0', '0.050'],
    ],
  );
});

test('each result is a testcase named by address with the source as classname and its outcome element', () => {
  const { cases } = parse(toJunit(report(results, hosts)));
  const byName = new Map(cases.map((c) => [c['name'], c]));
  assert.equal(byName.get('control[pass]')?.['classname'], 'cis');
  assert.equal(byName.get('file[/etc/shadow]')?.['classname'], 'hardening');
  assert.equal(byName.get('control[pass]')?.['failure'], undefined);

  const failure = byName.get('control[fail]')?.['failure'] as Node;
  assert.equal(failure['message'], 'PermitRootLogin is yes');
  assert.equal(failure['type'], 'high');
  assert.equal(failure['#text'], 'sshd PermitRootLogin: expected no / got yes');

  const error = byName.get('control[err]')?.['error'] as Node;
  assert.equal(error['message'], 'sshd -T exited 255');
  assert.equal((byName.get('control[skip]')?.['skipped'] as Node)['message'], 'not systemd');
});

test('a waived failure is skipped with its justification, and an expired waiver is a failure that says so', () => {
  const { cases } = parse(toJunit(report(results, hosts)));
  const waived = cases.find((c) => c['name'] === 'control[waived]');
  assert.equal(waived?.['failure'], undefined);
  assert.equal(
    (waived?.['skipped'] as Node)['message'],
    'waived: Legacy upload (by alice, until 2099-01-01)',
  );
  const expired = cases.find((c) => c['name'] === 'control[expired]')?.['failure'] as Node;
  assert.equal(expired['#text'], 'waiver EXPIRED on 2020-01-01: Vendor fix');
});

test('each testcase carries bucket, impact and severity as properties', () => {
  const { cases } = parse(toJunit(report(results, hosts)));
  const fail = cases.find((c) => c['name'] === 'control[fail]') as Node & {
    properties: { property: Node[] };
  };
  const props = Object.fromEntries(fail.properties.property.map((p) => [p['name'], p['value']]));
  assert.deepEqual(props, {
    title: 'control[fail]',
    bucket: 'configuration',
    impact: '0.8',
    severity: 'high',
  });
});

test('hostile titles, messages and sources come back intact, minus characters XML cannot hold', () => {
  const xml = toJunit(report(results, hosts));
  assert.doesNotMatch(xml, /<script>/);
  assert.ok(!['\u0000', '\u0001', '\u0008', '\u000b'].some((c) => xml.includes(c)));
  const { cases } = parse(xml);
  const hostile = cases.find((c) => c['classname'] !== 'cis' && c['classname'] !== 'hardening');
  assert.equal(hostile?.['name'], `control[${CLEAN}]`);
  assert.equal((hostile?.['failure'] as Node)['message'], CLEAN);
});

test('an empty audit is still a well-formed JUnit document with zero counts', () => {
  const xml = toJunit(report([], []));
  assert.equal(XMLValidator.validate(xml), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
    testsuites: Node;
  };
  assert.deepEqual(
    [
      doc.testsuites['tests'],
      doc.testsuites['failures'],
      doc.testsuites['errors'],
      doc.testsuites['skipped'],
    ],
    ['0', '0', '0', '0'],
  );
});
