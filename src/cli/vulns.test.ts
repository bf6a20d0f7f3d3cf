// End-to-end: `bulwark vulns` and `bulwark vulns update` as a user runs them, against real test hosts (run inside
// the host's namespaces, like cli.test.ts), plus the bad inputs of the feature: truncated and malformed feeds, a
// feed for another release, invalid versions, hostile package names, an unreachable tracker with a cached copy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { useTestHost, type TestHost } from '../testing/host.js';
import { addSecurityMirror, bookwormFeedFixture } from '../testing/security-mirror.js';
import { parseAptSimulation } from '../vulns/scan.js';

const CLI = resolve('bin/bulwark.js');

interface Report {
  results?: {
    address: string;
    status: string;
    bucket: string;
    message: string;
    tags: Record<string, unknown>;
  }[];
  warnings?: string[];
  hosts?: { error?: { code: string; message: string } }[];
  error?: { code: string; message: string };
}

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Report;
}

function bulwark(host: TestHost | undefined, args: readonly string[]): CliResult {
  const argv = [...(host?.enter ?? []), process.execPath, CLI, ...args];
  const r = spawnSync(argv[0] ?? '', argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  let json: Report = {};
  try {
    json = JSON.parse(r.stdout) as Report;
  } catch {
    // not JSON
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** `bulwark vulns` of the test host with a tracker feed file, JSON output, caches in `dir`. */
function vulnsWithFeed(h: TestHost, feed: string, dir: string): CliResult {
  return bulwark(h, ['vulns', '--target', `chroot:${h.root}`, '--feed', feed, '--json', '--cache-dir', dir]);
}

function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-vulns-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sources(report: Report): string[] {
  return (report.results ?? []).map((r) => r.address.replace(/^vuln\[(.*)\]$/, '$1'));
}

test('bulwark vulns lists exactly the -security upgrades, converging securityUpdates() applies them, a re-run finds none', async (t) => {
  const h = await useTestHost(t);
  await addSecurityMirror(h);
  const dir = tempDir(t);
  const target = `chroot:${h.root}`;
  const sim = parseAptSimulation((await h.sh('apt-get -s upgrade')).stdout.toString());
  const expected = sim
    .filter((u) => u.security)
    .map((u) => u.name)
    .sort();

  const first = bulwark(h, ['vulns', '--target', target, '--json', '--cache-dir', dir]);
  assert.equal(first.status, 100, first.stderr);
  const listed = (first.json.results ?? []).flatMap((r) =>
    (r.tags['binaries'] as string[]).map((b) => b.split(':')[0] ?? ''),
  );
  assert.deepEqual(listed.sort(), expected);
  assert.ok((first.json.results ?? []).every((r) => r.bucket === 'patch' && r.tags['fix'] === 'available'));
  assert.ok(first.json.warnings?.some((w) => /only the security suite's pending upgrades/.test(w)));
  assert.deepEqual(first.json.results?.find((r) => r.address === 'vuln[openssl]')?.tags['cve'], []);

  // --changelogs names the CVE ids of the updates from their candidates' changelogs, and says where each came from.
  const named = bulwark(h, ['vulns', '--target', target, '--json', '--cache-dir', dir, '--changelogs']);
  assert.equal(named.status, 100, named.stderr);
  const ssl = named.json.results?.find((r) => r.address === 'vuln[openssl]');
  const ids = ssl?.tags['cve'] as string[];
  assert.ok(ids.length > 0 && ids.every((id) => /^CVE-\d{4}-\d+$/.test(id)), JSON.stringify(ids));
  assert.deepEqual(
    ssl?.tags['cve-origins'],
    ids.map((id) => `${id}=changelog`),
  );
  assert.match(String(ssl?.tags['changelog']), /^openssl 3\.0\.22-1~deb12u2$/);
  assert.match(ssl?.message ?? '', /security update 3\.0\.22-1~deb12u2 \(CVE-/);
  assert.deepEqual(
    (named.json.results ?? []).map((r) => r.address),
    (first.json.results ?? []).map((r) => r.address),
  );

  const cookbook = join(dir, 'patch.ts');
  writeFileSync(
    cookbook,
    "import { defineCookbook } from 'bulwark';\nexport default defineCookbook({ name: 'patch', recipe(r) { r.securityUpdates(); } });\n",
  );
  const plan = bulwark(h, ['plan', cookbook, '--target', target, '--json', '--no-typecheck']);
  assert.equal(plan.status, 0, plan.stderr);
  const run = bulwark(h, ['converge', cookbook, '--target', target, '--json', '--no-typecheck']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /verified: openssl/);

  const again = bulwark(h, ['vulns', '--target', target, '--json', '--cache-dir', dir]);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(again.json.results, []);
  const left = parseAptSimulation((await h.sh('apt-get -s upgrade')).stdout.toString()).filter(
    (u) => u.security,
  );
  assert.deepEqual(left, []);
});

test('with a feed, vulns reports every vulnerable source with ids and fix availability, and refuses hostile entries', async (t) => {
  const h = await useTestHost(t);
  const dir = tempDir(t);
  const feed = join(dir, 'tracker.json');
  writeFileSync(feed, JSON.stringify(bookwormFeedFixture()));
  const r = vulnsWithFeed(h, feed, dir);
  assert.equal(r.status, 100, r.stderr);
  assert.deepEqual(sources(r.json), ['bash', 'lvm2', 'openssl']);
  const ssl = r.json.results?.find((x) => x.address === 'vuln[openssl]');
  assert.deepEqual(ssl?.tags['cve'], ['CVE-2026-1001']);
  assert.equal(ssl?.tags['fix'], 'not in configured sources');
  assert.match(ssl?.message ?? '', /3\.0\.20-1~deb12u2 installed .*fixed in 3\.0\.22-1~deb12u1/);
  // The hostile name and the invalid version are refused and reported, never used.
  const refused = r.json.warnings?.find((w) => /refused entries/.test(w)) ?? '';
  assert.match(refused, /1 invalid-package-name/);
  assert.match(refused, /1 invalid-version/);
  assert.ok(!sources(r.json).includes('tar'));
  assert.notEqual((await h.sh('test -e /pwned')).exitCode, 0);
  assert.notEqual(spawnSync('test', ['-e', '/pwned']).status, 0);
  // --include-unimportant and --only-fixable change what counts.
  const fixable = bulwark(h, [
    'vulns',
    '--target',
    `chroot:${h.root}`,
    '--feed',
    feed,
    '--json',
    '--only-fixable',
    '--cache-dir',
    dir,
  ]);
  assert.deepEqual(sources(fixable.json), ['lvm2', 'openssl']);
  const all = bulwark(h, [
    'vulns',
    '--target',
    `chroot:${h.root}`,
    '--feed',
    feed,
    '--json',
    '--include-unimportant',
    '--cache-dir',
    dir,
  ]);
  const bash = all.json.results?.find((x) => x.address === 'vuln[bash]');
  assert.deepEqual(bash?.tags['cve'], ['CVE-2026-3001', 'CVE-2026-3002']);
});

test('vulns through every reporter, with OSV records, for an inventory, and for an SSH host it cannot reach', async (t) => {
  // The parts of the vulns command that load on demand (dist/vulns-lazy/), each used through the real command.
  const h = await useTestHost(t);
  const dir = tempDir(t);
  const feed = join(dir, 'tracker.json');
  writeFileSync(feed, JSON.stringify(bookwormFeedFixture()));
  const target = `chroot:${h.root}`;
  const files = { sarif: join(dir, 'v.sarif'), junit: join(dir, 'v.xml'), html: join(dir, 'v.html') };
  const reported = bulwark(h, [
    'vulns',
    '--target',
    target,
    '--feed',
    feed,
    '--cache-dir',
    dir,
    '-r',
    'cli',
    '-r',
    `sarif:${files.sarif}`,
    '-r',
    `junit:${files.junit}`,
    '-r',
    `html:${files.html}`,
  ]);
  assert.equal(reported.status, 100, reported.stderr);
  assert.match(reported.stdout, /openssl/);
  const sarif = JSON.parse(readFileSync(files.sarif, 'utf8')) as { runs: { results: unknown[] }[] };
  assert.equal(sarif.runs[0]?.results.length, 3);
  assert.match(readFileSync(files.junit, 'utf8'), /<testsuites[^>]*>[\s\S]*vuln\[openssl\]/);
  assert.match(readFileSync(files.html, 'utf8'), /^<!doctype html>[\s\S]*vuln\[lvm2\]/i);
  // OSV records: one for bash, which every Debian host has, fixed only in a version above any real one.
  const osv = join(dir, 'osv');
  mkdirSync(osv);
  writeFileSync(
    join(osv, 'DEBIAN-CVE-2099-7777.json'),
    JSON.stringify({
      id: 'DEBIAN-CVE-2099-7777',
      modified: '2099-01-01T00:00:00Z',
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: 'bash' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '99:1-1' }] }],
        },
      ],
    }),
  );
  const withOsv = bulwark(h, ['vulns', '--target', target, '--osv', osv, '--json', '--cache-dir', dir]);
  assert.equal(withOsv.status, 100, withOsv.stderr);
  const bash = withOsv.json.results?.find((r) => r.address === 'vuln[bash]');
  assert.deepEqual(bash?.tags['cve'], ['CVE-2099-7777']); // the Debian record names the CVE it is about
  // An inventory of one host, named there, in TypeScript (loaded and type-checked by the vulns command too).
  const inventory = join(dir, 'fleet.ts');
  writeFileSync(
    inventory,
    `import { defineInventory } from 'bulwark';\nexport default defineInventory({ hosts: { image: { target: '${target}' } } });\n`,
  );
  const fleet = bulwark(h, ['vulns', '--inventory', inventory, '--feed', feed, '--json', '--cache-dir', dir]);
  assert.equal(fleet.status, 100, fleet.stderr);
  assert.deepEqual(sources(fleet.json), ['bash', 'lvm2', 'openssl']);
  assert.ok(fleet.json.results?.every((r) => (r as { host?: string }).host === 'image'));
  // SSH to a port of this machine where nothing listens: the host is reported unreachable, with its code.
  const ssh = bulwark(undefined, [
    'vulns',
    '--target',
    'ssh://root@127.0.0.1:1',
    '--json',
    '--cache-dir',
    dir,
  ]);
  assert.equal(ssh.status, 2, ssh.stderr);
  assert.equal(ssh.json.hosts?.[0]?.error?.code, 'BULWARK_HOST_UNREACHABLE');
});

test('a truncated, a malformed and an other-release feed are clear errors with exit code 2', async (t) => {
  const h = await useTestHost(t);
  const dir = tempDir(t);
  const text = JSON.stringify(bookwormFeedFixture());
  const cases: { name: string; body: string; message: RegExp }[] = [
    {
      name: 'truncated',
      body: text.slice(0, Math.floor(text.length / 2)),
      message: /not valid JSON.*truncated/,
    },
    { name: 'malformed', body: '[1, 2, 3]', message: /not a JSON object of source packages/ },
    {
      name: 'other release',
      body: JSON.stringify({
        foo: { 'CVE-2026-1': { releases: { trixie: { status: 'open', urgency: 'low' } } } },
      }),
      message: /no entries for release "bookworm"/,
    },
  ];
  for (const c of cases) {
    const feed = join(dir, `${c.name.replace(' ', '-')}.json`);
    writeFileSync(feed, c.body);
    const r = vulnsWithFeed(h, feed, dir);
    assert.equal(r.status, 2, `${c.name}: ${r.stderr}`);
    assert.equal(r.json.hosts?.[0]?.error?.code, 'BULWARK_FEED_INVALID', c.name);
    assert.match(r.json.hosts?.[0]?.error?.message ?? '', c.message, c.name);
    assert.match(r.stderr, /error BULWARK_FEED_INVALID/, c.name);
  }
});

test('an unreachable tracker is a clear error naming the cached copy and its age, and vulns then uses that copy', async (t) => {
  const h = await useTestHost(t);
  const dir = tempDir(t);
  mkdirSync(dir, { recursive: true });
  const body = JSON.stringify(bookwormFeedFixture());
  const { createHash } = await import('node:crypto');
  const downloadedAt = new Date(Date.now() - 3 * 86_400_000).toISOString();
  writeFileSync(join(dir, 'tracker.json'), body);
  writeFileSync(
    join(dir, 'tracker.meta.json'),
    JSON.stringify({
      url: 'http://127.0.0.1:9/json',
      sha256: createHash('sha256').update(body).digest('hex'),
      size: Buffer.byteLength(body),
      downloadedAt,
      checkedAt: downloadedAt,
    }),
  );
  // Inside the host's own network namespace nothing listens on port 9: the connection is refused at once.
  const update = bulwark(h, [
    'vulns',
    'update',
    '--url',
    'http://127.0.0.1:9/json',
    '--cache-dir',
    dir,
    '--timeout',
    '5',
  ]);
  assert.equal(update.status, 2, update.stderr);
  assert.match(update.stderr, /error BULWARK_FEED_UNAVAILABLE: downloading the Debian tracker feed/);
  assert.match(update.stderr, /the cached copy downloaded .* \(3 days old\) is kept/);

  const r = bulwark(h, ['vulns', '--target', `chroot:${h.root}`, '--json', '--cache-dir', dir]);
  assert.equal(r.status, 100, r.stderr);
  assert.deepEqual(sources(r.json), ['bash', 'lvm2', 'openssl']);
  assert.ok(r.json.warnings?.some((w) => /cached tracker feed downloaded .* \(3 days old\)/.test(w)));
  // A second run reads the cached index of the release instead of the feed.
  const again = bulwark(h, ['vulns', '--target', `chroot:${h.root}`, '--json', '--cache-dir', dir]);
  assert.deepEqual(sources(again.json), ['bash', 'lvm2', 'openssl']);
});

test('vulns refuses unknown options and a relative --admindir as usage errors', () => {
  const r = bulwark(undefined, ['vulns', '--frobnicate']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Usage: bulwark vulns/);
  const a = bulwark(undefined, ['vulns', '--admindir', 'var/lib/dpkg', '--json']);
  assert.equal(a.status, 1);
  assert.equal(a.json.error?.code, 'BULWARK_USAGE');
  const both = bulwark(undefined, ['vulns', '--admindir', '/var/lib/dpkg', '--changelogs', '--json']);
  assert.equal(both.status, 1);
  assert.match(both.json.error?.message ?? '', /--changelogs needs apt/);
  const help = bulwark(undefined, ['help', 'vulns']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /bulwark vulns update/);
  assert.match(help.stdout, /--changelogs/);
});
