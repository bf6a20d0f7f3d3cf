// Matching inventories (dpkg-query fixtures) against the fixture tracker feed: by source name and source version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compareDebianVersions } from '../audit/debversion.js';
import { parseInventory } from './inventory.js';
import { isAffected, matchInventory, type VulnerableSource } from './match.js';
import { parseTrackerFeed } from './tracker.js';
import type { Advisory } from './types.js';

const fixture = (name: string): string => readFileSync(resolve('test/fixtures/vulns', name), 'utf8');
const INDEX = parseTrackerFeed(fixture('tracker.json'), { release: 'bookworm' }).advisories;
const EDGE = parseInventory(fixture('dpkg-query-edge-cases.txt'));

function bySource(list: readonly VulnerableSource[], source: string): VulnerableSource {
  const v = list.find((x) => x.source === source);
  assert.ok(v, `${source} is reported vulnerable`);
  return v;
}

const fix = (fixedVersion: string): Advisory => ({
  id: 'CVE-2099-1',
  source: 'foo',
  status: 'fixable',
  fixedVersion,
  urgency: 'high',
  origin: 'debian-tracker',
});

test('a binNMU 1.2-3+b1 of source foo 1.2-3 is vulnerable to a fix in 1.2-3+deb12u1, judged by the source version', () => {
  const foo = bySource(matchInventory(EDGE, INDEX), 'foo');
  assert.equal(foo.installedVersion, '1.2-3');
  assert.equal(foo.fixedVersion, '1.2-3+deb12u1');
  assert.equal(foo.status, 'fixable');
  assert.deepEqual(foo.ids, ['CVE-2099-1000']);
  assert.deepEqual(
    foo.binaries.map((b) => `${b.name} ${b.version}`),
    ['foo 1.2-3+b1'],
  );
  // For this pair the binary version happens to sort below the fix too ("+b" < "+deb"), so both agree here...
  assert.equal(compareDebianVersions('1.2-3+b1', '1.2-3+deb12u1'), -1);
  // ...but the binNMU suffix puts a binary *above* a fix that is the source version it was rebuilt from, so
  // checking the binary against, e.g., a later point-release fix of the same revision says "fixed" wrongly:
  assert.equal(compareDebianVersions('1.2-3+b1', '1.2-3+b0'), 1);
  assert.equal(isAffected('1.2-3', fix('1.2-3+b0')), true);
});

test('binary epochs and own versions would hide vulnerabilities that source versions reveal', () => {
  const found = matchInventory(EDGE, INDEX);
  // bsdthing 1:2.38.1-5+deb12u3 is built from thing-linux 2.38.1-5+deb12u3; the fix is 2.38.1-5+deb12u4.
  assert.equal(compareDebianVersions('1:2.38.1-5+deb12u3', '2.38.1-5+deb12u4'), 1, 'binary says fixed');
  const thing = bySource(found, 'thing-linux');
  assert.equal(thing.fixedVersion, '2.38.1-5+deb12u4');
  assert.deepEqual(
    thing.binaries.map((b) => b.name),
    ['bsdthing', 'thing-tools'],
  );
  assert.equal(thing.installedVersion, '2.38.1-5+deb12u1');
  // dmthing 2:1.02.185-2 is built from lvmthing 2.03.16-2; the fix is 2.03.16-2+deb12u1.
  assert.equal(compareDebianVersions('2:1.02.185-2', '2.03.16-2+deb12u1'), 1, 'binary says fixed');
  assert.equal(bySource(found, 'lvmthing').fixedVersion, '2.03.16-2+deb12u1');
});

test('a binary with a lower own version of an already fixed source is not reported', () => {
  const inv = parseInventory('dmthing\t1.02.185-2+deb12u1\tamd64\tinstalled\tlvmthing\t2.03.16-2+deb12u1\n');
  assert.equal(
    compareDebianVersions('1.02.185-2+deb12u1', '2.03.16-2+deb12u1'),
    -1,
    'binary says vulnerable',
  );
  assert.deepEqual(matchInventory(inv, INDEX), []);
});

test('a source with several advisories reports every id, the highest fix, the max urgency and counts', () => {
  const bar = bySource(matchInventory(EDGE, INDEX), 'bar');
  assert.deepEqual(bar.ids, ['CVE-2099-4000', 'CVE-2099-4001', 'TEMP-0000000-1A2B3C']);
  assert.equal(bar.status, 'fixable');
  assert.equal(bar.fixedVersion, '2.0-5~deb12u1');
  assert.equal(bar.maxUrgency, 'low');
  assert.deepEqual(bar.counts, { fixable: 1, 'no-fix-yet': 1, postponed: 0, unknown: 1 });
  assert.deepEqual(bar.advisories[0]?.binaries, ['libbar1:amd64', 'libbar1:i386']);
});

test('the highest fixed version across advisories is the one to upgrade to', () => {
  const index = new Map([['foo', [fix('1.2-3+deb12u1'), { ...fix('1.2-3+deb12u2'), id: 'CVE-2099-2' }]]]);
  const foo = bySource(matchInventory(EDGE, index), 'foo');
  assert.equal(foo.fixedVersion, '1.2-3+deb12u2');
  assert.deepEqual(foo.ids, ['CVE-2099-1', 'CVE-2099-2']);
});

test('installed versions at or above the fix, and below an introduced version, are not affected', () => {
  assert.equal(isAffected('1.2-3+deb12u1', fix('1.2-3+deb12u1')), false);
  assert.equal(isAffected('1.2-4', fix('1.2-3+deb12u1')), false);
  assert.equal(isAffected('1:0.1-1', fix('1.2-3+deb12u1')), false);
  const ranged: Advisory = { ...fix('2.0-1'), introducedVersion: '1.5-1' };
  assert.equal(isAffected('1.4-9', ranged), false);
  assert.equal(isAffected('1.5-1', ranged), true);
  // An old issue fixed before the release (foo CVE-2099-1002, fixed 1.0-2) does not show up.
  assert.equal(
    matchInventory(EDGE, INDEX)
      .flatMap((v) => v.ids)
      .includes('CVE-2099-1002'),
    false,
  );
});

test('postponed and open advisories are reported with their status on the real bookworm inventory', () => {
  const inv = parseInventory(fixture('dpkg-query-bookworm-minbase.txt'));
  const found = matchInventory(inv, INDEX);
  const glibc = bySource(found, 'glibc');
  assert.equal(glibc.status, 'postponed');
  assert.equal(glibc.fixedVersion, undefined);
  assert.equal(glibc.advisories[0]?.advisory.postponedReason, 'postponed');
  assert.ok(glibc.binaries.some((b) => b.name === 'libc6'));
  assert.deepEqual(
    found.map((v) => v.source),
    ['glibc'],
  );
});

test('matching can be limited to some statuses', () => {
  const fixableOnly = matchInventory(EDGE, INDEX, { statuses: ['fixable'] });
  assert.deepEqual(
    fixableOnly.map((v) => v.source),
    ['bar', 'foo', 'lvmthing', 'thing-linux'],
  );
  assert.deepEqual(bySource(fixableOnly, 'bar').ids, ['TEMP-0000000-1A2B3C']);
  assert.deepEqual(
    matchInventory(EDGE, INDEX, { statuses: ['unknown'] }).map((v) => v.source),
    ['bar'],
  );
});

test('a signed kernel image is matched against linux at its Built-Using version, which keying by its own source missed', () => {
  const line = (builtUsing: string): string =>
    `linux-image-6.1.0-26-amd64\t6.1.112-1\tamd64\tinstalled\tlinux-signed-amd64\t6.1.112+1\t${builtUsing}`;
  const linux = (fixedVersion: string): Map<string, Advisory[]> =>
    new Map([['linux', [{ ...fix(fixedVersion), source: 'linux' }]]]);
  const found = matchInventory(parseInventory(line('linux (= 6.1.112-1)')), linux('6.1.115-1'));
  assert.deepEqual(
    found.map((v) => [v.source, v.installedVersion, v.fixedVersion, v.binaries.map((b) => b.name)]),
    [['linux', '6.1.112-1', '6.1.115-1', ['linux-image-6.1.0-26-amd64']]],
  );
  // Before Built-Using was read, the image was keyed by linux-signed-amd64, which no advisory names: nothing found.
  assert.deepEqual(matchInventory(parseInventory(line('')), linux('6.1.115-1')), []);
  // And the template's own version scheme would have hidden a fix in a new Debian revision: 6.1.112+1 sorts
  // above 6.1.112-2, the linux version 6.1.112-1 below it.
  assert.equal(compareDebianVersions('6.1.112+1', '6.1.112-2'), 1);
  assert.equal(matchInventory(parseInventory(line('linux (= 6.1.112-1)')), linux('6.1.112-2')).length, 1);
});
