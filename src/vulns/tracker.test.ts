// The Debian Security Tracker reader: status normalisation of the fixture feed (real format, synthetic data),
// refusal of hostile names, versions and ids, whole-feed failures, and the on-disk index cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isBulwarkError } from '../errors.js';
import { indexTrackerData, loadTrackerIndex, parseTrackerFeed, prefetchTrackerIndexes } from './tracker.js';
import type { Advisory } from './types.js';

const FEED_PATH = resolve('test/fixtures/vulns/tracker.json');
const FEED = readFileSync(FEED_PATH, 'utf8');

function only(list: readonly Advisory[] | undefined, id: string): Advisory {
  const found = list?.filter((a) => a.id === id) ?? [];
  assert.equal(found.length, 1, `exactly one advisory ${id}`);
  return found[0] as Advisory;
}

function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-tracker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a resolved entry with a real version becomes a fixable advisory with that fixed version', () => {
  const index = parseTrackerFeed(FEED, { release: 'bookworm' });
  assert.deepEqual(only(index.advisories.get('foo'), 'CVE-2099-1000'), {
    id: 'CVE-2099-1000',
    source: 'foo',
    status: 'fixable',
    fixedVersion: '1.2-3+deb12u1',
    urgency: 'high',
    origin: 'debian-tracker',
  });
});

test('a resolved entry with fixed version 0 is dropped as not affected', () => {
  const index = parseTrackerFeed(FEED, { release: 'bookworm' });
  assert.equal(
    index.advisories.get('foo')?.some((a) => a.id === 'CVE-2099-1001'),
    false,
  );
  assert.equal(index.notAffected, 1);
});

test('open, undetermined and resolved-without-version entries get their statuses', () => {
  const index = parseTrackerFeed(FEED, { release: 'bookworm' });
  const bar = index.advisories.get('bar');
  assert.equal(only(bar, 'CVE-2099-4000').status, 'no-fix-yet');
  assert.equal(only(bar, 'CVE-2099-4000').fixedVersion, undefined);
  assert.equal(only(bar, 'CVE-2099-4001').status, 'unknown');
  assert.equal(only(bar, 'TEMP-0000000-1A2B3C').fixedVersion, '2.0-5~deb12u1');
  assert.equal(only(index.advisories.get('resolvednover'), 'CVE-2099-8500').status, 'unknown');
});

test('no-dsa entries are postponed with their reason and note', () => {
  const index = parseTrackerFeed(FEED, { release: 'bookworm' });
  const glibc = only(index.advisories.get('glibc'), 'CVE-2099-5000');
  assert.equal(glibc.status, 'postponed');
  assert.equal(glibc.postponedReason, 'postponed');
  assert.equal(glibc.note, 'Minor issue, fix via point release');
  assert.equal(only(index.advisories.get('zlibthing'), 'CVE-2099-6000').postponedReason, 'ignored');
  const plain = only(index.advisories.get('systemdthing'), 'CVE-2099-7000');
  assert.deepEqual([plain.status, plain.postponedReason, plain.note], ['postponed', 'no-dsa', 'Minor issue']);
  const eol = only(index.advisories.get('eolthing'), 'CVE-2099-8000');
  assert.deepEqual(
    [eol.status, eol.postponedReason, eol.urgency],
    ['postponed', 'end-of-life', 'end-of-life'],
  );
});

test('unimportant advisories are hidden unless includeUnimportant is set', () => {
  const hidden = parseTrackerFeed(FEED, { release: 'bookworm' });
  assert.equal(
    hidden.advisories.get('thing-linux')?.some((a) => a.id === 'CVE-2099-2001'),
    false,
  );
  assert.equal(hidden.hiddenUnimportant, 1);
  const shown = parseTrackerFeed(FEED, { release: 'bookworm', includeUnimportant: true });
  assert.equal(only(shown.advisories.get('thing-linux'), 'CVE-2099-2001').urgency, 'unimportant');
  assert.equal(shown.count, hidden.count + 1);
});

test('legacy urgency suffixes are dropped', () => {
  const index = parseTrackerFeed(FEED, { release: 'bookworm' });
  assert.equal(only(index.advisories.get('thing-linux'), 'CVE-2099-2000').urgency, 'medium');
});

test('only the host release is kept: bullseye and trixie entries and trixie-only packages are ignored', () => {
  const bookworm = parseTrackerFeed(FEED, { release: 'bookworm' });
  assert.equal(bookworm.advisories.has('newpkg'), false);
  assert.equal(only(bookworm.advisories.get('foo'), 'CVE-2099-1000').fixedVersion, '1.2-3+deb12u1');
  const trixie = parseTrackerFeed(FEED, { release: 'trixie' });
  assert.equal(only(trixie.advisories.get('foo'), 'CVE-2099-1000').fixedVersion, '1.4-1');
  assert.equal(only(trixie.advisories.get('newpkg'), 'CVE-2099-9000').status, 'no-fix-yet');
  assert.equal(only(trixie.advisories.get('glibc'), 'CVE-2099-5000').status, 'fixable');
});

test('a hostile package name, a hostile version and a hostile id are refused and reported', () => {
  const index = parseTrackerFeed(FEED, { release: 'bookworm' });
  for (const [name, list] of index.advisories) {
    assert.match(name, /^[a-z0-9][a-z0-9+.-]+$/);
    for (const a of list) assert.doesNotMatch(a.id + (a.fixedVersion ?? ''), /[;\s]/);
  }
  assert.equal(index.advisories.has('vsftpd; touch /pwned'), false);
  assert.equal(
    index.advisories
      .get('badver')
      ?.map((a) => a.id)
      .join(),
    'CVE-2099-9201',
  );
  assert.equal(index.advisories.has('badid'), false);
  const { counts, examples } = index.skipped;
  assert.deepEqual(counts, {
    'invalid-package-name': 1,
    'invalid-version': 1,
    'invalid-id': 1,
    'malformed-entry': 2,
  });
  assert.equal(examples.find((e) => e.reason === 'invalid-package-name')?.package, 'vsftpd; touch /pwned');
  assert.equal(examples.find((e) => e.reason === 'invalid-version')?.id, 'CVE-2099-9200');
});

test('a truncated feed is refused with a clear error', () => {
  assert.throws(
    () => parseTrackerFeed(FEED.slice(0, FEED.length / 2), { release: 'bookworm' }),
    (e) =>
      isBulwarkError(e, 'BULWARK_FEED_INVALID') &&
      /not valid JSON/.test(e.message) &&
      /truncated/.test(e.message),
  );
});

test('a feed of the wrong shape or without the release is refused', () => {
  const bad = (json: string, release = 'bookworm'): void => {
    assert.throws(
      () => parseTrackerFeed(json, { release }),
      (e) => isBulwarkError(e, 'BULWARK_FEED_INVALID'),
    );
  };
  bad('[]');
  bad('null');
  bad('{}');
  bad('{"foo": 1, "bar": "x"}');
  assert.throws(
    () => parseTrackerFeed(FEED, { release: 'buster' }),
    (e) => isBulwarkError(e) && /no entries for release "buster"/.test(e.message),
  );
  assert.throws(
    () => indexTrackerData({}, { release: '__proto__' }),
    (e) => isBulwarkError(e) && /codename/.test(e.message),
  );
});

test('a second load is served from the compact index cache and gives the same index', async (t) => {
  const dir = tempDir(t);
  const first = await loadTrackerIndex(FEED_PATH, { release: 'bookworm', cacheDir: dir });
  assert.equal(first.fromCache, false);
  assert.match(first.feedSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(readdirSync(dir), [`tracker-bookworm-${first.feedSha256}.idx.json`]);
  const second = await loadTrackerIndex(FEED_PATH, { release: 'bookworm', cacheDir: dir });
  assert.equal(second.fromCache, true);
  assert.deepEqual({ ...second, fromCache: false }, first);
  const withUnimportant = await loadTrackerIndex(FEED_PATH, {
    release: 'bookworm',
    cacheDir: dir,
    includeUnimportant: true,
  });
  assert.equal(withUnimportant.fromCache, true);
  assert.equal(withUnimportant.count, first.count + 1);
});

test('a cache hit for the sources of a host finds each of them among many, and nothing else', async (t) => {
  const dir = tempDir(t);
  // 600 sources in scrambled order with names that share prefixes (a, a-b, a0, a+, aa...), so the bisection of
  // the sorted cache lines meets neighbours that differ in their last character only.
  const names: string[] = [];
  for (let i = 0; i < 600; i++) names.push(`p${(i * 7919) % 600}${['', '-b', '0', '+', 'a', '.x'][i % 6]}`);
  const feed: Record<string, unknown> = {};
  names.forEach((name, i) => {
    feed[name] = {
      [`CVE-2099-${1000 + i}`]: {
        releases: { bookworm: { status: 'resolved', fixed_version: `1.${i}-1`, urgency: 'low' } },
      },
    };
  });
  const path = join(dir, 'feed.json');
  writeFileSync(path, JSON.stringify(feed));
  const full = await loadTrackerIndex(path, { release: 'bookworm', cacheDir: dir });
  assert.equal(full.advisories.size, 600);
  const sources = new Set([
    ...names.filter((_, i) => i % 5 === 0),
    [...names].sort()[0] as string, // the first line
    [...names].sort()[599] as string, // the last line
    'a-not-there',
    'p1-not-there',
    'zzz-not-there',
  ]);
  const hit = await loadTrackerIndex(path, { release: 'bookworm', cacheDir: dir, sources });
  assert.equal(hit.fromCache, true);
  const expected = [...sources].filter((s) => full.advisories.has(s)).sort();
  assert.deepEqual([...hit.advisories.keys()].sort(), expected);
  for (const s of expected) assert.deepEqual(hit.advisories.get(s), full.advisories.get(s));
  // A line whose tab is gone (a damaged cache) is noticed by the search for its name: rebuilt from the feed.
  const cacheFile = join(dir, `tracker-bookworm-${full.feedSha256}.idx.json`);
  const lines = readFileSync(cacheFile, 'utf8').split('\n');
  lines[300] = (lines[300] ?? '').replace('\t', ' ');
  writeFileSync(cacheFile, lines.join('\n'));
  const middle = [...names].sort()[299] as string; // the damaged line
  const rebuilt = await loadTrackerIndex(path, {
    release: 'bookworm',
    cacheDir: dir,
    sources: new Set([middle]),
  });
  assert.equal(rebuilt.fromCache, false);
  assert.deepEqual(rebuilt.advisories.get(middle), full.advisories.get(middle));
});

test('a prefetched index cache is used as read, and one of another feed is not trusted', async (t) => {
  const dir = tempDir(t);
  const feed = join(dir, 'feed.json');
  writeFileSync(feed, FEED);
  const first = await loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir });
  const sha256 = first.feedSha256 ?? '';
  const prefetched = prefetchTrackerIndexes(dir, sha256);
  assert.deepEqual([...(await prefetched).keys()], ['bookworm']);
  // The file goes after the prefetch read it: the load is still a cache hit, from the prefetched bytes.
  rmSync(join(dir, `tracker-bookworm-${sha256}.idx.json`));
  const hit = await loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir, sha256, prefetched });
  assert.equal(hit.fromCache, true);
  assert.deepEqual({ ...hit, fromCache: false }, first);
  // Nothing to prefetch: no such directory, a malformed sha256.
  assert.equal((await prefetchTrackerIndexes(join(dir, 'nowhere'), sha256)).size, 0);
  assert.equal((await prefetchTrackerIndexes(dir, '../../etc/passwd')).size, 0);
  // Bytes whose header names another feed than the one asked for (a caller's mix-up) are not trusted: the feed is
  // read, hashed and indexed again.
  const bytes = (await prefetched).get('bookworm') as Buffer;
  const rebuilt = await loadTrackerIndex(feed, {
    release: 'bookworm',
    cacheDir: dir,
    sha256: 'f'.repeat(64),
    prefetched: Promise.resolve(new Map([['bookworm', bytes]])),
  });
  assert.equal(rebuilt.fromCache, false);
  assert.deepEqual(rebuilt, first);
});

test('with the recorded sha256 a cache hit does not read the feed at all', async (t) => {
  const dir = tempDir(t);
  const feed = join(dir, 'feed.json');
  writeFileSync(feed, FEED);
  const first = await loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir });
  rmSync(feed);
  const second = await loadTrackerIndex(feed, {
    release: 'bookworm',
    cacheDir: dir,
    sha256: first.feedSha256 ?? '',
  });
  assert.equal(second.fromCache, true);
  assert.equal(second.count, first.count);
  await assert.rejects(
    loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir }),
    (e) => isBulwarkError(e, 'BULWARK_USAGE') && /cannot read the Debian tracker feed/.test(e.message),
  );
});

test('a changed feed replaces the cache, and a damaged or tampered cache is rebuilt', async (t) => {
  const dir = tempDir(t);
  const feed = join(dir, 'feed.json');
  writeFileSync(feed, FEED);
  const first = await loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir });
  const cacheFile = join(dir, `tracker-bookworm-${first.feedSha256}.idx.json`);
  // A hostile name smuggled into the cache must not come out of it.
  // The cache is a header line and one "source<TAB>rows" line per source: smuggle in a hostile source line.
  const cache = readFileSync(cacheFile, 'utf8');
  writeFileSync(
    cacheFile,
    `${cache}evil; touch /pwned\t${JSON.stringify([['CVE-2099-1', 0, '1.0-1', 5, -1, '']])}\n`,
  );
  const rebuilt = await loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir });
  assert.equal(rebuilt.fromCache, false);
  assert.equal(rebuilt.advisories.has('evil; touch /pwned'), false);
  writeFileSync(cacheFile, '{"kind": "bulwark.tracker-in');
  assert.equal((await loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir })).fromCache, false);
  // A new feed: the old cache file goes, the new one takes its place.
  const changed = JSON.parse(FEED) as Record<string, unknown>;
  delete changed['glibc'];
  writeFileSync(feed, JSON.stringify(changed));
  const next = await loadTrackerIndex(feed, { release: 'bookworm', cacheDir: dir });
  assert.equal(next.fromCache, false);
  assert.equal(next.advisories.has('glibc'), false);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.idx.json')),
    [`tracker-bookworm-${next.feedSha256}.idx.json`],
  );
});
