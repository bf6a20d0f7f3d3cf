// Findings as audit results: address, bucket, impact by urgency, the one-line message and the report totals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingMessage, findingResult, URGENCY_IMPACT } from './report.js';
import type { Finding } from './scan.js';

const OPENSSL: Finding = {
  source: 'openssl',
  installedVersion: '3.0.20-1~deb12u2',
  binaries: [
    { name: 'libssl3', arch: 'amd64', version: '3.0.20-1~deb12u2' },
    { name: 'openssl', arch: 'amd64', version: '3.0.20-1~deb12u2' },
  ],
  status: 'fixable',
  fixedVersion: '3.0.22-1~deb12u1',
  ids: ['CVE-2026-1001', 'CVE-2026-1003'],
  urgency: 'high',
  fix: 'available',
  securityUpdates: {},
  origins: ['debian-tracker'],
};

test('a finding becomes a failed patch-bucket result addressed vuln[SOURCE] with its tags', () => {
  const r = findingResult(OPENSSL, 'web1');
  assert.equal(r.address, 'vuln[openssl]');
  assert.equal(r.host, 'web1');
  assert.equal(r.status, 'failed');
  assert.equal(r.bucket, 'patch');
  assert.equal(r.impact, 0.8);
  assert.equal(r.severity, 'high');
  assert.deepEqual(r.tags['cve'], ['CVE-2026-1001', 'CVE-2026-1003']);
  assert.equal(r.tags['fix'], 'available');
  assert.equal(r.tags['urgency'], 'high');
  assert.deepEqual(r.tags['binaries'], ['libssl3:amd64', 'openssl:amd64']);
  assert.equal(r.title, 'openssl has 2 known vulnerabilities');
});

test('the message names installed and fixed versions, the ids and whether the fix is available', () => {
  assert.equal(
    findingMessage(OPENSSL),
    'openssl 3.0.20-1~deb12u2 installed (libssl3, openssl), fixed in 3.0.22-1~deb12u1 (CVE-2026-1001, CVE-2026-1003); fix available from the configured sources',
  );
  const missing = findingMessage({ ...OPENSSL, fix: 'not in configured sources' });
  assert.match(missing, /fix not in configured sources/);
  const many = findingMessage({ ...OPENSSL, ids: ['A-1', 'A-2', 'A-3', 'A-4', 'A-5', 'A-6', 'A-7'] });
  assert.match(many, /A-5 \(\+2 more\)/);
  const open = findingMessage({ ...OPENSSL, status: 'no-fix-yet', fix: 'none' });
  assert.match(open, /affected, no fix yet .*no fixed version yet/);
});

test('impact follows the urgency and a security update without a rating is medium', () => {
  assert.equal(findingResult({ ...OPENSSL, urgency: 'unimportant' }, 'h').severity, 'low');
  assert.equal(findingResult({ ...OPENSSL, urgency: 'medium' }, 'h').severity, 'medium');
  assert.equal(URGENCY_IMPACT['not yet assigned'], 0.5);
  const su = findingResult(
    { ...OPENSSL, status: 'security-update', ids: [], urgency: 'not yet assigned' },
    'h',
  );
  assert.equal(su.severity, 'medium');
  assert.equal(su.title, 'openssl has a pending security update');
});
