// OSV records for Debian: normalisation to advisories, from a directory and from ZIP exports (deflated, stored,
// ZIP64), refusal of hostile names and versions, and damaged archives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isBulwarkError } from '../errors.js';
import { parseInventory } from './inventory.js';
import { isAffected, matchInventory } from './match.js';
import { indexOsvRecords, loadOsvAdvisories, type OsvIndex } from './osv.js';
import { parseTrackerFeed } from './tracker.js';
import type { Advisory } from './types.js';
import { readZipEntries } from './zip.js';

const DIR = resolve('test/fixtures/vulns/osv');
const ZIP = resolve('test/fixtures/vulns/osv.zip');
const ZIP64 = resolve('test/fixtures/vulns/osv-zip64-stored.zip');

function ids(index: OsvIndex, source: string): string[] {
  return (index.advisories.get(source) ?? []).map((a) => `${a.id}:${a.status}`).sort();
}

test('OSV records of the host ecosystem become advisories by source package', async () => {
  const index = await loadOsvAdvisories(DIR, { ecosystem: 'Debian:12' });
  const foo = index.advisories.get('foo') ?? [];
  assert.deepEqual(foo, [
    {
      id: 'CVE-2099-1000',
      feedId: 'DEBIAN-CVE-2099-1000',
      origin: 'osv',
      source: 'foo',
      status: 'fixable',
      fixedVersion: '1.2-3+deb12u1',
      urgency: 'high',
    } satisfies Advisory,
  ]);
  assert.deepEqual(ids(index, 'bar'), ['CVE-2099-4000:no-fix-yet', 'CVE-2099-9600:no-fix-yet']);
  assert.deepEqual(index.advisories.get('bar')?.[1]?.versions, ['2.0-4']);
  const dsa = index.advisories.get('thing-linux')?.[0];
  assert.deepEqual([dsa?.id, dsa?.feedId, dsa?.urgency], ['DSA-9999-1', undefined, 'medium']);
  const ranged = index.advisories.get('lvmthing')?.[0];
  assert.equal(ranged?.introducedVersion, '2.03.10-1');
  assert.equal(index.withdrawn, 1);
  assert.equal(index.notAffected, 1);
  assert.equal(index.records, 10);
});

test('other ecosystems are ignored and unimportant records hidden unless asked for', async () => {
  const d13 = await loadOsvAdvisories(DIR, { ecosystem: 'Debian:13' });
  assert.equal(d13.advisories.get('foo')?.[0]?.fixedVersion, '1.4-1');
  assert.equal(d13.advisories.has('bar'), false);
  const hidden = await loadOsvAdvisories(DIR, { ecosystem: 'Debian:12' });
  assert.equal(hidden.hiddenUnimportant, 1);
  const shown = await loadOsvAdvisories(DIR, { ecosystem: 'Debian:12', includeUnimportant: true });
  assert.deepEqual(ids(shown, 'thing-linux'), ['CVE-2099-2001:no-fix-yet', 'DSA-9999-1:fixable']);
  await assert.rejects(loadOsvAdvisories(DIR, { ecosystem: 'bookworm' }), (e) =>
    isBulwarkError(e, 'BULWARK_USAGE'),
  );
});

test('hostile package names and versions in OSV records are refused', async () => {
  const index = await loadOsvAdvisories(DIR, { ecosystem: 'Debian:12' });
  assert.equal(index.advisories.has('vsftpd; touch /pwned'), false);
  assert.equal(index.advisories.has('badver'), false);
  assert.equal(index.skipped.counts['invalid-package-name'], 1);
  assert.equal(index.skipped.counts['invalid-version'], 1);
  assert.deepEqual(
    indexOsvRecords([{ id: 'CVE-1; id', affected: [] }, 'text', null], { ecosystem: 'Debian:12' }).skipped
      .counts,
    { 'invalid-package-name': 0, 'invalid-version': 0, 'invalid-id': 1, 'malformed-entry': 2 },
  );
});

test('a deflated ZIP export and a stored ZIP64 export read exactly like the directory', async () => {
  const fromDir = await loadOsvAdvisories(DIR, { ecosystem: 'Debian:12' });
  for (const zip of [ZIP, ZIP64]) {
    const fromZip = await loadOsvAdvisories(zip, { ecosystem: 'Debian:12' });
    const norm = (i: OsvIndex): unknown =>
      [...i.advisories].map(([k, v]) => [k, [...v].sort((a, b) => (a.id < b.id ? -1 : 1))]).sort();
    assert.deepEqual(norm(fromZip), norm(fromDir));
    assert.equal(fromZip.count, fromDir.count);
  }
});

test('a ZIP whose end record defers to the ZIP64 record is read through it', () => {
  const buf = Buffer.from(readFileSync(ZIP64));
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const names = [...readZipEntries(buf)].map((e) => e.name);
  buf.writeUInt16LE(0xffff, eocd + 8);
  buf.writeUInt16LE(0xffff, eocd + 10);
  buf.writeUInt32LE(0xffffffff, eocd + 16);
  assert.deepEqual(
    [...readZipEntries(buf)].map((e) => e.name),
    names,
  );
  assert.equal(names.length, 10);
});

test('a truncated or corrupted ZIP is refused with a clear error', () => {
  const buf = readFileSync(ZIP);
  assert.throws(
    () => [...readZipEntries(buf.subarray(0, buf.length - 30))],
    (e) => isBulwarkError(e, 'BULWARK_FEED_INVALID') && /ZIP archive/.test(e.message),
  );
  // Flip a byte inside the compressed data of the first file: its CRC-32 (or inflation) must fail.
  const corrupt = Buffer.from(buf);
  const local = corrupt.indexOf(Buffer.from('.json')) - 30 - 'more/DEBIAN-CVE-2099-9600'.length;
  const data = local + 30 + corrupt.readUInt16LE(local + 26) + corrupt.readUInt16LE(local + 28);
  corrupt[data + 10] = (corrupt[data + 10] ?? 0) ^ 0xff;
  assert.throws(
    () => [...readZipEntries(corrupt)],
    (e) => isBulwarkError(e) && /ZIP archive/.test(e.message),
  );
  assert.throws(
    () => [...readZipEntries(readFileSync(ZIP64), { maxEntryBytes: 100 })],
    (e) => isBulwarkError(e) && /more than the 100 allowed/.test(e.message),
  );
});

test('a record that is not JSON names its file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-osv-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'DEBIAN-CVE-2099-1.json'), '{"id": "DEBIAN-CVE-2099-1", "affec');
  await assert.rejects(
    loadOsvAdvisories(dir, { ecosystem: 'Debian:12' }),
    (e) =>
      isBulwarkError(e, 'BULWARK_FEED_INVALID') &&
      /DEBIAN-CVE-2099-1\.json is not valid JSON/.test(e.message),
  );
});

test('OSV and tracker advisories match an inventory the same way', async () => {
  const inv = parseInventory(readFileSync(resolve('test/fixtures/vulns/dpkg-query-edge-cases.txt'), 'utf8'));
  const osv = await loadOsvAdvisories(DIR, { ecosystem: 'Debian:12' });
  const tracker = parseTrackerFeed(readFileSync(resolve('test/fixtures/vulns/tracker.json'), 'utf8'), {
    release: 'bookworm',
  });
  const pick = (list: ReturnType<typeof matchInventory>): unknown =>
    list
      .filter((v) => ['foo', 'thing-linux', 'lvmthing'].includes(v.source))
      .map((v) => [v.source, v.status, v.fixedVersion, v.installedVersion]);
  assert.deepEqual(pick(matchInventory(inv, osv.advisories)), pick(matchInventory(inv, tracker.advisories)));
});

// Ranges in full: hand-written records, each asking which versions of `pkg` are affected and how.

/** One OSV record of `pkg` in Debian:12 with the given affected entries (package filled in). */
function record(...affected: Record<string, unknown>[]): Record<string, unknown> {
  return {
    id: 'DEBIAN-CVE-2099-7000',
    affected: affected.map((a) => ({ package: { ecosystem: 'Debian:12', name: 'pkg' }, ...a })),
  };
}

/** An ECOSYSTEM range of the given events. */
function range(...events: Record<string, string>[]): Record<string, unknown> {
  return { type: 'ECOSYSTEM', events };
}

/** How each advisory of `pkg` that affects `version` describes it: `status` or `status<fixed`. */
function verdict(index: OsvIndex, version: string): string[] {
  return (index.advisories.get('pkg') ?? [])
    .filter((a) => isAffected(version, a))
    .map((a) => (a.fixedVersion === undefined ? a.status : `${a.status}<${a.fixedVersion}`));
}

const osv12 = (...records: unknown[]): OsvIndex => indexOsvRecords(records, { ecosystem: 'Debian:12' });

test('last_affected marks versions up to and including it as affected with no fix, and later ones as not affected', () => {
  const index = osv12(record({ ranges: [range({ introduced: '0' }, { last_affected: '1.2-3' })] }));
  assert.deepEqual(verdict(index, '1.0-1'), ['no-fix-yet']);
  assert.deepEqual(verdict(index, '1.2-3'), ['no-fix-yet']);
  assert.deepEqual(verdict(index, '1.2-3+deb12u1'), []);
  assert.equal(index.advisories.get('pkg')?.[0]?.lastAffectedVersion, '1.2-3');
});

test('events in any order are sorted in Debian ordering and swept into every interval they describe', () => {
  const shuffled = range(
    { fixed: '2.5-1' },
    { introduced: '2.0-1' },
    { fixed: '1.0-1' },
    { introduced: '0' },
  );
  const index = osv12(record({ ranges: [shuffled] }));
  assert.deepEqual(verdict(index, '0.9-1'), ['fixable<1.0-1']);
  assert.deepEqual(verdict(index, '1.0-1'), []);
  assert.deepEqual(verdict(index, '1.5-1'), []);
  assert.deepEqual(verdict(index, '2.0-1'), ['fixable<2.5-1']);
  assert.deepEqual(verdict(index, '2.5-1'), []);
  assert.equal(index.count, 2);
  // Debian ordering, not string or semver ordering: ~ sorts first, and the epoch outranks everything.
  const tilde = osv12(record({ ranges: [range({ introduced: '1.0~rc1-1' }, { fixed: '1.0-1' })] }));
  assert.deepEqual(verdict(tilde, '1.0~rc2-1'), ['fixable<1.0-1']);
  assert.deepEqual(verdict(tilde, '1.0~beta-1'), []);
  const epoch = osv12(record({ ranges: [range({ introduced: '0' }, { fixed: '1:0.9-1' })] }));
  assert.deepEqual(verdict(epoch, '2.0-1'), ['fixable<1:0.9-1']);
  assert.deepEqual(verdict(epoch, '1:0.9-1'), []);
});

test('a repeated introduced inside an open interval and a fix outside one change nothing', () => {
  const index = osv12(
    record({
      ranges: [
        range({ fixed: '0.5-1' }, { introduced: '1.0-1' }, { introduced: '1.5-1' }, { fixed: '2.0-1' }),
      ],
    }),
  );
  assert.deepEqual(verdict(index, '0.1-1'), []);
  assert.deepEqual(verdict(index, '1.2-1'), ['fixable<2.0-1']);
  assert.equal(index.count, 1);
});

test('limit events bound the range, and a limit of * leaves it unbounded', () => {
  const limited = osv12(record({ ranges: [range({ introduced: '0' }, { limit: '2.0-1' })] }));
  assert.deepEqual(verdict(limited, '1.9-1'), ['no-fix-yet']);
  assert.deepEqual(verdict(limited, '2.0-1'), []);
  const two = osv12(record({ ranges: [range({ introduced: '0' }, { limit: '1.0-1' }, { limit: '3.0-1' })] }));
  assert.deepEqual(verdict(two, '2.0-1'), ['no-fix-yet']);
  assert.deepEqual(verdict(two, '3.0-1'), []);
  const star = osv12(record({ ranges: [range({ introduced: '0' }, { limit: '*' })] }));
  assert.deepEqual(verdict(star, '99-1'), ['no-fix-yet']);
  assert.equal(star.advisories.get('pkg')?.[0]?.limitVersions, undefined);
});

test('several ranges and several affected entries of one record each add their advisories', () => {
  const index = osv12(
    record(
      { ranges: [range({ introduced: '0' }, { fixed: '1.0-2' }), range({ introduced: '3.0-1' })] },
      { ranges: [range({ introduced: '2.0-1' }, { last_affected: '2.1-1' })] },
      { package: { ecosystem: 'Debian:13', name: 'pkg' }, ranges: [range({ introduced: '0' })] },
    ),
  );
  assert.deepEqual(verdict(index, '1.0-1'), ['fixable<1.0-2']);
  assert.deepEqual(verdict(index, '1.5-1'), []);
  assert.deepEqual(verdict(index, '2.1-1'), ['no-fix-yet']);
  assert.deepEqual(verdict(index, '3.1-1'), ['no-fix-yet']);
  assert.equal(index.count, 3);
});

test('an explicit versions list affects exactly those versions, in Debian equality, unless a range already does', () => {
  const listed = osv12(record({ versions: ['1.0-1', '1:2.0-1'] }));
  assert.deepEqual(verdict(listed, '1.0-1'), ['no-fix-yet']);
  assert.deepEqual(verdict(listed, '0:1.0-1'), ['no-fix-yet']);
  assert.deepEqual(verdict(listed, '1.0-2'), []);
  assert.deepEqual(verdict(listed, '2.0-1'), []);
  assert.deepEqual(verdict(listed, '1:2.0-1'), ['no-fix-yet']);
  const both = osv12(
    record({ ranges: [range({ introduced: '0' }, { fixed: '1.1-1' })], versions: ['1.0-1', '5.0-1'] }),
  );
  assert.deepEqual(verdict(both, '1.0-1'), ['fixable<1.1-1']);
  assert.deepEqual(verdict(both, '5.0-1'), ['no-fix-yet']);
  assert.deepEqual(both.advisories.get('pkg')?.[1]?.versions, ['5.0-1']);
});

test('a range with a malformed event or an invalid version is refused whole, and an entry without ranges is unknown', () => {
  const index = osv12(
    record({ ranges: [range({ introduced: '0', fixed: '1.0-1' })] }),
    record({ ranges: [range({ introduced: '0' }, { last_affected: '1.0;rm -rf /' })] }),
    record({ ranges: [range({ introduced: '0' }, { limit: 'not a version' })] }),
    record({ ranges: [range({ introduced: '0' }, { fixed: '1.0-1' })], versions: ['$(id)'] }),
    record({ ranges: [{ type: 'GIT', repo: 'https://example.org/x', events: [{ introduced: 'abc' }] }] }),
  );
  assert.deepEqual(index.skipped.counts, {
    'invalid-package-name': 0,
    'invalid-version': 3,
    'invalid-id': 0,
    'malformed-entry': 1,
  });
  assert.deepEqual(
    (index.advisories.get('pkg') ?? []).map((a) => a.status),
    ['fixable', 'unknown'],
  );
});
