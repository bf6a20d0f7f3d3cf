import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import { conffilePath, createLocalRepo, payloadPath, type TestPackage } from '../testing/apt-repo.js';
import { useTestHost, type TestHost } from '../testing/host.js';
import { applyContext, convergeOne, observe } from '../testing/provider.js';
import type { Transport } from '../transports/transport.js';
import {
  compareDebianVersions,
  packageKeys,
  packageProvider,
  parseAptPolicy,
  parseDpkgQuery,
  type PackageInfo,
  type PackageProps,
  type PackageState,
} from './package.js';
import { execResult, FACTS, stubTransport } from './test-helpers.js';

const INSTALLED: PackageInfo = { status: 'installed', version: '1.0', candidate: null };
const UNKNOWN: PackageInfo = { status: 'unknown', version: null, candidate: null };
const CONFIG_FILES: PackageInfo = { status: 'config-files', version: '1.0', candidate: null };

function validate(props: PackageProps, name = props.names.join(',')): string[] {
  return packageProvider.validate(name, props).map((p) => `${p.property ?? ''}: ${p.message}`);
}

function diff(props: PackageProps, packages: Record<string, PackageInfo>) {
  return packageProvider.diff(props.names.join(','), props, { packages }, FACTS);
}

// --- validate ---

test('package validate accepts Debian names, arch-qualified names, actions and a pinned version', () => {
  assert.deepEqual(validate({ names: ['vsftpd', 'libstdc++6', 'g++', 'python3.11', 'libc6:amd64'] }), []);
  assert.deepEqual(validate({ names: ['vsftpd'], action: 'purge' }), []);
  assert.deepEqual(validate({ names: ['vsftpd'], version: '1:3.0.3-13+b2~bpo12.1' }), []);
  assert.deepEqual(validate({ names: ['vsftpd'], action: 'install', version: '3.0.3' }), []);
});

test('packageKeys gives the names as declared, lowercased, keeping an :arch qualifier', () => {
  assert.deepEqual(packageKeys(['vsftpd', 'LibC6:amd64', 'g++']), ['vsftpd', 'libc6:amd64', 'g++']);
  assert.deepEqual(packageKeys([]), []);
});

test('package validate refuses hostile and malformed names before anything runs', () => {
  const hostile = [
    'vsftpd; touch /pwned',
    '$(reboot)',
    '`reboot`',
    'vsftpd\ntouch /pwned',
    'vsftpd ',
    '-oAPT::Get::Foo=1',
    'Vsftpd',
    'v',
    '',
    'vsftpd:amd64;id',
    'vsftpd=1.0',
    'vsftpd*',
    '../etc/passwd',
  ];
  for (const name of hostile) {
    const problems = packageProvider.validate(name, { names: [name] });
    assert.equal(problems.length, 1, `expected ${JSON.stringify(name)} to be refused`);
    assert.equal(problems[0]?.code, 'BULWARK_RESOURCE_INVALID');
    assert.equal(problems[0]?.property, 'names');
  }
});

test('package validate refuses versions holding shell metacharacters, whitespace or newlines', () => {
  for (const version of ['1.0; reboot', '$(id)', '1.0\n', '1.0 2.0', 'latest', '1.0-', '1.0|id', 'a:1.0']) {
    assert.match(validate({ names: ['vsftpd'], version }).join('\n'), /is not a Debian version/, version);
  }
});

test('package validate collects every problem, including ill-typed props from untyped cookbooks', () => {
  const props = {
    names: ['ok-name', 'ok-name', 7],
    action: 'reinstall',
    version: '2.0',
  } as unknown as PackageProps;
  const messages = packageProvider.validate('x', props).map((p) => p.message);
  assert.equal(messages.length, 5, messages.join('\n'));
  assert.ok(messages.some((m) => m.includes('listed twice')));
  assert.ok(messages.some((m) => m.includes('must be a string')));
  assert.ok(messages.some((m) => m.includes('action must be one of')));
  assert.ok(messages.some((m) => m.includes('only be pinned with action install')));
  assert.ok(messages.some((m) => m.includes('single package name')));
  assert.equal(validate({ names: [] }).length, 1);
  assert.equal(packageProvider.validate('x', {} as PackageProps).length, 1);
  assert.equal(packageProvider.validate('x', { names: 'vsftpd' } as unknown as PackageProps).length, 1);
});

// --- probe and read ---

test('package probe asks dpkg-query once for all names and apt-cache policy only for upgrades', () => {
  const install = packageProvider.probe('a,b', { names: ['a1', 'b1'] });
  assert.deepEqual(Object.keys(install), ['dpkg']);
  const dpkg = install['dpkg'];
  assert.ok(dpkg?.kind === 'exec');
  assert.deepEqual(dpkg.argv.slice(0, 2), ['dpkg-query', '-W']);
  assert.deepEqual(dpkg.argv.slice(-2), ['a1', 'b1']);
  const upgrade = packageProvider.probe('a,b', { names: ['a1', 'b1'], action: 'upgrade' });
  assert.deepEqual(Object.keys(upgrade).sort(), ['dpkg', 'policy']);
  const policy = upgrade['policy'];
  assert.ok(policy?.kind === 'exec');
  assert.deepEqual(policy.argv, ['apt-cache', 'policy', 'a1', 'b1']);
});

test('parseDpkgQuery reads each name, prefers an installed architecture and marks unknown names', () => {
  const out =
    'vsftpd\tamd64\tinstalled\t3.0.3-13+b2\n' +
    'old\tall\tconfig-files\t1.2\n' +
    'libfoo1\ti386\tnot-installed\t\n' +
    'libfoo1\tamd64\tinstalled\t2.0\n' +
    'half\tamd64\thalf-configured\t0.9\n';
  const infos = parseDpkgQuery(out, ['vsftpd', 'old', 'libfoo1', 'libfoo1:i386', 'half', 'missing']);
  assert.deepEqual(infos, {
    vsftpd: { status: 'installed', version: '3.0.3-13+b2', candidate: null },
    old: { status: 'config-files', version: '1.2', candidate: null },
    libfoo1: { status: 'installed', version: '2.0', candidate: null },
    'libfoo1:i386': { status: 'not-installed', version: null, candidate: null },
    half: { status: 'half-configured', version: '0.9', candidate: null },
    missing: UNKNOWN,
  });
});

test('parseAptPolicy reads candidates, maps (none) to null and matches arch-qualified names', () => {
  const out = `vsftpd:
  Installed: 3.0.3-13+b2
  Candidate: 3.0.3-13+b3
  Version table:
     3.0.3-13+b3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 3.0.3-13+b2 100
        100 /var/lib/dpkg/status
gone:
  Installed: 1.0
  Candidate: (none)
  Version table:
 *** 1.0 100
        100 /var/lib/dpkg/status
libbar:i386:
  Installed: (none)
  Candidate: 4.1
`;
  assert.deepEqual(parseAptPolicy(out, ['vsftpd', 'gone', 'libbar:i386', 'vsftpd:amd64', 'nosuch']), {
    vsftpd: '3.0.3-13+b3',
    gone: null,
    'libbar:i386': '4.1',
    'vsftpd:amd64': '3.0.3-13+b3',
    nosuch: null,
  });
});

test('package read refuses to guess when dpkg-query or apt-cache failed', () => {
  const r = (exitCode: number) => ({ exitCode, stdout: Buffer.from(''), stderr: Buffer.from('boom') });
  assert.throws(() => packageProvider.read('a1', { names: ['a1'] }, { dpkg: r(2) }, FACTS), {
    code: 'BULWARK_PROBE_FAILED',
  });
  const upgrade: PackageProps = { names: ['a1'], action: 'upgrade' };
  assert.throws(() => packageProvider.read('a1', upgrade, { dpkg: r(1), policy: r(100) }, FACTS), {
    code: 'BULWARK_PROBE_FAILED',
  });
  assert.deepEqual(packageProvider.read('a1', { names: ['a1'] }, { dpkg: r(1) }, FACTS), {
    packages: { a1: UNKNOWN },
  });
});

// --- versions and diff ---

test('compareDebianVersions orders versions the way dpkg does', () => {
  const ascending = [
    '1.0~rc1',
    '1.0',
    '1.0-1',
    '1.0-1.1',
    '1.0a',
    '1.0+b1',
    '1.0.1',
    '1.2',
    '1.10',
    '2.0',
    '1:0.1',
  ];
  for (let i = 1; i < ascending.length; i++) {
    const [a = '', b = ''] = [ascending[i - 1], ascending[i]];
    assert.ok(compareDebianVersions(a, b) < 0, `${a} < ${b}`);
    assert.ok(compareDebianVersions(b, a) > 0, `${b} > ${a}`);
  }
  assert.equal(compareDebianVersions('3.0.3-13+b2', '3.0.3-13+b2'), 0);
  assert.equal(compareDebianVersions('0:1.010', '1.10'), 0);
  assert.ok(compareDebianVersions('3.0.3-13', '3.0.3-13+b2') < 0);
});

test('package install diff lists only missing packages, and a pinned version that differs', () => {
  assert.deepEqual(diff({ names: ['a1', 'b1', 'c1'] }, { a1: INSTALLED, b1: UNKNOWN, c1: CONFIG_FILES }), [
    { property: 'installed[b1]', from: null, to: 'latest' },
    { property: 'installed[c1]', from: 'config-files', to: 'latest' },
  ]);
  assert.deepEqual(diff({ names: ['a1'] }, { a1: INSTALLED }), []);
  assert.deepEqual(diff({ names: ['a1'], version: '1.0' }, { a1: INSTALLED }), []);
  assert.deepEqual(diff({ names: ['a1'], version: '2.0' }, { a1: INSTALLED }), [
    { property: 'version[a1]', from: '1.0', to: '2.0' },
  ]);
  assert.deepEqual(
    diff({ names: ['a1'] }, { a1: { status: 'half-configured', version: '1.0', candidate: null } }),
    [{ property: 'installed[a1]', from: 'half-configured', to: 'latest' }],
  );
  const pending = { status: 'triggers-pending', version: '1.0', candidate: null };
  assert.deepEqual(diff({ names: ['a1'] }, { a1: pending }), []);
});

test('package remove diff lists installed packages and leaves config-files ones alone', () => {
  const props: PackageProps = { names: ['a1', 'b1', 'c1'], action: 'remove' };
  assert.deepEqual(diff(props, { a1: INSTALLED, b1: UNKNOWN, c1: CONFIG_FILES }), [
    { property: 'installed[a1]', from: '1.0', to: null },
  ]);
});

test('package purge diff lists installed packages and config-files leftovers', () => {
  const props: PackageProps = { names: ['a1', 'b1', 'c1'], action: 'purge' };
  assert.deepEqual(diff(props, { a1: INSTALLED, b1: UNKNOWN, c1: CONFIG_FILES }), [
    { property: 'installed[a1]', from: '1.0', to: null },
    { property: 'installed[c1]', from: 'config-files', to: null },
  ]);
});

test('package upgrade diff lists missing packages and installed ones older than the candidate', () => {
  const props: PackageProps = { names: ['a1', 'b1', 'c1', 'd1', 'e1'], action: 'upgrade' };
  const packages: Record<string, PackageInfo> = {
    a1: { ...INSTALLED, candidate: '1.0' },
    b1: { ...INSTALLED, candidate: '1.0+b1' },
    c1: { ...UNKNOWN, candidate: '3.0' },
    d1: { ...INSTALLED, version: '9.0', candidate: '2.0' },
    e1: UNKNOWN,
  };
  assert.deepEqual(diff(props, packages), [
    { property: 'version[b1]', from: '1.0', to: '1.0+b1' },
    { property: 'installed[c1]', from: null, to: '3.0' },
    { property: 'installed[e1]', from: null, to: 'latest' },
  ]);
});

// --- apply, against a fake transport ---

function fakeTransport(exitCode: number, stderr = ''): { transport: Transport; calls: string[][] } {
  const calls: string[][] = [];
  const transport = stubTransport({
    exec: async (argv) => {
      calls.push([...argv]);
      return execResult(argv, {
        exitCode,
        stdout: Buffer.from('Reading package lists...\n'),
        stderr: Buffer.from(stderr),
      });
    },
  });
  return { transport, calls };
}

async function applyWith(
  props: PackageProps,
  packages: Record<string, PackageInfo>,
  exitCode = 0,
  stderr = '',
) {
  const { transport, calls } = fakeTransport(exitCode, stderr);
  const state: PackageState = { packages };
  const name = props.names.join(',');
  const changes = packageProvider.diff(name, props, state, FACTS);
  await packageProvider.apply(name, props, state, changes, applyContext(transport, FACTS));
  return calls;
}

test('package apply installs every missing name with one apt-get call, as argv', async () => {
  const calls = await applyWith({ names: ['a1', 'b1', 'c1'] }, { a1: INSTALLED, b1: UNKNOWN, c1: UNKNOWN });
  assert.equal(calls.length, 1);
  const argv = calls[0] ?? [];
  assert.deepEqual(argv.slice(0, 2), ['apt-get', 'install']);
  for (const flag of ['-y', '-q', '--no-install-recommends', 'Dpkg::Options::=--force-confold']) {
    assert.ok(argv.includes(flag), flag);
  }
  assert.ok(!argv.includes('--allow-downgrades'));
  assert.deepEqual(argv.slice(-2), ['b1', 'c1']);
});

test('package apply pins the version, allowing a downgrade, and pins upgrades to the observed candidate', async () => {
  const pinned = await applyWith({ names: ['a1'], version: '0.9' }, { a1: INSTALLED });
  assert.ok(pinned[0]?.includes('--allow-downgrades'));
  assert.equal(pinned[0]?.at(-1), 'a1=0.9');
  const upgraded = await applyWith(
    { names: ['a1', 'b1'], action: 'upgrade' },
    { a1: { ...INSTALLED, candidate: '2.0' }, b1: UNKNOWN },
  );
  assert.deepEqual(upgraded[0]?.slice(0, 2), ['apt-get', 'install']);
  assert.deepEqual(upgraded[0]?.slice(-2), ['a1=2.0', 'b1']);
});

test('package apply removes and purges with one call each and does nothing when up to date', async () => {
  const removed = await applyWith(
    { names: ['a1', 'b1'], action: 'remove' },
    { a1: INSTALLED, b1: INSTALLED },
  );
  assert.deepEqual(
    [removed[0]?.slice(0, 2), removed[0]?.slice(-2)],
    [
      ['apt-get', 'remove'],
      ['a1', 'b1'],
    ],
  );
  const purged = await applyWith({ names: ['a1', 'b1'], action: 'purge' }, { a1: UNKNOWN, b1: CONFIG_FILES });
  assert.deepEqual([purged[0]?.slice(0, 2), purged[0]?.slice(-1)], [['apt-get', 'purge'], ['b1']]);
  assert.deepEqual(await applyWith({ names: ['a1'] }, { a1: INSTALLED }), []);
});

test('package apply failure is BULWARK_APPLY_FAILED with the tail of apt output', async () => {
  const noise = 'W: noise\n'.repeat(500);
  await assert.rejects(
    applyWith({ names: ['a1'] }, { a1: UNKNOWN }, 100, `${noise}E: Unable to locate package a1\n`),
    (e) => {
      assert.ok(isBulwarkError(e, 'BULWARK_APPLY_FAILED'));
      assert.match(e.message, /exited 100/);
      assert.match(e.message, /E: Unable to locate package a1/);
      assert.ok(e.message.length < 2500);
      return true;
    },
  );
});

// --- on real test hosts ---

const REPO: readonly TestPackage[] = [
  { name: 'bwt-alpha', version: '1.0' },
  { name: 'bwt-alpha', version: '2.0' },
  { name: 'bwt-beta', version: '1.0', depends: 'bwt-gamma' },
  { name: 'bwt-gamma', version: '1.0' },
  { name: 'bwt-conf', version: '1.0', conffile: true },
];

async function repoHost(t: { after(fn: () => unknown): void }): Promise<TestHost> {
  const host = await useTestHost(t);
  await createLocalRepo(host, REPO, { only: true });
  return host;
}

async function dpkgStatus(host: TestHost, name: string): Promise<string> {
  const r = await host.sh(
    `dpkg-query -W -f='\${db:Status-Status} \${Version}' ${name} 2>/dev/null || echo unknown`,
  );
  return r.stdout.toString().trim();
}

async function exists(host: TestHost, path: string): Promise<boolean> {
  return (await host.sh(`test -e ${path}`)).exitCode === 0;
}

test('package installs several names with one apt-get call, and a second converge changes nothing', async (t) => {
  const host = await repoHost(t);
  const props: PackageProps = { names: ['bwt-alpha', 'bwt-beta'] };
  const before = host.transport.roundTrips;
  const r = await convergeOne(host.transport, packageProvider, 'bwt-alpha,bwt-beta', props);
  // Probe, one apt-get, probe again.
  assert.equal(host.transport.roundTrips - before, 3);
  assert.deepEqual(r.before, [
    { property: 'installed[bwt-alpha]', from: null, to: 'latest' },
    { property: 'installed[bwt-beta]', from: null, to: 'latest' },
  ]);
  assert.deepEqual(r.after, []);
  assert.equal(await dpkgStatus(host, 'bwt-alpha'), 'installed 2.0');
  assert.equal(await dpkgStatus(host, 'bwt-beta'), 'installed 1.0');
  assert.equal(await dpkgStatus(host, 'bwt-gamma'), 'installed 1.0');
  assert.ok(await exists(host, payloadPath('bwt-alpha', '2.0')));
  const again = await convergeOne(host.transport, packageProvider, 'bwt-alpha,bwt-beta', props);
  assert.deepEqual(again.before, []);
});

test('package pins a version, upgrades to the candidate, and downgrades back to a pin', async (t) => {
  const host = await repoHost(t);
  const pinned: PackageProps = { names: ['bwt-alpha'], version: '1.0' };
  const r = await convergeOne(host.transport, packageProvider, 'bwt-alpha', pinned);
  assert.deepEqual(r.before, [{ property: 'installed[bwt-alpha]', from: null, to: '1.0' }]);
  assert.deepEqual(r.after, []);
  assert.equal(await dpkgStatus(host, 'bwt-alpha'), 'installed 1.0');
  assert.ok(await exists(host, payloadPath('bwt-alpha', '1.0')));

  const upgrade: PackageProps = { names: ['bwt-alpha'], action: 'upgrade' };
  const u = await convergeOne(host.transport, packageProvider, 'bwt-alpha', upgrade);
  assert.deepEqual(u.before, [{ property: 'version[bwt-alpha]', from: '1.0', to: '2.0' }]);
  assert.deepEqual(u.after, []);
  assert.equal(await dpkgStatus(host, 'bwt-alpha'), 'installed 2.0');
  assert.ok(await exists(host, payloadPath('bwt-alpha', '2.0')));
  assert.ok(!(await exists(host, payloadPath('bwt-alpha', '1.0'))));

  const d = await convergeOne(host.transport, packageProvider, 'bwt-alpha', pinned);
  assert.deepEqual(d.before, [{ property: 'version[bwt-alpha]', from: '2.0', to: '1.0' }]);
  assert.deepEqual(d.after, []);
  assert.equal(await dpkgStatus(host, 'bwt-alpha'), 'installed 1.0');
});

test('package remove keeps the conffile in config-files state and purge then removes it', async (t) => {
  const host = await repoHost(t);
  await convergeOne(host.transport, packageProvider, 'bwt-conf', { names: ['bwt-conf'] });
  assert.ok(await exists(host, conffilePath('bwt-conf')));

  const removed = await convergeOne(host.transport, packageProvider, 'bwt-conf', {
    names: ['bwt-conf'],
    action: 'remove',
  });
  assert.deepEqual(removed.before, [{ property: 'installed[bwt-conf]', from: '1.0', to: null }]);
  assert.deepEqual(removed.after, []);
  assert.equal(await dpkgStatus(host, 'bwt-conf'), 'config-files 1.0');
  assert.ok(await exists(host, conffilePath('bwt-conf')));
  assert.ok(!(await exists(host, payloadPath('bwt-conf', '1.0'))));

  const purged = await convergeOne(host.transport, packageProvider, 'bwt-conf', {
    names: ['bwt-conf'],
    action: 'purge',
  });
  assert.deepEqual(purged.before, [{ property: 'installed[bwt-conf]', from: 'config-files', to: null }]);
  assert.deepEqual(purged.after, []);
  assert.equal(await dpkgStatus(host, 'bwt-conf'), 'unknown');
  assert.ok(!(await exists(host, conffilePath('bwt-conf'))));
});

test('package reports an unknown package as a change and fails clearly at apply', async (t) => {
  const host = await repoHost(t);
  const props: PackageProps = { names: ['bwt-alpha', 'bwt-no-such-package'] };
  const seen = await observe(host.transport, packageProvider, 'bwt-alpha,bwt-no-such-package', props);
  assert.deepEqual(
    seen.changes.map((c) => c.property),
    ['installed[bwt-alpha]', 'installed[bwt-no-such-package]'],
  );
  await assert.rejects(
    convergeOne(host.transport, packageProvider, 'bwt-alpha,bwt-no-such-package', props),
    (e) => {
      assert.ok(isBulwarkError(e, 'BULWARK_APPLY_FAILED'));
      assert.match(e.message, /Unable to locate package bwt-no-such-package/);
      return true;
    },
  );
  // apt resolves the whole request before changing anything, so nothing was installed.
  assert.equal(await dpkgStatus(host, 'bwt-alpha'), 'unknown');
  await assert.rejects(
    convergeOne(host.transport, packageProvider, 'bwt-alpha', { names: ['bwt-alpha'], version: '9.9' }),
    /Version '9.9' for 'bwt-alpha' was not found/,
  );
});

test('package purges the real vsftpd and reinstalls it offline from the apt cache', async (t) => {
  const host = await useTestHost(t);
  const present = await convergeOne(host.transport, packageProvider, 'vsftpd', { names: ['vsftpd'] });
  assert.deepEqual(present.before, [], 'vsftpd is installed in the base root, so install is up to date');

  const purged = await convergeOne(host.transport, packageProvider, 'vsftpd', {
    names: ['vsftpd'],
    action: 'purge',
  });
  assert.equal(purged.before.length, 1);
  assert.deepEqual(purged.after, []);
  assert.equal(await dpkgStatus(host, 'vsftpd'), 'unknown');
  assert.ok(!(await exists(host, '/etc/vsftpd.conf')));
  assert.ok(!(await exists(host, '/usr/sbin/vsftpd')));

  const installed = await convergeOne(host.transport, packageProvider, 'vsftpd', { names: ['vsftpd'] });
  assert.deepEqual(installed.before, [{ property: 'installed[vsftpd]', from: null, to: 'latest' }]);
  assert.deepEqual(installed.after, []);
  assert.match(await dpkgStatus(host, 'vsftpd'), /^installed 3\./);
  assert.ok(await exists(host, '/etc/vsftpd.conf'));
  assert.ok(await exists(host, '/usr/sbin/vsftpd'));
});

test('package validate refuses hostile names, and even unvalidated ones reach the host only as argv words', async (t) => {
  const host = await useTestHost(t);
  const props: PackageProps = { names: ['vsftpd; touch /pwned', '$(touch /pwned2)'] };
  assert.equal(packageProvider.validate(props.names.join(','), props).length, 2);
  // Bypassing validate on purpose: dpkg-query gets each name as one literal argument, so nothing is executed.
  const seen = await observe(host.transport, packageProvider, 'hostile', props);
  assert.equal(seen.state.packages['vsftpd; touch /pwned']?.status, 'unknown');
  assert.ok(!(await exists(host, '/pwned')));
  assert.ok(!(await exists(host, '/pwned2')));
});
