import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, auditResult, junitCounts, parseJunit, type XmlNode } from '../testing/audit-fixture.js';
import { escapeXml, toJunit } from './junit.js';

const HOSTILE = `<script>alert(1)</script> "q" & 'a' ]]> \u0000\u0001\u0008\u000b end`;
/** HOSTILE without the characters XML 1.0 cannot hold. */
const CLEAN = `<script>alert(1)</script> "q" & 'a' ]]>  end`;

const results = [
  auditResult({ address: 'control[pass]', status: 'passed' }),
  auditResult({
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
  auditResult({ address: 'control[err]', status: 'error', message: 'sshd -T exited 255' }),
  auditResult({ address: 'control[skip]', status: 'skipped', message: 'not systemd' }),
  auditResult({
    address: 'control[waived]',
    status: 'failed',
    waiver: { justification: 'Legacy upload', approver: 'alice', expires: '2099-01-01', expired: false },
  }),
  auditResult({
    address: 'control[expired]',
    status: 'failed',
    message: 'still vulnerable',
    waiver: { justification: 'Vendor fix', expires: '2020-01-01', expired: true },
  }),
  auditResult({ address: 'file[/etc/shadow]', status: 'passed', source: 'hardening' }),
  auditResult({
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
  const { suites, suite } = parseJunit(toJunit(auditReport(results, { hosts })));
  assert.deepEqual([...junitCounts(suites), suites['time']], ['8', '3', '1', '2', '0.120']);
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
  const { cases } = parseJunit(toJunit(auditReport(results, { hosts })));
  const byName = new Map(cases.map((c) => [c['name'], c]));
  assert.equal(byName.get('control[pass]')?.['classname'], 'cis');
  assert.equal(byName.get('file[/etc/shadow]')?.['classname'], 'hardening');
  assert.equal(byName.get('control[pass]')?.['failure'], undefined);

  const failure = byName.get('control[fail]')?.['failure'] as XmlNode;
  assert.equal(failure['message'], 'PermitRootLogin is yes');
  assert.equal(failure['type'], 'high');
  assert.equal(failure['#text'], 'sshd PermitRootLogin: expected no / got yes');

  const error = byName.get('control[err]')?.['error'] as XmlNode;
  assert.equal(error['message'], 'sshd -T exited 255');
  assert.equal((byName.get('control[skip]')?.['skipped'] as XmlNode)['message'], 'not systemd');
});

test('a waived failure is skipped with its justification, and an expired waiver is a failure that says so', () => {
  const { cases } = parseJunit(toJunit(auditReport(results, { hosts })));
  const waived = cases.find((c) => c['name'] === 'control[waived]');
  assert.equal(waived?.['failure'], undefined);
  assert.equal(
    (waived?.['skipped'] as XmlNode)['message'],
    'waived: Legacy upload (by alice, until 2099-01-01)',
  );
  const expired = cases.find((c) => c['name'] === 'control[expired]')?.['failure'] as XmlNode;
  assert.equal(expired['#text'], 'waiver EXPIRED on 2020-01-01: Vendor fix');
});

test('each testcase carries bucket, impact and severity as properties', () => {
  const { cases } = parseJunit(toJunit(auditReport(results, { hosts })));
  const fail = cases.find((c) => c['name'] === 'control[fail]') as XmlNode & {
    properties: { property: XmlNode[] };
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
  const xml = toJunit(auditReport(results, { hosts }));
  assert.doesNotMatch(xml, /<script>/);
  assert.ok(!['\u0000', '\u0001', '\u0008', '\u000b'].some((c) => xml.includes(c)));
  const { cases } = parseJunit(xml);
  const hostile = cases.find((c) => c['classname'] !== 'cis' && c['classname'] !== 'hardening');
  assert.equal(hostile?.['name'], `control[${CLEAN}]`);
  assert.equal((hostile?.['failure'] as XmlNode)['message'], CLEAN);
});

test('an empty audit is still a well-formed JUnit document with zero counts', () => {
  const { suites, suite } = parseJunit(toJunit(auditReport([], { hosts: [] })));
  assert.deepEqual(junitCounts(suites), ['0', '0', '0', '0']);
  assert.deepEqual(suite, []);
});
