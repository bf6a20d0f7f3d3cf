// Scanning a host for missing patches: parsing apt's real output formats, the assessment (source matching, fix
// availability from apt candidates, the security suite as an offline source), and whole scans of real test hosts
// with and without the bookworm-security suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useTestHost } from '../testing/host.js';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  addSecurityMirror,
  bookwormFeedFixture,
  ensureSecurityMirror,
  securityMirrorPackages,
} from '../testing/security-mirror.js';
import { parseInventory } from './inventory.js';
import {
  assessHost,
  meetsUrgency,
  mergeIndexes,
  parseAptSimulation,
  parseCandidates,
  scanHost,
  type Finding,
  type HostObservation,
} from './scan.js';
import { indexTrackerData } from './tracker.js';
import type { Advisory } from './types.js';

const SIM = `Reading package lists...
Building dependency tree...
Calculating upgrade...
The following packages will be upgraded:
  libgcrypt20 liblzma5 tzdata
Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Inst liblzma5 [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64]) []
Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])
Inst libc6:i386 [2.36-9+deb12u9] (2.36-9+deb12u13 Debian-Security:12/bookworm-security [i386])
Inst newpkg (1.0-1 Debian:12.15/oldstable [all])
Inst noversion [1.0-1] (1.0-2 Debian-Security:bookworm-security [all])
Inst evil;rm [1.0] (2.0 Debian-Security:12/oldstable-security [amd64])
Conf libgcrypt20 (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
`;

test('apt simulation parsing reads each Inst line with versions, origins and whether it is a security update', () => {
  const p = parseAptSimulation(SIM);
  assert.deepEqual(
    p.map((u) => [u.name, u.arch ?? '', u.installed ?? '', u.candidate, u.security]),
    [
      ['libgcrypt20', '', '1.10.1-3', '1.10.1-3+deb12u1', true],
      ['liblzma5', '', '5.4.1-1', '5.4.1-1+deb12u2', true],
      ['base-files', '', '12.4+deb12u11', '12.4+deb12u15', false],
      ['libc6', 'i386', '2.36-9+deb12u9', '2.36-9+deb12u13', true],
      ['newpkg', '', '', '1.0-1', false],
      ['noversion', '', '1.0-1', '1.0-2', true],
    ],
  );
  assert.deepEqual(p[0]?.origins, [
    { label: 'Debian', version: '12.15', archive: 'oldstable' },
    { label: 'Debian-Security', version: '12', archive: 'oldstable-security' },
  ]);
});

test('apt simulation parsing drops a line whose package name is not a Debian name', () => {
  assert.ok(parseAptSimulation(SIM).every((u) => !u.name.includes(';')));
});

const CANDIDATES = `Package: bash
Architecture: amd64
Version: 5.2.15-2+b13
Source: bash (5.2.15-2)

Package: bsdutils
Architecture: amd64
Version: 1:2.38.1-5+deb12u4
Source: util-linux (2.38.1-5+deb12u4)

Package: libssl3
Architecture: amd64
Version: 3.0.22-1~deb12u2
Source: openssl

Package: tzdata
Architecture: all
Version: 2026f-0+deb12u1

Package: bad
Architecture: amd64
Version: not a version
`;

test('candidate parsing takes the source version from Source, else the binary version', () => {
  const c = parseCandidates(CANDIDATES);
  assert.equal(c.get('bash:amd64')?.sourceVersion, '5.2.15-2');
  assert.equal(c.get('bsdutils:amd64')?.source, 'util-linux');
  assert.equal(c.get('bsdutils:amd64')?.sourceVersion, '2.38.1-5+deb12u4');
  assert.equal(c.get('libssl3:amd64')?.sourceVersion, '3.0.22-1~deb12u2');
  assert.equal(c.get('tzdata:all')?.source, 'tzdata');
  assert.equal(c.has('bad:amd64'), false);
  assert.equal(c.size, 4);
});

const INVENTORY = [
  'bsdutils\t1:2.38.1-5+deb12u3\tamd64\tinstalled\tutil-linux\t2.38.1-5+deb12u3',
  'libssl3\t3.0.20-1~deb12u2\tamd64\tinstalled\topenssl\t3.0.20-1~deb12u2',
  'openssl\t3.0.20-1~deb12u2\tamd64\tinstalled\topenssl\t3.0.20-1~deb12u2',
  'bash\t5.2.15-2+b13\tamd64\tinstalled\tbash\t5.2.15-2',
  'tzdata\t2026b-0+deb12u1\tall\tinstalled\ttzdata\t2026b-0+deb12u1',
].join('\n');

function adv(source: string, id: string, extra: Partial<Advisory>): Advisory {
  return { id, source, status: 'fixable', urgency: 'medium', origin: 'debian-tracker', ...extra };
}

function observation(candidates: string, sim = ''): HostObservation {
  return {
    inventory: parseInventory(INVENTORY),
    pending: parseAptSimulation(sim),
    candidates: parseCandidates(candidates),
    aptProblems: [],
  };
}

const INDEX = new Map([
  ['util-linux', [adv('util-linux', 'CVE-2026-0001', { fixedVersion: '2.38.1-5+deb12u4', urgency: 'high' })]],
  ['openssl', [adv('openssl', 'CVE-2026-0002', { fixedVersion: '3.0.22-1~deb12u1' })]],
  ['bash', [adv('bash', 'CVE-2026-0003', { status: 'no-fix-yet', urgency: 'low' })]],
]);

function byName(findings: readonly Finding[], source: string): Finding {
  const f = findings.find((x) => x.source === source);
  assert.ok(f !== undefined, `a finding for ${source}`);
  return f;
}

test("a signed kernel finding is reported under linux, and its fix availability read from the candidates' Built-Using", () => {
  const inventory = parseInventory(
    [
      'linux-image-amd64\t6.1.112-1\tamd64\tinstalled\tlinux-signed-amd64\t6.1.112+1\tlinux (= 6.1.112-1)',
      'linux-libc-dev\t6.1.112-1\tamd64\tinstalled\tlinux\t6.1.112-1\t',
    ].join('\n'),
  );
  const candidates = (signed: string): string =>
    `Package: linux-image-amd64\nArchitecture: amd64\nVersion: ${signed.replace('+', '-')}\nSource: linux-signed-amd64 (${signed})\nBuilt-Using: linux (= ${signed.replace('+', '-')})\n\nPackage: linux-libc-dev\nArchitecture: amd64\nVersion: 6.1.115-1\nSource: linux\n`;
  const look = (signed: string, fixedVersion = '6.1.115-1'): Finding => {
    const index = new Map([['linux', [adv('linux', 'CVE-2026-9001', { fixedVersion })]]]);
    const observed = { inventory, candidates: parseCandidates(candidates(signed)), aptProblems: [] };
    return byName(assessHost(observed, index), 'linux');
  };
  const f = look('6.1.115+1');
  assert.deepEqual(
    f.binaries.map((b) => [b.name, b.candidateSourceVersion]),
    [
      ['linux-image-amd64', '6.1.115-1'],
      ['linux-libc-dev', '6.1.115-1'],
    ],
  );
  assert.equal(f.installedVersion, '6.1.112-1');
  assert.equal(f.binaries[0]?.signedTemplate, 'linux-signed-amd64');
  assert.equal(f.fix, 'available');
  assert.equal(look('6.1.112+3').fix, 'not in configured sources');
  // The template's version 6.1.115+1 sorts above linux 6.1.115-2; the signed code (linux 6.1.115-1) is older.
  assert.equal(look('6.1.115+1', '6.1.115-2').fix, 'not in configured sources');
});

test('a binary with its own epoch is matched by its source version, not hidden by its binary version', () => {
  const f = byName(assessHost(observation(CANDIDATES), INDEX), 'util-linux');
  assert.equal(f.installedVersion, '2.38.1-5+deb12u3');
  assert.deepEqual(
    f.binaries.map((b) => b.name),
    ['bsdutils'],
  );
  assert.equal(f.fix, 'available');
});

test('a fix is available when every affected binary has a candidate built from a fixed source version', () => {
  const f = byName(assessHost(observation(CANDIDATES), INDEX), 'openssl');
  // openssl's candidate is unknown, libssl3's is fixed: not every binary can reach the fix.
  assert.equal(f.fix, 'not in configured sources');
  const both = `${CANDIDATES}\nPackage: openssl\nArchitecture: amd64\nVersion: 3.0.22-1~deb12u2\n`;
  assert.equal(byName(assessHost(observation(both), INDEX), 'openssl').fix, 'available');
});

test('a fix that apt cannot see is reported as not in configured sources', () => {
  const old = `Package: libssl3\nArchitecture: amd64\nVersion: 3.0.20-1~deb12u2\nSource: openssl\n\nPackage: openssl\nArchitecture: amd64\nVersion: 3.0.20-1~deb12u2\n`;
  const f = byName(assessHost(observation(old), INDEX), 'openssl');
  assert.equal(f.fix, 'not in configured sources');
  assert.equal(f.fixedVersion, '3.0.22-1~deb12u1');
  assert.deepEqual(f.ids, ['CVE-2026-0002']);
});

test('an issue without a fixed version has no fix, and without apt candidates availability is not checked', () => {
  assert.equal(byName(assessHost(observation(CANDIDATES), INDEX), 'bash').fix, 'none');
  const noApt: HostObservation = { inventory: parseInventory(INVENTORY), aptProblems: [] };
  assert.equal(byName(assessHost(noApt, INDEX), 'util-linux').fix, 'not checked');
});

test('pending security-suite upgrades become findings grouped by source, and join a feed finding of the same source', () => {
  const sim = [
    'Inst tzdata [2026b-0+deb12u1] (2026f-0+deb12u1 Debian-Security:12/bookworm-security [all])',
    'Inst libssl3 [3.0.20-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/bookworm-security [amd64])',
  ].join('\n');
  const findings = assessHost(observation(CANDIDATES, sim), INDEX);
  const tz = byName(findings, 'tzdata');
  assert.equal(tz.status, 'security-update');
  assert.equal(tz.fix, 'available');
  assert.equal(tz.fixedVersion, '2026f-0+deb12u1');
  assert.deepEqual(tz.securityUpdates, { tzdata: '2026f-0+deb12u1' });
  const ssl = byName(findings, 'openssl');
  assert.equal(ssl.status, 'fixable');
  assert.deepEqual(ssl.securityUpdates, { libssl3: '3.0.22-1~deb12u2' });
  assert.deepEqual(ssl.origins, ['debian-tracker', 'apt-security']);
  // Without a feed, only the security suite speaks.
  assert.deepEqual(
    assessHost(observation(CANDIDATES, sim), undefined).map((f) => f.source),
    ['openssl', 'tzdata'],
  );
});

test('a status filter keeps only the asked statuses', () => {
  const findings = assessHost(observation(CANDIDATES), INDEX, { statuses: ['fixable'] });
  assert.deepEqual(
    findings.map((f) => f.source),
    ['openssl', 'util-linux'],
  );
});

test('merged indexes keep every advisory of each source, and urgency filters spare unrated security updates', () => {
  const a = new Map([['x', [adv('x', 'CVE-1-1', { fixedVersion: '1' })]]]);
  const b = new Map([['x', [adv('x', 'CVE-1-2', { fixedVersion: '2', origin: 'osv' })]]]);
  assert.deepEqual(
    mergeIndexes(a, b)
      .get('x')
      ?.map((v) => v.id),
    ['CVE-1-1', 'CVE-1-2'],
  );
  const findings = assessHost(observation(CANDIDATES), INDEX);
  assert.equal(meetsUrgency(byName(findings, 'bash'), 'medium'), false);
  assert.equal(meetsUrgency(byName(findings, 'util-linux'), 'medium'), true);
  const su = { ...byName(findings, 'bash'), status: 'security-update' as const };
  assert.equal(meetsUrgency(su, 'high'), true);
});

test('a host without the security suite: one round trip, feed findings, and the fix reported as not in configured sources', async (t) => {
  const host = await useTestHost(t);
  const before = host.transport.roundTrips;
  const index = indexTrackerData(bookwormFeedFixture(), { release: 'bookworm' }).advisories;
  const scan = await scanHost(host.transport, { index, release: 'bookworm' });
  assert.equal(scan.host.error, undefined);
  assert.equal(host.transport.roundTrips - before, 1);
  assert.equal(scan.host.roundTrips, 1);
  assert.deepEqual(
    scan.findings.map((f) => [f.source, f.status, f.fix]),
    [
      ['bash', 'no-fix-yet', 'none'],
      ['lvm2', 'fixable', 'not in configured sources'],
      ['openssl', 'fixable', 'not in configured sources'],
    ],
  );
  const lvm2 = byName(scan.findings, 'lvm2');
  assert.deepEqual(
    lvm2.binaries.map((b) => b.name),
    ['dmsetup', 'libdevmapper1.02.1'],
  );
  assert.ok(scan.results.every((r) => r.bucket === 'patch' && r.status === 'failed'));
});

test('a host given the security suite reports exactly its pending -security upgrades, with feed findings joined', async (t) => {
  const host = await useTestHost(t);
  await addSecurityMirror(host);
  const sim = await host.sh('apt-get -s upgrade');
  const expected = parseAptSimulation(sim.stdout.toString())
    .filter((u) => u.security)
    .map((u) => u.name)
    .sort();
  assert.ok(expected.length > 0, 'the mirror has updates for the test root');
  assert.deepEqual(expected, (await securityMirrorPackages()).map((p) => p.name).sort());

  const plain = await scanHost(host.transport);
  const listed = plain.findings.flatMap((f) => Object.keys(f.securityUpdates)).sort();
  assert.deepEqual(listed, expected);
  assert.ok(plain.findings.every((f) => f.fix === 'available'));

  const index = indexTrackerData(bookwormFeedFixture(), { release: 'bookworm' }).advisories;
  const withFeed = await scanHost(host.transport, { index });
  const ssl = byName(withFeed.findings, 'openssl');
  assert.equal(ssl.fix, 'available');
  assert.deepEqual(ssl.ids, ['CVE-2026-1001']);
  assert.equal(byName(withFeed.findings, 'lvm2').fix, 'not in configured sources');
});

test('a scan with advisories for another release reports a host error instead of matching', async (t) => {
  const host = await useTestHost(t);
  const scan = await scanHost(host.transport, { index: new Map(), release: 'trixie' });
  assert.equal(scan.host.error?.code, 'BULWARK_FEED_INVALID');
  assert.match(scan.host.error?.message ?? '', /trixie.*bookworm/);
  assert.deepEqual(scan.results, []);
});

/** The CVE ids of the mirror's candidate changelog of `binary` above the `installed` entry, read with shell tools. */
async function mirrorChangelogIds(binary: string, source: string, installed: string): Promise<string[]> {
  const dir = await ensureSecurityMirror();
  const deb = readdirSync(dir).find((f) => f.startsWith(`${binary}_`) && f.endsWith('.deb'));
  assert.ok(deb !== undefined, `the mirror has ${binary}`);
  const r = spawnSync(
    '/bin/sh',
    [
      '-c',
      'dpkg-deb --fsys-tarfile "$1" | tar -xO "./usr/share/doc/$2/changelog.Debian.gz" | gzip -dc | awk -v h="$3 ($4)" \'index($0, h) == 1 { exit } { print }\' | grep -oE "CVE-[0-9]+-[0-9]+" | sort -u',
      'sh',
      join(dir, deb),
      binary,
      source,
      installed,
    ],
    { encoding: 'utf8' },
  );
  return r.stdout.split('\n').filter((l) => l !== '');
}

test("with changelogs, a scan names the CVE ids of each security update's new changelog entries, in one more round trip", async (t) => {
  const host = await useTestHost(t);
  await addSecurityMirror(host);
  const tmpBefore = (await host.sh('ls -A /tmp')).stdout.toString();
  const scan = await scanHost(host.transport, { changelogs: true });
  assert.equal(scan.host.error, undefined);
  assert.equal(scan.host.roundTrips, 2);
  const installed = (await securityMirrorPackages()).find((p) => p.name === 'openssl')?.installed ?? '';
  const expected = await mirrorChangelogIds('openssl', 'openssl', installed);
  assert.ok(expected.length > 0, "the mirror's openssl update names CVE ids");
  const ssl = byName(scan.findings, 'openssl');
  assert.deepEqual(ssl.ids, expected);
  assert.equal(ssl.status, 'security-update');
  assert.deepEqual(ssl.origins, ['apt-security', 'changelog']);
  assert.deepEqual(ssl.changelog?.binary, 'openssl');
  for (const f of scan.findings) {
    assert.ok(f.changelog !== undefined, `the changelog of ${f.source} was read`);
    assert.equal(f.origins.includes('changelog'), f.ids.length > 0);
  }
  assert.deepEqual(scan.warnings, []);
  assert.equal((await host.sh('ls -A /tmp')).stdout.toString(), tmpBefore);
  // Without the option nothing is fetched: one round trip, no ids.
  const plain = await scanHost(host.transport);
  assert.equal(plain.host.roundTrips, 1);
  assert.deepEqual(byName(plain.findings, 'openssl').ids, []);
});
