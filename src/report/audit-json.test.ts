import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditReport } from '../audit/types.js';
import { auditReport, auditResult } from '../testing/audit-fixture.js';
import {
  countStatuses,
  formatJson,
  groupByHost,
  groupBySource,
  isWaived,
  summarize,
  toJson,
} from './audit-json.js';

const waiver = { justification: 'accepted', expired: false };

test('only a failure under a waiver that has not expired counts as waived', () => {
  assert.equal(isWaived(auditResult({ address: 'control[a]', status: 'failed', waiver })), true);
  assert.equal(
    isWaived(auditResult({ address: 'control[a]', status: 'failed', waiver: { ...waiver, expired: true } })),
    false,
  );
  assert.equal(isWaived(auditResult({ address: 'control[a]', status: 'passed', waiver })), false);
  assert.equal(isWaived(auditResult({ address: 'control[a]', status: 'error', waiver })), false);
  assert.equal(isWaived(auditResult({ address: 'control[a]', status: 'failed' })), false);
});

test('counts put waived failures in waived and expired-waiver failures back in failed', () => {
  const counts = countStatuses([
    auditResult({ address: 'control[a]', status: 'passed' }),
    auditResult({ address: 'control[b]', status: 'failed' }),
    auditResult({ address: 'control[c]', status: 'failed', waiver }),
    auditResult({ address: 'control[d]', status: 'failed', waiver: { ...waiver, expired: true } }),
    auditResult({ address: 'control[e]', status: 'skipped' }),
    auditResult({ address: 'control[f]', status: 'error' }),
  ]);
  assert.deepEqual(counts, { passed: 1, failed: 2, skipped: 1, errors: 1, waived: 1 });
});

test('a summary counts every bucket and severity, zeros included', () => {
  const s = summarize([
    auditResult({ address: 'control[a]', status: 'failed', bucket: 'patch', severity: 'critical' }),
    auditResult({ address: 'control[b]', status: 'passed', bucket: 'code', severity: 'none' }),
  ]);
  assert.equal(s.total, 2);
  assert.deepEqual(Object.keys(s.byBucket), ['configuration', 'patch', 'code']);
  assert.deepEqual(Object.keys(s.bySeverity), ['critical', 'high', 'medium', 'low', 'none']);
  assert.deepEqual(s.byBucket.patch, { passed: 0, failed: 1, skipped: 0, errors: 0, waived: 0 });
  assert.deepEqual(s.bySeverity.none, { passed: 1, failed: 0, skipped: 0, errors: 0, waived: 0 });
  assert.deepEqual(s.byBucket.configuration, { passed: 0, failed: 0, skipped: 0, errors: 0, waived: 0 });
});

test('results group by host in the report order, listing hosts without results and hosts the report forgot', () => {
  const r = auditReport(
    [
      auditResult({ address: 'control[a]', status: 'passed', host: 'web2' }),
      auditResult({ address: 'control[b]', status: 'passed', host: 'stray' }),
      auditResult({ address: 'control[c]', status: 'failed', host: 'web2' }),
    ],
    {
      hosts: [
        { name: 'web1', target: 'local', roundTrips: 1, durationMs: 1 },
        { name: 'web2', target: 'local', roundTrips: 1, durationMs: 1 },
      ],
    },
  );
  const groups = groupByHost(r);
  assert.deepEqual(
    groups.map((g) => [g.name, g.host?.name, g.results.map((x) => x.address)]),
    [
      ['web1', 'web1', []],
      ['web2', 'web2', ['control[a]', 'control[c]']],
      ['stray', undefined, ['control[b]']],
    ],
  );
});

test('results group by source in the report order, leaving out sources without results', () => {
  const results = [
    auditResult({ address: 'control[a]', status: 'passed', source: 'other' }),
    auditResult({ address: 'control[b]', status: 'passed', source: 'cis' }),
  ];
  const r = auditReport(results, {
    sources: [
      { name: 'empty', kind: 'cookbook', title: 'Empty' },
      { name: 'cis', kind: 'profile', title: 'CIS' },
    ],
  });
  assert.deepEqual([...groupBySource(r, results).keys()], ['cis', 'other']);
});

test('the JSON report round-trips to the same report, schema version 1, ending in a newline', () => {
  const r = auditReport([
    auditResult({
      address: 'control[a]',
      status: 'failed',
      title: '<b>"quoted"</b> \u0000 🔒',
      checks: [{ status: 'failed', description: 'x', expected: '1', actual: '2' }],
      waiver: { justification: 'j', approver: 'alice', expires: '2020-01-01', expired: true },
      tags: { nist: ['AC-6'] },
      refs: [{ url: 'https://example.org/' }],
    }),
  ]);
  const text = formatJson(r);
  assert.ok(text.endsWith('}\n'));
  const back = JSON.parse(text) as AuditReport;
  assert.deepEqual(back, r);
  assert.equal(back.schemaVersion, 1);
  assert.equal(toJson(r), r);
});
