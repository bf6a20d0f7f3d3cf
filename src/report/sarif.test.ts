import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, auditResult } from '../testing/audit-fixture.js';
import { validateSarif } from '../testing/sarif-schema.js';
import {
  addressPath,
  fileUri,
  FINGERPRINT,
  fingerprint,
  securitySeverity,
  toSarif,
  type SarifResult,
} from './sarif.js';

const HOSTILE = `<script>alert(1)</script> "q" & 'a'`;

const results = [
  auditResult({ address: 'control[pass]', status: 'passed' }),
  auditResult({
    address: 'control[ssh-07]',
    status: 'failed',
    severity: 'high',
    impact: 0.8,
    title: 'Disable root login',
    description: 'Root logins hide who did what.',
    message: 'PermitRootLogin is yes',
    checks: [
      { status: 'passed', description: 'sshd Protocol' },
      { status: 'failed', description: 'sshd PermitRootLogin', expected: 'no', actual: 'yes' },
    ],
    tags: { nist: ['AC-6', 'IA-2'], cis: '5.2.10', ssh: '' },
    refs: [
      { title: 'bad', url: 'javascript:alert(1)' },
      { title: 'CIS', url: 'https://www.cisecurity.org/' },
    ],
  }),
  auditResult({ address: 'control[ssh-07]', status: 'passed', host: 'db', severity: 'high', impact: 0.8 }),
  auditResult({
    address: 'control[err]',
    status: 'error',
    severity: 'low',
    impact: 0.1,
    message: 'sshd -T exited 255',
  }),
  auditResult({ address: 'control[skip]', status: 'skipped' }),
  auditResult({
    address: 'file[/etc/shadow]',
    status: 'failed',
    severity: 'medium',
    checks: [{ status: 'failed', description: 'mode', expected: '0640', actual: '0644' }],
  }),
  auditResult({
    address: 'keyValue[/etc/ssh/sshd config:PermitRootLogin]',
    status: 'failed',
    severity: 'low',
    impact: 0.2,
  }),
  auditResult({ address: 'control[none]', status: 'failed', severity: 'none', impact: 0 }),
  auditResult({
    address: 'control[critical]',
    status: 'failed',
    severity: 'critical',
    impact: 1,
    host: 'db',
  }),
  auditResult({
    address: 'control[waived]',
    status: 'failed',
    waiver: { justification: 'Legacy upload', approver: 'alice', expires: '2099-01-01', expired: false },
  }),
  auditResult({
    address: 'control[expired]',
    status: 'failed',
    waiver: { justification: 'Vendor fix', expires: '2020-01-01', expired: true },
  }),
  auditResult({ address: `control[${HOSTILE}]`, status: 'failed', title: HOSTILE, message: HOSTILE }),
];
const hosts = [
  { name: 'web1', target: 'local', roundTrips: 1, durationMs: 700 },
  {
    name: 'db',
    target: 'local',
    roundTrips: 1,
    durationMs: 50,
    error: { code: 'BULWARK_PROBE_FAILED', message: 'partial' },
  },
];
const sample = auditReport(results, { hosts });

function resultFor(log: ReturnType<typeof toSarif>, host: string, address: string): SarifResult {
  const found = log.runs[0].results.find((r) => r.properties['host'] === host && r.ruleId === address);
  assert.ok(found, `${host} ${address}`);
  return found;
}

test('the SARIF log validates against the official SARIF 2.1.0 schema', () => {
  const log = JSON.parse(
    JSON.stringify(
      toSarif({ ...sample, warnings: ['w'], unusedWaivers: ['control[gone]'] }, { toolVersion: '0.1.0' }),
    ),
  );
  assert.deepEqual(validateSarif(log), []);
  assert.equal(log.version, '2.1.0');
});

test('the schema check is real: a log with a bad level does not validate', () => {
  const log = JSON.parse(JSON.stringify(toSarif(sample, { toolVersion: '0.1.0' })));
  log.runs[0].results[0].level = 'fatal';
  const errors = validateSarif(log);
  assert.notDeepEqual(errors, []);
  assert.ok(
    errors.some((e) => e.startsWith('/runs/0/results/0/level ')),
    errors.join('\n'),
  );
});

test('there is one rule per distinct address, with the title, description, help link, tags and security severity', () => {
  const driver = toSarif(sample, { toolVersion: '1.2.3' }).runs[0].tool.driver;
  assert.equal(driver.name, 'bulwark');
  assert.equal(driver.version, '1.2.3');
  const ids = driver.rules.map((r) => r['id']);
  assert.equal(ids.length, new Set(ids).size);
  assert.equal(ids.length, 11);
  const rule = driver.rules.find((r) => r['id'] === 'control[ssh-07]');
  assert.deepEqual(rule?.['shortDescription'], { text: 'Disable root login' });
  assert.deepEqual(rule?.['fullDescription'], { text: 'Root logins hide who did what.' });
  assert.equal(rule?.['helpUri'], 'https://www.cisecurity.org/', 'the javascript: ref is not used as a link');
  assert.deepEqual(rule?.['properties'], {
    tags: ['configuration', 'nist:AC-6', 'nist:IA-2', 'cis:5.2.10', 'ssh'],
    bucket: 'configuration',
    source: 'cis',
    impact: 0.8,
    severity: 'high',
    'security-severity': '8.0',
  });
});

test('security severity is the impact times ten as a string with one decimal, clamped to 0.0..10.0', () => {
  assert.deepEqual([0, 0.35, 1, 1.7, -1, Number.NaN].map(securitySeverity), [
    '0.0',
    '3.5',
    '10.0',
    '10.0',
    '0.0',
    '0.0',
  ]);
});

test('only failed and errored outcomes are results, their level following severity', () => {
  const log = toSarif(sample, { toolVersion: '0.1.0' });
  assert.equal(log.runs[0].results.length, 9);
  assert.ok(
    log.runs[0].results.every(
      (r) => r.kind === 'fail' && r.ruleId === log.runs[0].tool.driver.rules[r.ruleIndex]?.['id'],
    ),
  );
  assert.equal(resultFor(log, 'db', 'control[critical]').level, 'error');
  assert.equal(resultFor(log, 'web1', 'control[ssh-07]').level, 'error');
  assert.equal(resultFor(log, 'web1', 'file[/etc/shadow]').level, 'warning');
  assert.equal(resultFor(log, 'web1', 'control[none]').level, 'note');
  assert.equal(resultFor(log, 'web1', 'keyValue[/etc/ssh/sshd config:PermitRootLogin]').level, 'note');
  const err = resultFor(log, 'web1', 'control[err]');
  assert.equal(err.level, 'error', 'a control that could not be checked fails closed, whatever its severity');
  assert.match(err.message.text, /could not be checked on web1: sshd -T exited 255/);
  assert.match(
    resultFor(log, 'web1', 'control[ssh-07]').message.text,
    /\nsshd PermitRootLogin: expected no \/ got yes$/,
  );
});

test('a waived failure is a result with an accepted external suppression; an expired waiver suppresses nothing', () => {
  const log = toSarif(sample, { toolVersion: '0.1.0' });
  assert.deepEqual(resultFor(log, 'web1', 'control[waived]').suppressions, [
    { kind: 'external', status: 'accepted', justification: 'Legacy upload' },
  ]);
  const expired = resultFor(log, 'web1', 'control[expired]');
  assert.equal(expired.suppressions, undefined);
  assert.deepEqual(expired.properties['waiver'], {
    justification: 'Vendor fix',
    expires: '2020-01-01',
    expired: true,
  });
});

test('locations name the host and address logically, and the file when the address is a path', () => {
  const log = toSarif(sample, { toolVersion: '0.1.0' });
  assert.deepEqual(resultFor(log, 'web1', 'control[ssh-07]').locations, [
    {
      logicalLocations: [
        { name: 'control[ssh-07]', fullyQualifiedName: 'web1/control[ssh-07]', kind: 'resource' },
      ],
    },
  ]);
  assert.deepEqual(resultFor(log, 'web1', 'file[/etc/shadow]').locations[0]?.['physicalLocation'], {
    artifactLocation: { uri: 'file:///etc/shadow' },
  });
  assert.deepEqual(
    resultFor(log, 'web1', 'keyValue[/etc/ssh/sshd config:PermitRootLogin]').locations[0]?.[
      'physicalLocation'
    ],
    {
      artifactLocation: { uri: 'file:///etc/ssh/sshd%20config' },
    },
  );
});

test('addresses map to file paths only when they name an absolute path', () => {
  assert.equal(addressPath('file[/etc/shadow]'), '/etc/shadow');
  assert.equal(addressPath('keyValue[/etc/ssh/sshd_config:PermitRootLogin]'), '/etc/ssh/sshd_config');
  assert.equal(addressPath('directory[/var/log/]'), '/var/log/');
  assert.equal(addressPath('control[ssh-07]'), undefined);
  assert.equal(addressPath('service[ssh]'), undefined);
  assert.equal(addressPath('file[relative/path]'), undefined);
  assert.equal(addressPath('file[/]'), undefined);
  assert.equal(fileUri('/a b/#c?d'), 'file:///a%20b/%23c%3Fd');
});

test('fingerprints are identical across runs and differ across hosts', () => {
  const first = toSarif(sample, { toolVersion: '0.1.0' });
  const again = toSarif(auditReport([...results].reverse(), { hosts }), { toolVersion: '0.2.0' });
  const web = resultFor(first, 'web1', 'control[ssh-07]').partialFingerprints[FINGERPRINT];
  assert.match(web ?? '', /^[0-9a-f]{64}$/);
  assert.equal(resultFor(again, 'web1', 'control[ssh-07]').partialFingerprints[FINGERPRINT], web);
  assert.equal(web, fingerprint('web1', 'control[ssh-07]'));
  assert.notEqual(fingerprint('db', 'control[ssh-07]'), web);
  assert.notEqual(fingerprint('web1', 'control[ssh-01]'), web);
  assert.notEqual(fingerprint('a', 'bc'), fingerprint('ab', 'c'), 'host and address are kept apart');
  const all = first.runs[0].results.map((r) => r.partialFingerprints[FINGERPRINT]);
  assert.equal(new Set(all).size, all.length);
});

test('an unreachable host fails the invocation and is reported as a notification, as are warnings', () => {
  const inv = toSarif({ ...sample, warnings: ['careful'] }, { toolVersion: '0.1.0' }).runs[0].invocations[0];
  assert.equal(inv?.['executionSuccessful'], false);
  assert.equal(inv?.['startTimeUtc'], '2026-11-26T17:00:00.000Z');
  assert.equal(inv?.['endTimeUtc'], '2026-11-26T17:00:00.120Z');
  assert.deepEqual(inv?.['toolExecutionNotifications'], [
    { level: 'error', message: { text: 'db: BULWARK_PROBE_FAILED: partial' } },
    { level: 'warning', message: { text: 'careful' } },
  ]);
});

test('hostile titles survive as plain text in the JSON log', () => {
  const log = toSarif(sample, { toolVersion: '0.1.0' });
  const hostile = resultFor(log, 'web1', `control[${HOSTILE}]`);
  assert.equal(hostile.message.text, `${HOSTILE} on web1: ${HOSTILE}`);
  assert.deepEqual(JSON.parse(JSON.stringify(log)), log);
});
