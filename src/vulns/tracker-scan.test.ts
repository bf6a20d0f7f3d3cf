// The fast structural reader must give exactly what JSON.parse gives for the wanted release, and refuse every
// truncation of a feed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isBulwarkError } from '../errors.js';
import { indexTrackerData } from './tracker.js';
import { scanTrackerRelease } from './tracker-scan.js';

const FEED = readFileSync(resolve('test/fixtures/vulns/tracker.json'), 'utf8');

/** What the scanner should produce: the parsed feed reduced to one release. */
function reduce(data: unknown, release: string): unknown {
  const out = Object.create(null) as Record<string, unknown>;
  for (const [pkg, issues] of Object.entries(data as Record<string, unknown>)) {
    if (typeof issues !== 'object' || issues === null || Array.isArray(issues)) {
      out[pkg] = null;
      continue;
    }
    const o = Object.create(null) as Record<string, unknown>;
    for (const [id, issue] of Object.entries(issues)) {
      if (typeof issue !== 'object' || issue === null || Array.isArray(issue)) {
        o[id] = null;
        continue;
      }
      const releases = (issue as Record<string, unknown>)['releases'];
      if (releases === undefined) o[id] = {};
      else if (typeof releases !== 'object' || releases === null || Array.isArray(releases)) {
        o[id] = { releases: null };
      } else {
        const entry = (releases as Record<string, unknown>)[release];
        o[id] = { releases: entry === undefined ? {} : { [release]: entry } };
      }
    }
    out[pkg] = o;
  }
  return out;
}

/** Compares ignoring prototypes (the scanner's nodes have none). */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

test('the scanner reads the fixture feed exactly as JSON.parse does, pretty-printed or compact', () => {
  for (const text of [FEED, JSON.stringify(JSON.parse(FEED))]) {
    for (const release of ['bookworm', 'trixie', 'bullseye']) {
      assert.deepEqual(
        plain(scanTrackerRelease(Buffer.from(text), release)),
        plain(reduce(JSON.parse(text), release)),
      );
    }
  }
});

test('the scanner gives the same index as the full parse', () => {
  const viaScan = indexTrackerData(scanTrackerRelease(Buffer.from(FEED), 'bookworm'), {
    release: 'bookworm',
  });
  const viaParse = indexTrackerData(JSON.parse(FEED), { release: 'bookworm' });
  assert.deepEqual(viaScan, viaParse);
});

test('escapes, nested arrays, odd whitespace, non-object values and __proto__ keys are read like JSON.parse', () => {
  const text = `
  { "p\\u006b\\u0067" : { "CVE-1\\"x" : { "description" : "a \\"quoted\\" {brace} [and] \\\\ backslash",
      "notes": [1, -2.5e3, true, null, {"a": ["}"]}],
      "releases" : { "book\\u0077orm" : { "status" : "open", "repositories" : { "bookworm" : "1-1" },
        "urgency" : "low" }, "sid": {"status": "open"} } },
    "__proto__": { "releases": { "bookworm": { "status": "undetermined" } } },
    "CVE-2": "not an object", "CVE-3": { "releases": [1] }, "CVE-4": {} },
    "weird": 12, "empty": {} }\n`;
  assert.deepEqual(
    plain(scanTrackerRelease(Buffer.from(text), 'bookworm')),
    plain(reduce(JSON.parse(text), 'bookworm')),
  );
  const skeleton = scanTrackerRelease(Buffer.from(text), 'bookworm') as Record<
    string,
    Record<string, unknown>
  >;
  assert.ok(Object.hasOwn(skeleton['pkg'] ?? {}, '__proto__'));
});

test('every truncation of the feed is refused as invalid JSON', () => {
  const bytes = Buffer.from(JSON.stringify(JSON.parse(FEED)));
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(
      () => scanTrackerRelease(bytes.subarray(0, cut), 'bookworm'),
      (e) => isBulwarkError(e, 'BULWARK_FEED_INVALID') && /not valid JSON/.test(e.message),
      `truncated at ${cut}`,
    );
  }
});

test('structural garbage down to the releases and trailing data are refused', () => {
  for (const bad of [
    '{"a" {}}',
    '{"a": {} "b": {}}',
    '{"a": {"CVE-1": {"releases": {"bookworm": {"status": "open",}}}}}',
    '{"a": {}}}',
    '{"a": {}} x',
    '{a: {}}',
    'nonsense',
  ]) {
    assert.throws(
      () => scanTrackerRelease(Buffer.from(bad), 'bookworm'),
      (e) => isBulwarkError(e, 'BULWARK_FEED_INVALID'),
      bad,
    );
  }
});
