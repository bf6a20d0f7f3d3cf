import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, auditResult } from '../testing/audit-fixture.js';
import { formatAuditReport, formatAuditResult, formatCounts, oneLine } from './audit-text.js';
import { makeStyle } from './style.js';

const plain = makeStyle(false);

const failed = auditResult({
  address: 'control[ssh-07]',
  status: 'failed',
  severity: 'high',
  title: 'Disable root login',
  message: '1 of 2 checks failed',
  checks: [
    { status: 'passed', description: 'sshd Protocol' },
    { status: 'failed', description: 'sshd PermitRootLogin', expected: 'no', actual: 'yes' },
  ],
});

test('a failed control shows its mark, address, title, rating and each failed check as expected / got', () => {
  assert.deepEqual(formatAuditResult(failed, plain, false), [
    // The message is not repeated: the check line says it.
    '    FAILED  control[ssh-07]  Disable root login (high, configuration)',
    '              ✗ sshd PermitRootLogin: expected no / got yes',
  ]);
});

test('verbose output adds passed checks, the description, tags and refs', () => {
  const lines = formatAuditResult(
    {
      ...failed,
      description: 'Why it matters',
      tags: { nist: ['AC-6', 'IA-2'] },
      refs: [{ title: 'CIS 5.2', url: 'https://x.test/' }],
    },
    plain,
    true,
  );
  assert.ok(lines.includes('              ok sshd Protocol'));
  assert.ok(lines.includes('              Why it matters'));
  assert.ok(lines.includes('              tags: nist=AC-6,IA-2'));
  assert.ok(lines.includes('              ref: CIS 5.2 https://x.test/'));
});

test('a waived failure is marked waived with its justification, approver and date', () => {
  const lines = formatAuditResult(
    {
      ...failed,
      waiver: { justification: 'Legacy partner', approver: 'alice', expires: '2099-01-01', expired: false },
    },
    plain,
    false,
  );
  assert.match(lines[0] ?? '', /^ {4}waived {2}control\[ssh-07\]/);
  assert.equal(lines.at(-1), '              waived: Legacy partner (by alice, until 2099-01-01)');
});

test('a failure whose waiver expired is FAILED and says waiver EXPIRED', () => {
  const lines = formatAuditResult(
    { ...failed, waiver: { justification: 'Vendor fix', expires: '2020-01-01', expired: true } },
    plain,
    false,
  );
  assert.match(lines[0] ?? '', /^ {4}FAILED {2}/);
  assert.equal(lines.at(-1), '              waiver EXPIRED on 2020-01-01: Vendor fix');
});

test('skipped and errored controls show why, and passed controls take one line', () => {
  assert.deepEqual(
    formatAuditResult(
      auditResult({ address: 'control[k]', status: 'skipped', message: 'not systemd' }),
      plain,
      false,
    ),
    ['    skipped control[k]  control[k]', '              not systemd'],
  );
  assert.deepEqual(
    formatAuditResult(
      auditResult({
        address: 'control[e]',
        status: 'error',
        message: 'sshd -T failed',
        checks: [{ status: 'error', description: 'sshd', message: 'exit 255' }],
      }),
      plain,
      false,
    ),
    ['    ERROR   control[e]  control[e] (medium, configuration)', '              error sshd: exit 255'],
  );
  assert.deepEqual(
    formatAuditResult(
      auditResult({
        address: 'control[p]',
        status: 'passed',
        checks: [{ status: 'passed', description: 'x' }],
      }),
      plain,
      false,
    ),
    ['    ok      control[p]  control[p]'],
  );
});

test('hostile text cannot inject terminal escapes or extra lines', () => {
  assert.equal(oneLine('a\nb\tc\u001b[31mred\u0007'), 'a b c\\x1b[31mred\\x07');
  const lines = formatAuditResult(
    auditResult({
      address: 'control[x]',
      status: 'failed',
      title: 'evil\n    ok      control[fake]\u001b[2J',
    }),
    plain,
    false,
  );
  assert.equal(lines.length, 1);
  assert.ok(!lines.join('\n').includes('\u001b'));
});

test('colour is only used when the style is enabled', () => {
  assert.ok(!formatAuditResult(failed, plain, false).join('\n').includes('\u001b['));
  assert.ok(formatAuditResult(failed, makeStyle(true), false).join('\n').includes('\u001b[31mFAILED'));
});

test('counts leave out zeros unless asked for all', () => {
  const c = { passed: 3, failed: 0, skipped: 0, errors: 1, waived: 0 };
  assert.equal(formatCounts(c, plain), '3 passed, 1 error');
  assert.equal(formatCounts(c, plain, true), '3 passed, 0 failed, 0 skipped, 1 error, 0 waived');
  assert.equal(formatCounts({ passed: 0, failed: 0, skipped: 0, errors: 0, waived: 0 }, plain), 'none');
});

test('the report groups by host then source, with a per-host line showing round trips, and totals by bucket and severity', () => {
  const r = auditReport(
    [
      failed,
      auditResult({ address: 'file[/etc/shadow]', status: 'passed', source: 'hardening' }),
      auditResult({
        address: 'control[pkg]',
        status: 'failed',
        host: 'db',
        bucket: 'patch',
        severity: 'critical',
        waiver: { justification: 'j', expired: false },
      }),
    ],
    {
      hosts: [
        { name: 'web1', target: 'ssh:root@web1', roundTrips: 1, durationMs: 812.4 },
        {
          name: 'db',
          target: 'ssh:root@db',
          roundTrips: 3,
          durationMs: 90,
          error: { code: 'BULWARK_PROBE_FAILED', message: 'probe exited 1' },
        },
      ],
      unusedWaivers: ['control[gone]'],
      warnings: ['be careful'],
    },
  );
  const text = formatAuditReport(r, plain);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Audit of 2 hosts against cis');
  const at = (s: string): number => lines.indexOf(s);
  assert.ok(at('web1 (ssh:root@web1)') < at('  cis — CIS (profile)'));
  assert.ok(at('  cis — CIS (profile)') < at('  hardening'));
  assert.ok(
    lines.includes('  web1: 1 passed, 1 failed, 0 skipped, 0 errors, 0 waived · 1 round trip · 812 ms'),
  );
  assert.ok(lines.includes('  BULWARK_PROBE_FAILED: probe exited 1'));
  assert.ok(
    lines.includes('  db: 0 passed, 0 failed, 0 skipped, 0 errors, 1 waived · 3 round trips · 90 ms'),
  );
  assert.ok(lines.includes('warning waiver matched no control: control[gone]'));
  assert.ok(lines.includes('warning be careful'));
  assert.ok(lines.includes('3 results: 1 passed, 1 failed, 0 skipped, 0 errors, 1 waived · 120 ms'));
  assert.ok(lines.includes('  by bucket:   configuration 1 passed, 1 failed · patch 1 waived'));
  assert.ok(lines.includes('  by severity: critical 1 waived · high 1 failed · medium 1 passed'));
});
