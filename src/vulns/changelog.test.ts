// CVE ids from candidate changelogs: the changelog parser on hand-written changelogs, the requests and arguments
// of the fetch script (hostile values refused), its output format, and the script itself on a real test host with
// hand-built .deb files of every doc-directory layout it handles or reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isBulwarkError } from '../errors.js';
import { useTestHost, type TestHost } from '../testing/host.js';
import {
  changelogArgs,
  changelogRequests,
  cvesSince,
  fetchChangelogs,
  parseChangelog,
  parseChangelogOutput,
  readChangelogFetches,
  type ChangelogRequest,
} from './changelog.js';
import { parseInventory } from './inventory.js';
import { addChangelogIds, parseAptSimulation, type Finding } from './scan.js';

const CHANGELOG = `openssl (3.0.22-1~deb12u2) bookworm-security; urgency=high

  * Non-maintainer upload by the LTS Team.
  * CVE-2026-84782 ("DTLS Retransmits Handshake Messages From a Stale Buffer
    Offset"), see also cve-2026-35189.
  * Fix CVE-2026-84782 again (listed twice).

 -- Jane Doe <jane@example.org>  Wed, 21 Oct 2026 16:54:24 +0700

openssl (3.0.22-1~deb12u1) bookworm-security stable; urgency=medium

  * Import 3.0.22; fixes CVE-2026-42767 and CVE-2026-54874.

 -- Jane Doe <jane@example.org>  Wed, 23 Sep 2026 10:52:17 +0700

openssl (3.0.20-1~deb12u2) bookworm-security; urgency=medium

  * CVE-2026-7383 (already installed: not new)

 -- Jane Doe <jane@example.org>  Sat, 06 Jun 2026 21:56:20 +0200

openssl (not a version!) unstable; urgency=low

  * CVE-2099-0001 in an entry whose header dpkg would refuse

 -- Jane Doe <jane@example.org>  Sat, 06 Jun 2026 21:56:20 +0200

openssl (3.0.9-1) unstable; urgency=low

  * CVE-2023-0001, an old one.

 -- Jane Doe <jane@example.org>  Sat, 06 Jun 2023 21:56:20 +0200
`;

test('a changelog parses into entries with versions, distributions, urgency and the CVE ids each names', () => {
  const entries = parseChangelog(CHANGELOG);
  assert.deepEqual(
    entries.map((e) => [e.source, e.version, e.distributions, e.urgency, e.cves]),
    [
      ['openssl', '3.0.22-1~deb12u2', ['bookworm-security'], 'high', ['CVE-2026-84782', 'CVE-2026-35189']],
      [
        'openssl',
        '3.0.22-1~deb12u1',
        ['bookworm-security', 'stable'],
        'medium',
        ['CVE-2026-42767', 'CVE-2026-54874'],
      ],
      ['openssl', '3.0.20-1~deb12u2', ['bookworm-security'], 'medium', ['CVE-2026-7383']],
      ['openssl', '3.0.9-1', ['unstable'], 'low', ['CVE-2023-0001']],
    ],
  );
});

test('only entries newer than the installed version count, each judged by its own version in Debian ordering', () => {
  const entries = parseChangelog(CHANGELOG);
  assert.deepEqual(cvesSince(entries, '3.0.20-1~deb12u2'), [
    'CVE-2026-35189',
    'CVE-2026-42767',
    'CVE-2026-54874',
    'CVE-2026-84782',
  ]);
  assert.deepEqual(cvesSince(entries, '3.0.22-1~deb12u2'), []);
  assert.deepEqual(
    cvesSince(entries, '3.0.10-1'),
    [...cvesSince(entries, '3.0.20-1~deb12u2'), 'CVE-2026-7383'].sort(),
  );
  // An entry out of order (an older upload merged above a newer one) is judged by its own version.
  const merged = parseChangelog(
    entry('foo', '2.0-2', 'CVE-2024-0002') +
      entry('foo', '1.9-9', 'CVE-2024-0199') +
      entry('foo', '2.0-1', 'CVE-2024-0001'),
  );
  assert.deepEqual(cvesSince(merged, '2.0-1'), ['CVE-2024-0002']);
  assert.deepEqual(
    cvesSince(parseChangelog('xz (1:1.0-1) sid; urgency=low\n\n  * CVE-2020-1234\n'), '2.0-1'),
    ['CVE-2020-1234'],
  );
  assert.deepEqual(parseChangelog('no header here\n  * CVE-2020-1234\n'), []);
});

const INVENTORY = parseInventory(
  [
    'libssl3\t3.0.20-1~deb12u2\tamd64\tinstalled\topenssl\t3.0.20-1~deb12u2\t',
    'openssl\t3.0.20-1~deb12u2\tamd64\tinstalled\topenssl\t3.0.20-1~deb12u2\t',
    'libfoo-dev\t1.0-1\tamd64\tinstalled\tfoo\t1.0-1\t',
    'libfoo-doc\t1.0-1\tall\tinstalled\tfoo\t1.0-1\t',
    'libfoo2\t1.0-1\tamd64\tinstalled\tfoo\t1.0-1\t',
    'foo-tools\t1.0-1\tamd64\tinstalled\tfoo\t1.0-1\t',
    'linux-image-amd64\t6.1.112-1\tamd64\tinstalled\tlinux-signed-amd64\t6.1.112+1\tlinux (= 6.1.112-1)',
    'tzdata\t2026b-0+deb12u1\tall\tinstalled\ttzdata\t2026b-0+deb12u1\t',
  ].join('\n'),
);

const SIM = parseAptSimulation(
  [
    'Inst libssl3 [3.0.20-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/bookworm-security [amd64])',
    'Inst openssl [3.0.20-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/bookworm-security [amd64])',
    'Inst libfoo-dev [1.0-1] (1.0-1+deb12u1 Debian-Security:12/bookworm-security [amd64])',
    'Inst libfoo-doc [1.0-1] (1.0-1+deb12u1 Debian-Security:12/bookworm-security [all])',
    'Inst libfoo2 [1.0-1] (1.0-1+deb12u1 Debian-Security:12/bookworm-security [amd64])',
    'Inst foo-tools [1.0-1] (1.0-1+deb12u1 Debian-Security:12/bookworm-security [amd64])',
    'Inst linux-image-6.1.0-27-amd64 (6.1.115-1 Debian-Security:12/bookworm-security [amd64])',
    'Inst linux-image-amd64 [6.1.112-1] (6.1.115-1 Debian-Security:12/bookworm-security [amd64])',
    'Inst tzdata [2026b-0+deb12u1] (2026f-0+deb12u1 Debian:12.15/oldstable [all])',
  ].join('\n'),
);

test('one source asks for its own binary first, then the others by name, at most three, and only security upgrades', () => {
  const requests = changelogRequests(INVENTORY, SIM);
  assert.deepEqual(
    requests.map((r) => [r.source, r.binary, r.version, r.arch, r.since]),
    [
      ['foo', 'foo-tools', '1.0-1+deb12u1', 'amd64', '1.0-1'],
      ['foo', 'libfoo-dev', '1.0-1+deb12u1', 'amd64', '1.0-1'],
      ['foo', 'libfoo-doc', '1.0-1+deb12u1', 'all', '1.0-1'],
      // The signed image's changelog headers name linux-signed-amd64: the template's version is where new ones start.
      ['linux', 'linux-image-amd64', '6.1.115-1', 'amd64', '6.1.112+1'],
      ['openssl', 'openssl', '3.0.22-1~deb12u2', 'amd64', '3.0.20-1~deb12u2'],
      ['openssl', 'libssl3', '3.0.22-1~deb12u2', 'amd64', '3.0.20-1~deb12u2'],
    ],
  );
  assert.deepEqual(changelogArgs(requests.slice(4, 5)), [
    'openssl',
    'openssl',
    '3.0.22-1~deb12u2',
    'amd64',
    '3.0.20-1~deb12u2',
    '0',
  ]);
  assert.equal(changelogArgs([{ ...(requests[0] as ChangelogRequest), version: '2026f' }])[5], '1');
});

test('a hostile value never becomes an argument of the fetch script', () => {
  const good: ChangelogRequest = {
    source: 'foo',
    binary: 'foo',
    version: '1.0-2',
    arch: 'amd64',
    since: '1.0-1',
  };
  for (const bad of [
    { binary: 'foo;touch /pwned' },
    { source: '$(id)' },
    { version: '1.0 -o APT::x=1' },
    { since: '1.0`id`' },
    { arch: 'amd64 -s' },
  ]) {
    assert.throws(
      () => changelogArgs([{ ...good, ...bad }]),
      (e) => isBulwarkError(e, 'BULWARK_USAGE'),
    );
  }
});

test('the script output is read per source; failures become one sentence each and odd lines are ignored', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const requests = changelogRequests(INVENTORY, SIM);
  const fetches = parseChangelogOutput(
    [
      `C openssl openssl download ${b64(CHANGELOG)}`,
      `E foo libfoo-doc symlink ${b64('libfoo2')}`,
      `E linux linux-image-amd64 download ${b64('E: Unable to locate package')}`,
      `C evil;rm x cache ${b64(CHANGELOG)}`,
      'garbage',
      'C tzdata tzdata cache ',
    ].join('\n'),
  );
  assert.deepEqual(
    fetches.map((f) => [f.kind, f.source, f.binary]),
    [
      ['read', 'openssl', 'openssl'],
      ['failed', 'foo', 'libfoo-doc'],
      ['failed', 'linux', 'linux-image-amd64'],
      ['read', 'tzdata', 'tzdata'],
    ],
  );
  const scan = readChangelogFetches(requests, fetches);
  assert.deepEqual([...scan.bySource.keys()], ['openssl']);
  assert.deepEqual(scan.bySource.get('openssl')?.ids, [
    'CVE-2026-35189',
    'CVE-2026-42767',
    'CVE-2026-54874',
    'CVE-2026-84782',
  ]);
  assert.deepEqual(scan.problems, [
    'changelog of foo not read: the doc directory of libfoo-doc is a symlink to "libfoo2", which is not followed',
    'changelog of linux not read: downloading linux-image-amd64 6.1.115-1 failed: E: Unable to locate package',
  ]);
});

test("changelog ids join a finding with their origin recorded beside the feed's", () => {
  const finding: Finding = {
    source: 'openssl',
    installedVersion: '3.0.20-1~deb12u2',
    binaries: [{ name: 'libssl3', arch: 'amd64', version: '3.0.20-1~deb12u2' }],
    status: 'fixable',
    fixedVersion: '3.0.22-1~deb12u1',
    ids: ['CVE-2026-42767', 'CVE-2026-99999'],
    urgency: 'medium',
    fix: 'available',
    securityUpdates: { libssl3: '3.0.22-1~deb12u2' },
    origins: ['debian-tracker', 'apt-security'],
    idOrigins: { 'CVE-2026-42767': ['debian-tracker'], 'CVE-2026-99999': ['debian-tracker'] },
  };
  const ids = {
    source: 'openssl',
    binary: 'openssl',
    version: '3.0.22-1~deb12u2',
    from: 'download' as const,
    ids: ['CVE-2026-42767', 'CVE-2026-84782'],
  };
  const [merged] = addChangelogIds([finding], new Map([['openssl', ids]]));
  assert.deepEqual(merged?.ids, ['CVE-2026-42767', 'CVE-2026-84782', 'CVE-2026-99999']);
  assert.deepEqual(merged?.origins, ['debian-tracker', 'apt-security', 'changelog']);
  assert.deepEqual(merged?.idOrigins, {
    'CVE-2026-42767': ['debian-tracker', 'changelog'],
    'CVE-2026-99999': ['debian-tracker'],
    'CVE-2026-84782': ['changelog'],
  });
  assert.deepEqual(merged?.changelog, { binary: 'openssl', version: '3.0.22-1~deb12u2', ids: ids.ids });
  assert.deepEqual(finding.idOrigins?.['CVE-2026-42767'], ['debian-tracker'], 'the input is not changed');
});

// The fetch script on a real host. Source `foo` 1.0-1 is installed as libfoo-dev (its doc directory a symlink to
// libfoo2's), libfoo2 and foo-tools; a local repository labelled as the security suite has 1.0-1+deb12u1 of each.
// Source `lonely` has one binary whose docs link to another source's package. `nat` is native and ships only
// changelog.gz. `cached` is not in any repository at all, only in apt's cache.

interface Deb {
  readonly name: string;
  readonly source: string;
  readonly version: string;
  /** Changelog text, or the doc directory's symlink target. */
  readonly doc: { readonly changelog: string; readonly file?: string } | { readonly link: string };
}

function entry(source: string, version: string, text: string): string {
  return `${source} (${version}) bookworm-security; urgency=high\n\n  * ${text}\n\n -- T <t@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n\n`;
}

function buildDeb(work: string, deb: Deb): { file: string; data: Buffer } {
  const dir = join(work, `${deb.name}-${deb.version}`);
  mkdirSync(join(dir, 'DEBIAN'), { recursive: true });
  const control = [
    `Package: ${deb.name}`,
    `Source: ${deb.source}`,
    `Version: ${deb.version}`,
    'Architecture: all',
    'Maintainer: Bulwark Tests <tests@bulwark.invalid>',
    `Description: changelog test package ${deb.name}`,
  ];
  writeFileSync(join(dir, 'DEBIAN', 'control'), control.join('\n') + '\n');
  const docs = join(dir, 'usr/share/doc');
  mkdirSync(docs, { recursive: true });
  if ('link' in deb.doc) symlinkSync(deb.doc.link, join(docs, deb.name));
  else {
    mkdirSync(join(docs, deb.name));
    writeFileSync(join(docs, deb.name, deb.doc.file ?? 'changelog.Debian.gz'), gzipSync(deb.doc.changelog));
  }
  const file = `${deb.name}_${deb.version}_all.deb`;
  const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', dir, join(work, file)]);
  assert.equal(r.status, 0, r.stderr.toString());
  return { file, data: readFileSync(join(work, file)) };
}

async function security(host: TestHost, debs: readonly Deb[], installed: readonly Deb[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-changelog-'));
  try {
    const repo = join(host.root, 'srv/cl-repo');
    mkdirSync(repo, { recursive: true });
    const stanzas: string[] = [];
    for (const deb of debs) {
      const { file, data } = buildDeb(work, deb);
      writeFileSync(join(repo, file), data);
      const control = spawnSync('dpkg-deb', ['-f', join(work, file)])
        .stdout.toString()
        .trimEnd();
      const sha = createHash('sha256').update(data).digest('hex');
      stanzas.push(`${control}\nFilename: ./${file}\nSize: ${data.length}\nSHA256: ${sha}\n`);
    }
    writeFileSync(join(repo, 'Packages'), stanzas.join('\n'));
    writeFileSync(
      join(repo, 'Release'),
      'Origin: Debian-Security\nLabel: Debian-Security\nSuite: bookworm-security\nCodename: bookworm-security\n',
    );
    writeFileSync(
      join(host.root, 'etc/apt/sources.list.d/cl.list'),
      'deb [trusted=yes] file:/srv/cl-repo ./\n',
    );
    const old = join(host.root, 'tmp/cl-old');
    mkdirSync(old, { recursive: true });
    for (const deb of installed) {
      const built = buildDeb(join(work, 'old'), deb);
      writeFileSync(join(old, built.file), built.data);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const r = await host.sh(
    'dpkg -i /tmp/cl-old/*.deb >/dev/null && rm -rf /tmp/cl-old && apt-get update -q -o Dir::Etc::sourcelist=sources.list.d/cl.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null',
  );
  assert.equal(r.exitCode, 0, r.stderr.toString());
}

test('the fetch script reads each source once, steps past a symlinked doc directory, reads native and cached packages, and leaves nothing behind', async (t) => {
  const host = await useTestHost(t);
  const v1 = '1.0-1';
  const v2 = '1.0-1+deb12u1';
  const fooLog = entry('foo', v2, 'Fix CVE-2024-1111 and CVE-2024-2222.') + entry('foo', v1, 'CVE-2000-0001');
  const make = (version: string): Deb[] => [
    { name: 'libfoo-dev', source: 'foo', version, doc: { link: 'libfoo2' } },
    { name: 'libfoo2', source: 'foo', version, doc: { changelog: fooLog } },
    { name: 'foo-tools', source: 'foo', version, doc: { link: 'libfoo2' } },
    { name: 'lonely', source: 'lonely', version, doc: { link: 'some-other-package' } },
    {
      name: 'nat',
      source: 'nat',
      version: version === v1 ? '1.0' : '1.1',
      doc: {
        changelog: entry('nat', '1.1', 'CVE-2024-3333') + entry('nat', '1.0', 'x'),
        file: 'changelog.gz',
      },
    },
  ];
  const cached: Deb = {
    name: 'cached',
    source: 'cached',
    version: v2,
    doc: { changelog: entry('cached', v2, 'CVE-2024-4444') },
  };
  await security(host, make(v2), [...make(v1), { ...cached, version: v1 }]);
  // `cached` 1.0-1+deb12u1 is only in apt's cache: pretend apt can install it from a source that is gone.
  const work = mkdtempSync(join(tmpdir(), 'bulwark-changelog-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const c = buildDeb(work, cached);
  writeFileSync(join(host.root, 'var/cache/apt/archives', c.file), c.data);
  const pending = parseAptSimulation(
    (await host.sh('apt-get -s upgrade')).stdout.toString() +
      `\nInst cached [${v1}] (${v2} Debian-Security:12/bookworm-security [all])\n`,
  );
  const inventory = parseInventory(
    (
      await host.sh(
        "dpkg-query -W -f '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\t${source:Package}\\t${source:Version}\\t${Built-Using}\\n'",
      )
    ).stdout.toString(),
  );
  const tmpBefore = (await host.sh('ls -A /tmp')).stdout.toString();
  const before = host.transport.roundTrips;
  const scan = await fetchChangelogs(host.transport, inventory, pending);
  assert.equal(host.transport.roundTrips - before, 1);
  assert.deepEqual(
    [...scan.bySource.values()].map((c) => [c.source, c.binary, c.from, c.ids]),
    [
      ['cached', 'cached', 'cache', ['CVE-2024-4444']],
      ['foo', 'libfoo2', 'download', ['CVE-2024-1111', 'CVE-2024-2222']],
      ['nat', 'nat', 'download', ['CVE-2024-3333']],
    ],
  );
  assert.deepEqual(scan.problems, [
    'changelog of lonely not read: the doc directory of lonely is a symlink to "some-other-package", which is not followed',
  ]);
  assert.equal(
    (await host.sh('ls -A /tmp')).stdout.toString(),
    tmpBefore,
    'the temp directories are removed',
  );
  assert.equal(
    (await host.sh("ls /var/cache/apt/archives | grep -cE '^(foo-tools|libfoo|lonely|nat|cached)_'")).stdout
      .toString()
      .trim(),
    '1',
    "downloads went to the private directory, not apt's cache",
  );
});
