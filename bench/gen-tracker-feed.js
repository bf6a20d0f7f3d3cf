// Generates a synthetic Debian Security Tracker feed with the shape and size of the real one (about 75 MB: some
// 8,000 source packages, about 100,000 issue entries, tens of thousands of distinct CVE ids, five releases each
// with status, repositories, fixed_version, urgency and nodsa fields), plus a dpkg database of 800 installed
// binaries (400 sources, two binaries each, some binNMUs and own epochs) whose sources appear in the feed.
// Deterministic (seeded). Usage: node bench/gen-tracker-feed.js OUTDIR  -> OUTDIR/tracker.json, OUTDIR/dpkg/status
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';

let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = (list) => list[Math.floor(rand() * list.length)];

const WORDS = [
  'buffer',
  'overflow',
  'in',
  'the',
  'parser',
  'allows',
  'remote',
  'attackers',
  'to',
  'cause',
  'a',
  'denial',
  'of',
  'service',
  'via',
  'crafted',
  'input',
  'use-after-free',
  'heap',
  'integer',
  'function',
  'memory',
];
const RELEASES = ['bullseye', 'bookworm', 'trixie', 'forky', 'sid'];
const URGENCIES = [
  'not yet assigned',
  'not yet assigned',
  'not yet assigned',
  'low',
  'medium',
  'high',
  'unimportant',
];

/** Source package names used by the feed; the first 400 are installed in the generated dpkg database. */
export function sourceName(i) {
  return `src${String(i).padStart(5, '0')}`;
}

export function generate(outDir, options = {}) {
  const packages = options.packages ?? 8000;
  const issuesPerPackage = options.issuesPerPackage ?? 12.5;
  mkdirSync(outDir, { recursive: true });
  const parts = ['{'];
  let cveCount = 0;
  for (let p = 0; p < packages; p++) {
    const name = sourceName(p);
    const n = Math.max(1, Math.round(issuesPerPackage * 2 * rand()));
    const issues = [];
    for (let k = 0; k < n; k++) {
      const id =
        rand() < 0.95
          ? `CVE-${2005 + Math.floor(rand() * 22)}-${10000 + Math.floor(rand() * 40000)}`
          : `TEMP-${String(Math.floor(rand() * 9999999)).padStart(7, '0')}-${Math.floor(rand() * 0xffffff)
              .toString(16)
              .toUpperCase()}`;
      cveCount++;
      const words = Array.from({ length: 20 + Math.floor(rand() * 25) }, () => pick(WORDS)).join(' ');
      const releases = {};
      for (const r of RELEASES) {
        const roll = rand();
        const urgency = pick(URGENCIES);
        const minor = 1 + Math.floor(rand() * 9);
        if (roll < 0.55)
          releases[r] = {
            status: 'resolved',
            repositories: { [r]: `1.${minor}-1` },
            fixed_version: `1.${minor}-1`,
            urgency,
          };
        else if (roll < 0.7)
          releases[r] = { status: 'resolved', repositories: { [r]: `1.0-1` }, fixed_version: '0', urgency };
        else if (roll < 0.85)
          releases[r] = {
            status: 'open',
            repositories: { [r]: `1.0-1` },
            urgency,
            nodsa: rand() < 0.5 ? 'Minor issue' : undefined,
            nodsa_reason: rand() < 0.3 ? 'postponed' : undefined,
          };
        else releases[r] = { status: 'undetermined', repositories: { [r]: `1.0-1` }, urgency };
      }
      issues.push(
        `${JSON.stringify(id)}:${JSON.stringify({ description: words, scope: rand() < 0.5 ? 'remote' : 'local', debianbug: Math.floor(rand() * 1e6), releases })}`,
      );
    }
    parts.push(`${p === 0 ? '' : ','}${JSON.stringify(name)}:{${issues.join(',')}}`);
  }
  parts.push('}');
  const feed = parts.join('');
  writeFileSync(join(outDir, 'tracker.json'), feed);

  // 800 installed binaries: sources 0..399, two binaries each, version 1.5-1 (so fixes 1.6..1.9 apply).
  const stanzas = [];
  for (let s = 0; s < 400; s++) {
    for (const [suffix, version, src] of [
      ['', '1.5-1', null],
      ['-bin', s % 7 === 0 ? '1.5-1+b2' : s % 11 === 0 ? '2:0.9-1' : '1.5-1', '1.5-1'],
    ]) {
      stanzas.push(
        [
          `Package: ${sourceName(s)}${suffix}`,
          'Status: install ok installed',
          'Priority: optional',
          'Section: misc',
          'Installed-Size: 10',
          'Maintainer: Bench <bench@example.invalid>',
          'Architecture: amd64',
          ...(src === null ? [] : [`Source: ${sourceName(s)} (${src})`]),
          `Version: ${version}`,
          'Description: bench package',
        ].join('\n'),
      );
    }
  }
  const dpkg = join(outDir, 'dpkg');
  mkdirSync(join(dpkg, 'updates'), { recursive: true });
  mkdirSync(join(dpkg, 'info'), { recursive: true });
  writeFileSync(join(dpkg, 'status'), stanzas.join('\n\n') + '\n');
  writeFileSync(join(dpkg, 'available'), '');
  return { feedBytes: Buffer.byteLength(feed), issues: cveCount, packages, binaries: stanzas.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2];
  if (out === undefined) {
    console.error('usage: node bench/gen-tracker-feed.js OUTDIR');
    process.exit(1);
  }
  console.log(generate(out));
}
