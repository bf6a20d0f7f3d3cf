// The securityUpdates resource: validation of hostile input, the pure diff and upgrade argv, and real converges of
// a test host given the bookworm-security suite (exactly the pending security upgrades, verified, idempotent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convergeOne, observe } from '../testing/provider.js';
import { useTestHost, type TestHost } from '../testing/host.js';
import {
  addSecurityMirror,
  bookwormFeedFixture,
  securityMirrorPackages,
} from '../testing/security-mirror.js';
import type { Finding } from '../vulns/scan.js';
import {
  securityUpdatesProvider as provider,
  upgradeArgv,
  type SecurityUpdatesState,
} from './security-updates.js';
import type { Facts } from './types.js';

const FACTS: Facts = {
  hostname: 'h',
  osId: 'debian',
  osVersion: '12',
  osCodename: 'bookworm',
  arch: 'x86_64',
  init: 'sysv',
  liveKernel: false,
};

const base: Finding = {
  source: 'openssl',
  installedVersion: '3.0.20-1~deb12u2',
  binaries: [
    { name: 'libssl3', arch: 'amd64', version: '3.0.20-1~deb12u2' },
    { name: 'openssl', arch: 'amd64', version: '3.0.20-1~deb12u2' },
  ],
  status: 'fixable',
  fixedVersion: '3.0.22-1~deb12u1',
  ids: ['CVE-2026-1001'],
  urgency: 'medium',
  fix: 'available',
  securityUpdates: {},
  origins: ['debian-tracker'],
};

const STATE: SecurityUpdatesState = {
  aptProblems: [],
  findings: [
    base,
    {
      ...base,
      source: 'lvm2',
      fix: 'not in configured sources',
      binaries: [{ name: 'dmsetup', arch: 'amd64', version: '2:1.02.185-2' }],
    },
    {
      ...base,
      source: 'bash',
      status: 'no-fix-yet',
      fix: 'none',
      binaries: [{ name: 'bash', arch: 'amd64', version: '5.2.15-2+b13' }],
    },
    {
      ...base,
      source: 'tzdata',
      installedVersion: '2026b-0+deb12u1',
      status: 'security-update',
      ids: [],
      urgency: 'not yet assigned',
      fixedVersion: '2026f-0+deb12u1',
      binaries: [{ name: 'tzdata', arch: 'all', version: '2026b-0+deb12u1' }],
      securityUpdates: { tzdata: '2026f-0+deb12u1' },
      origins: ['apt-security'],
    },
  ],
};

test('validation refuses an unknown urgency, hostile exclude names and a relative feed path', () => {
  const problems = provider.validate('security', {
    minUrgency: 'urgent' as never,
    exclude: ['vsftpd; rm -rf /', 'ok-name'],
    feed: 'feeds/tracker.json',
  });
  assert.deepEqual(
    problems.map((p) => p.property),
    ['minUrgency', 'exclude', 'feed'],
  );
  assert.deepEqual(
    provider.validate('security', { minUrgency: 'high', exclude: ['linux-signed-amd64'] }),
    [],
  );
});

test('the diff lists each source whose fix apt can install, and nothing without an installable fix', () => {
  const changes = provider.diff('security', {}, STATE, FACTS);
  assert.deepEqual(changes, [
    {
      property: 'openssl (libssl3:amd64, openssl:amd64)',
      from: '3.0.20-1~deb12u2',
      to: '3.0.22-1~deb12u1; CVE-2026-1001',
    },
    { property: 'tzdata (tzdata)', from: '2026b-0+deb12u1', to: '2026f-0+deb12u1' },
  ]);
});

test('minUrgency and exclude narrow the patch set; unrated security updates pass any urgency', () => {
  assert.deepEqual(
    provider.diff('security', { minUrgency: 'high' }, STATE, FACTS).map((c) => c.property),
    ['tzdata (tzdata)'],
  );
  assert.deepEqual(
    provider.diff('security', { exclude: ['tzdata', 'libssl3'] }, STATE, FACTS).map((c) => c.property),
    ['openssl (openssl:amd64)'],
  );
});

test('the upgrade is one apt-get install --only-upgrade argv naming exactly the selected binaries', () => {
  const argv = upgradeArgv(STATE.findings, {});
  assert.deepEqual(argv.slice(0, 5), [
    'env',
    'DEBIAN_FRONTEND=noninteractive',
    'apt-get',
    'install',
    '--only-upgrade',
  ]);
  assert.deepEqual(argv.slice(-3), ['libssl3:amd64', 'openssl:amd64', 'tzdata']);
  assert.ok(!argv.includes('dmsetup:amd64') && !argv.includes('bash:amd64'));
});

test('a diff refuses to guess when apt could not be asked', () => {
  assert.throws(
    () =>
      provider.diff('security', {}, { findings: [], aptProblems: ['apt-get -s upgrade exited 100'] }, FACTS),
    /cannot tell which security updates/,
  );
});

async function installed(host: TestHost): Promise<Map<string, string>> {
  const r = await host.sh("dpkg-query -W -f '${Package} ${Version}\\n'");
  return new Map(
    r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
}

test('a converge upgrades exactly the pending security upgrades, verifies each, and a second run changes nothing', async (t) => {
  const host = await useTestHost(t);
  await addSecurityMirror(host);
  const mirrored = await securityMirrorPackages();
  const before = await installed(host);
  const result = await convergeOne(host.transport, provider, 'security', {});
  assert.ok(result.before.length > 0);
  assert.deepEqual(result.after, []);
  const after = await installed(host);
  const changed = [...after]
    .filter(([name, v]) => before.get(name) !== v)
    .map(([name]) => name)
    .sort();
  assert.deepEqual(changed, mirrored.map((p) => p.name).sort());
  for (const p of mirrored) assert.equal(after.get(p.name), p.version);
  assert.ok(result.warnings.length > 0);
  assert.ok(
    result.warnings.every((w) => w.startsWith('verified: ')),
    result.warnings.join('\n'),
  );
  const again = await convergeOne(host.transport, provider, 'security', {});
  assert.deepEqual(again.before, []);
});

test('with a feed, the patch set is the security suite plus feed fixes apt can install; exclude is honoured', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-secupd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const feed = join(dir, 'tracker.json');
  writeFileSync(feed, JSON.stringify(bookwormFeedFixture()));
  const host = await useTestHost(t);
  await addSecurityMirror(host);
  const { changes } = await observe(host.transport, provider, 'security', { feed, exclude: ['tzdata'] });
  const sources = changes.map((c) => c.property.split(' ')[0]);
  assert.ok(sources.includes('openssl'));
  assert.ok(!sources.includes('tzdata'));
  assert.ok(!sources.includes('lvm2'), 'lvm2 has no installable fix');
  const ssl = changes.find((c) => c.property.startsWith('openssl '));
  assert.match(ssl?.to ?? '', /CVE-2026-1001/);
  const pwned = await host.sh('test -e /pwned');
  assert.notEqual(pwned.exitCode, 0);
});

test('a kernel found under its real source `linux` is excluded by that name or by its signing template', () => {
  const kernel: Finding = {
    ...base,
    source: 'linux',
    binaries: [
      {
        name: 'linux-image-6.1.0-26-amd64',
        arch: 'amd64',
        version: '6.1.112-1',
        signedTemplate: 'linux-signed-amd64',
      },
    ],
  };
  const state: SecurityUpdatesState = { aptProblems: [], findings: [kernel, base] };
  const patched = (exclude: string[]) =>
    provider.diff('security', { exclude }, state, FACTS).map((c) => c.property);
  assert.deepEqual(patched([]), [
    'linux (linux-image-6.1.0-26-amd64:amd64)',
    'openssl (libssl3:amd64, openssl:amd64)',
  ]);
  assert.deepEqual(patched(['linux']), ['openssl (libssl3:amd64, openssl:amd64)']);
  assert.deepEqual(patched(['linux-signed-amd64']), ['openssl (libssl3:amd64, openssl:amd64)']);
});
