// The inventory: parsing dpkg-query output (fixtures produced by the real dpkg-query 1.21.22 from a hand-made
// status file, plus hand-made hostile lines) and observing real test hosts through the batched probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runProbe } from '../engine/probe.js';
import { isBulwarkError } from '../errors.js';
import type { ProbeResult } from '../resources/types.js';
import { useTestHost } from '../testing/host.js';
import {
  builtFrom,
  INVENTORY_OP_ID,
  inventoryOp,
  inventoryProbe,
  inventoryResource,
  parseInventory,
  readInventory,
  type InstalledPackage,
} from './inventory.js';

const fixture = (name: string): string => readFileSync(resolve('test/fixtures/vulns', name), 'utf8');

function find(packages: readonly InstalledPackage[], name: string, arch?: string): InstalledPackage {
  const p = packages.find((x) => x.name === name && (arch === undefined || x.arch === arch));
  assert.ok(p, `package ${name} is in the inventory`);
  return p;
}

test('a package without a Source field is its own source at its own version', () => {
  const inv = parseInventory(fixture('dpkg-query-edge-cases.txt'));
  const p = find(inv.packages, 'nosrc');
  assert.deepEqual(p, {
    name: 'nosrc',
    version: '0.9-1',
    arch: 'all',
    status: 'installed',
    source: 'nosrc',
    sourceVersion: '0.9-1',
  });
});

test('empty source fields, as older dpkg prints them, fall back to the binary name and version', () => {
  const inv = parseInventory('nosrc\t0.9-1\tall\tinstalled\t\t\n');
  assert.equal(inv.packages[0]?.source, 'nosrc');
  assert.equal(inv.packages[0]?.sourceVersion, '0.9-1');
});

test('a binNMU keeps the source version from "Source: foo (1.2-3)" while the binary is 1.2-3+b1', () => {
  const p = find(parseInventory(fixture('dpkg-query-edge-cases.txt')).packages, 'foo');
  assert.equal(p.version, '1.2-3+b1');
  assert.equal(p.source, 'foo');
  assert.equal(p.sourceVersion, '1.2-3');
});

test('an epoch on the binary but not on the source is kept apart', () => {
  const inv = parseInventory(fixture('dpkg-query-edge-cases.txt'));
  const p = find(inv.packages, 'bsdthing');
  assert.equal(p.version, '1:2.38.1-5+deb12u3');
  assert.equal(p.source, 'thing-linux');
  assert.equal(p.sourceVersion, '2.38.1-5+deb12u3');
  const dm = find(inv.packages, 'dmthing');
  assert.equal(dm.version, '2:1.02.185-2');
  assert.equal(dm.sourceVersion, '2.03.16-2');
});

test('a Source field without a version gives the source name with the binary version', () => {
  const p = find(parseInventory(fixture('dpkg-query-edge-cases.txt')).packages, 'libbar1', 'i386');
  assert.equal(p.source, 'bar');
  assert.equal(p.sourceVersion, '2.0-4');
});

test('packages are grouped by source, and a group carries its lowest source version', () => {
  const inv = parseInventory(fixture('dpkg-query-edge-cases.txt'));
  const thing = inv.bySource.get('thing-linux');
  assert.ok(thing);
  assert.equal(thing.version, '2.38.1-5+deb12u1');
  assert.deepEqual(
    thing.binaries.map((b) => `${b.name}=${b.version}`),
    ['bsdthing=1:2.38.1-5+deb12u3', 'thing-tools=2.38.1-5+deb12u1'],
  );
  const bar = inv.bySource.get('bar');
  assert.deepEqual(
    bar?.binaries.map((b) => `${b.name}:${b.arch}`),
    ['libbar1:amd64', 'libbar1:i386'],
  );
});

test('config-files leftovers are left out and interrupted installations are kept', () => {
  const inv = parseInventory(fixture('dpkg-query-edge-cases.txt'));
  assert.equal(
    inv.packages.some((p) => p.name === 'oldpkg'),
    false,
  );
  assert.equal(find(inv.packages, 'halfway').status, 'half-configured');
  assert.equal(inv.refused.length, 0);
  assert.equal(inv.packages.length, 8);
});

test('lines with hostile names, bad versions or missing fields are refused with a reason', () => {
  const text = [
    'evil;rm -rf /\t1.0-1\tamd64\tinstalled\tevil\t1.0-1',
    'good\t1.0-1\tamd64\tinstalled\t$(touch /pwned)\t1.0-1',
    'badver\t1.0;id\tamd64\tinstalled\tbadver\t1.0;id',
    'short\t1.0',
    'fine\t1.0-1\tamd64\tinstalled\tfine\t1.0-1',
  ].join('\n');
  const inv = parseInventory(text);
  assert.deepEqual(
    inv.packages.map((p) => p.name),
    ['fine'],
  );
  assert.equal(inv.refused.length, 4);
  assert.match(inv.refused[0]?.reason ?? '', /package name/);
  assert.match(inv.refused[1]?.reason ?? '', /source name/);
  assert.match(inv.refused[2]?.reason ?? '', /version/);
  assert.match(inv.refused[3]?.reason ?? '', /7 tab-separated fields/);
});

test('a host without dpkg-query is a usage error, and a failed dpkg-query a probe error', () => {
  const result = (exitCode: number, stderr = ''): Record<string, ProbeResult> => ({
    [INVENTORY_OP_ID]: { exitCode, stdout: Buffer.alloc(0), stderr: Buffer.from(stderr) },
  });
  assert.throws(
    () => readInventory(result(127)),
    (e) => isBulwarkError(e, 'BULWARK_USAGE'),
  );
  assert.throws(
    () => readInventory(result(2, 'dpkg-query: error: database is locked')),
    (e) => isBulwarkError(e, 'BULWARK_PROBE_FAILED') && /database is locked/.test(e.message),
  );
  assert.throws(
    () => readInventory({}),
    (e) => isBulwarkError(e, 'BULWARK_PROBE_FAILED'),
  );
});

test('the inventory is one dpkg-query exec and refuses a relative admindir', () => {
  const ops = Object.values(inventoryProbe());
  assert.equal(ops.length, 1);
  assert.equal(ops[0]?.kind, 'exec');
  assert.deepEqual(ops[0]?.kind === 'exec' ? ops[0].argv.slice(0, 3) : [], ['dpkg-query', '-W', '-f']);
  assert.throws(
    () => inventoryOp({ admindir: 'var/lib/dpkg' }),
    (e) => isBulwarkError(e, 'BULWARK_USAGE'),
  );
  assert.equal(inventoryResource.key, INVENTORY_OP_ID);
});

test('a real bookworm test host lists its packages with their source packages and versions', async (t) => {
  const host = await useTestHost(t);
  const { facts, results } = await runProbe(host.transport, new Map(Object.entries(inventoryProbe())));
  assert.equal(facts.osCodename, 'bookworm');
  const inv = readInventory(Object.fromEntries(results));
  assert.equal(inv.refused.length, 0);
  // Cross-check every package against dpkg-query run separately in the host, field by field.
  const direct = await host.sh(
    "dpkg-query -W -f '${Package} ${Version} ${source:Package} ${source:Version}\\n'",
  );
  const expected = direct.stdout.toString().trim().split('\n').sort();
  const got = inv.packages.map((p) => `${p.name} ${p.version} ${p.source} ${p.sourceVersion}`).sort();
  assert.deepEqual(got, expected);
  assert.equal(
    inv.bySource.get('glibc')?.binaries.some((b) => b.name === 'libc6'),
    true,
  );
  assert.equal(
    inv.bySource.get('util-linux')?.binaries.some((b) => b.name === 'bsdutils'),
    true,
  );
  // bash in bookworm is a binNMU: the binary carries +bN, the source version does not.
  const bash = find(inv.packages, 'bash');
  assert.match(bash.version, /\+b\d+$/);
  assert.equal(bash.sourceVersion, bash.version.replace(/\+b\d+$/, ''));
});

test('a package removed on a test host but keeping its configuration leaves the inventory', async (t) => {
  const host = await useTestHost(t);
  const before = readInventory(
    Object.fromEntries((await runProbe(host.transport, new Map(Object.entries(inventoryProbe())))).results),
  );
  assert.equal(before.bySource.has('vsftpd'), true);
  const removed = await host.sh(
    "dpkg --remove vsftpd >/dev/null 2>&1; dpkg-query -W -f '${db:Status-Status}' vsftpd",
  );
  assert.equal(removed.stdout.toString(), 'config-files');
  const after = readInventory(
    Object.fromEntries((await runProbe(host.transport, new Map(Object.entries(inventoryProbe())))).results),
  );
  assert.equal(after.bySource.has('vsftpd'), false);
  assert.equal(after.packages.length, before.packages.length - 1);
});

test('a test host reads a hand-made dpkg database through --admindir exactly as the fixture says', async (t) => {
  const host = await useTestHost(t);
  const status = readFileSync(resolve('test/fixtures/vulns/dpkg-status-edge-cases'));
  await host.sh('mkdir -p /tmp/adm/info /tmp/adm/updates && touch /tmp/adm/available');
  await host.transport.writeFile('/tmp/adm/status', status, { mode: 0o644 });
  const ops = new Map(Object.entries(inventoryProbe({ admindir: '/tmp/adm' })));
  const inv = readInventory(Object.fromEntries((await runProbe(host.transport, ops)).results));
  assert.deepEqual(inv, parseInventory(fixture('dpkg-query-edge-cases.txt')));
});

// Signed packages: lines exactly as `dpkg-query -W -f INVENTORY_FORMAT` prints them on a bookworm host with the
// signed kernel, grub and shim installed (their Source and Built-Using fields copied from bookworm's Packages).
const SIGNED = [
  'linux-image-6.1.0-26-amd64\t6.1.112-1\tamd64\tinstalled\tlinux-signed-amd64\t6.1.112+1\tlinux (= 6.1.112-1)',
  'linux-image-amd64\t6.1.112-1\tamd64\tinstalled\tlinux-signed-amd64\t6.1.112+1\tlinux (= 6.1.112-1)',
  'linux-libc-dev\t6.1.112-1\tamd64\tinstalled\tlinux\t6.1.112-1\t',
  'linux-image-6.12.100+deb12-amd64\t6.12.100-1~deb12u1\tamd64\tinstalled\tlinux-signed-6.12-amd64\t6.12.100+1~deb12u1\tlinux-6.12 (= 6.12.100-1~deb12u1)',
  'grub-efi-amd64-signed\t1+2.06+13+deb12u1\tamd64\tinstalled\tgrub-efi-amd64-signed\t1+2.06+13+deb12u1\tgrub2 (= 2.06-13+deb12u1)',
  'shim-signed\t1.44~1+deb12u1+15.8-1~deb12u1\tamd64\tinstalled\tshim-signed\t1.44~1+deb12u1\tshim (= 15.8-1~deb12u1)',
  'libguice-java\t4.2.3-2\tall\tinstalled\tguice\t4.2.3-2\tasm (= 9.0-1), cglib (= 3.2.12-1)',
  'two-signed\t1.0-1\tamd64\tinstalled\ttwo-signed\t1.0-1\ta-src (= 1.0-1), b-src (= 2.0-1)',
  'evil-signed\t1.0-1\tamd64\tinstalled\tevil-signed\t1.0-1\tx;rm (= 1.0-1)',
].join('\n');

test('signed binaries are keyed by the source they sign, at its Built-Using version, keeping the template', () => {
  const inv = parseInventory(SIGNED);
  assert.deepEqual(inv.refused, []);
  const image = find(inv.packages, 'linux-image-6.1.0-26-amd64');
  assert.deepEqual(
    [image.source, image.sourceVersion, image.signedTemplate],
    ['linux', '6.1.112-1', { source: 'linux-signed-amd64', sourceVersion: '6.1.112+1' }],
  );
  assert.deepEqual(
    inv.bySource.get('linux')?.binaries.map((b) => b.name),
    ['linux-image-6.1.0-26-amd64', 'linux-image-amd64', 'linux-libc-dev'],
  );
  assert.equal(inv.bySource.get('linux')?.version, '6.1.112-1');
  assert.equal(inv.bySource.has('linux-signed-amd64'), false);
  assert.equal(inv.bySource.get('linux-6.12')?.version, '6.12.100-1~deb12u1');
  assert.equal(find(inv.packages, 'grub-efi-amd64-signed').source, 'grub2');
  assert.equal(find(inv.packages, 'shim-signed').sourceVersion, '15.8-1~deb12u1');
});

test('Built-Using of packages that are not signing templates, several entries, or invalid ones change nothing', () => {
  const inv = parseInventory(SIGNED);
  assert.equal(find(inv.packages, 'libguice-java').source, 'guice');
  const two = find(inv.packages, 'two-signed');
  assert.deepEqual([two.source, two.signedTemplate], ['two-signed', undefined]);
  assert.equal(find(inv.packages, 'evil-signed').source, 'evil-signed');
  assert.deepEqual(builtFrom('python-signedjson', '1.1.1-2', 'x (= 1)'), {
    source: 'python-signedjson',
    sourceVersion: '1.1.1-2',
  });
  assert.deepEqual(builtFrom('shim-signed', '1.44', 'shim (= not a version!)').source, 'shim-signed');
});

test("a test host's real dpkg-query prints Built-Using, and a signed kernel in its database is keyed by linux", async (t) => {
  const host = await useTestHost(t);
  const status = [
    'Package: linux-image-6.1.0-26-amd64',
    'Status: install ok installed',
    'Priority: optional',
    'Section: kernel',
    'Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>',
    'Architecture: amd64',
    'Source: linux-signed-amd64 (6.1.112+1)',
    'Version: 6.1.112-1',
    'Built-Using: linux (= 6.1.112-1)',
    'Description: Linux 6.1 for 64-bit PCs (signed)',
    '',
    'Package: linux-libc-dev',
    'Status: install ok installed',
    'Architecture: amd64',
    'Source: linux',
    'Version: 6.1.112-1',
    'Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>',
    'Description: Linux support headers for userspace development',
    '',
  ].join('\n');
  await host.sh('mkdir -p /tmp/adm/info /tmp/adm/updates && touch /tmp/adm/available');
  await host.transport.writeFile('/tmp/adm/status', status, { mode: 0o644 });
  const ops = new Map(Object.entries(inventoryProbe({ admindir: '/tmp/adm' })));
  const inv = readInventory(Object.fromEntries((await runProbe(host.transport, ops)).results));
  assert.deepEqual(inv.refused, []);
  assert.deepEqual(
    inv.bySource.get('linux')?.binaries.map((b) => [b.name, b.sourceVersion, b.signedTemplate?.source]),
    [
      ['linux-image-6.1.0-26-amd64', '6.1.112-1', 'linux-signed-amd64'],
      ['linux-libc-dev', '6.1.112-1', undefined],
    ],
  );
});
