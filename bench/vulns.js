// Bench (issue #5): a synthetic tracker feed of the real one's shape and size (~75 MB) and a host of 800 installed
// binaries. Prints (1) load and index time of the feed for one release, cold, in-process (target < 1.5 s), (2) a
// full `bulwark vulns` as a whole process with the per-release index cached on disk (target < 150 ms), and peak
// memory of both. The host is this machine with a generated dpkg database (--admindir), so apt is not asked: apt's
// own observations (apt-get -s upgrade, apt-cache) cost seconds on a host with full Debian lists and are left out.
// Run: `npm run build --silent && node bench/vulns.js`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './gen-tracker-feed.js';
import { describeNodeStart } from './node-start.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
// The installed command (bin/bulwark), started the way a shell starts it.
const cli = join(root, 'bin', 'bulwark');
const runs = Number(process.env['BENCH_RUNS'] ?? 21);
const work = process.env['BENCH_DIR'] ?? join(tmpdir(), 'bulwark-bench-vulns');

if (!existsSync(join(work, 'tracker.json')) || !existsSync(join(work, 'dpkg', 'status'))) {
  rmSync(work, { recursive: true, force: true });
  const g = generate(work);
  console.log(
    `generated: ${(g.feedBytes / 1e6).toFixed(1)} MB feed, ${g.packages} source packages, ${g.issues} issue entries; ${g.binaries} installed binaries`,
  );
}
const feed = join(work, 'tracker.json');
console.log(`feed: ${(statSync(feed).size / 1e6).toFixed(1)} MB at ${feed}`);

// (1) Load and index, cold (no index cache), each in a fresh process so memory is measured alone.
const loader = `
import { loadTrackerIndex } from ${JSON.stringify(join(root, 'dist', 'vulns', 'tracker.js'))};
const t0 = performance.now();
const index = await loadTrackerIndex(${JSON.stringify(feed)}, { release: 'bookworm' });
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, count: index.count, sources: index.advisories.size, maxRssKb: process.resourceUsage().maxRSS }));
`;
const loads = [];
for (let i = 0; i < 5; i++) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', loader], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  loads.push(JSON.parse(r.stdout));
}
loads.sort((a, b) => a.ms - b.ms);
const load = loads[Math.floor(loads.length / 2)];
console.log(
  `load + index (bookworm), cold, 5 runs: median ${load.ms.toFixed(0)} ms, min ${loads[0].ms.toFixed(0)} ms; ${load.count} advisories of ${load.sources} sources; peak RSS ${(load.maxRssKb / 1024).toFixed(0)} MB`,
);
console.log(`target: load and index under 1500 ms -> ${load.ms < 1500 ? 'MET' : 'NOT MET'}`);

// (2) The whole process, as after `bulwark vulns update`: the feed and its metadata in the cache directory.
const cache = join(work, 'cache');
rmSync(cache, { recursive: true, force: true });
mkdirSync(cache, { recursive: true });
const bytes = readFileSync(feed);
writeFileSync(join(cache, 'tracker.json'), bytes);
const at = new Date().toISOString();
writeFileSync(
  join(cache, 'tracker.meta.json'),
  JSON.stringify({
    url: 'bench',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    downloadedAt: at,
    checkedAt: at,
  }),
);
const args = [
  'vulns',
  '--target',
  'local',
  '--admindir',
  join(work, 'dpkg'),
  '--cache-dir',
  cache,
  '--json',
  '--no-distinct-exit',
];
const vulns = () => {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cli, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`vulns exited ${r.status}: ${r.stderr}`);
  const rssKb = Number(r.stderr.trim().split('\n').pop());
  return { ms, rssKb, report: JSON.parse(r.stdout) };
};
const first = vulns(); // builds the index cache
console.log(
  `first run (builds the index cache): ${first.ms.toFixed(0)} ms, peak RSS ${(first.rssKb / 1024).toFixed(0)} MB`,
);
const times = [];
let rss = 0;
let report = first.report;
for (let i = 0; i < runs; i++) {
  const v = vulns();
  times.push(v.ms);
  rss = Math.max(rss, v.rssKb);
  report = v.report;
}
times.sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
const median = pct(50);
const binaries = report.results.reduce((n, r) => n + r.tags.binaries.length, 0);
console.log(
  `bulwark vulns, whole process, index cached, ${runs} runs: median ${median.toFixed(0)} ms, p90 ${pct(90).toFixed(0)} ms, min ${times[0].toFixed(0)} ms; peak RSS ${(rss / 1024).toFixed(0)} MB; ${report.results.length} vulnerable sources (${binaries} binaries) of 800 binaries; ${report.hosts[0].roundTrips} round trip(s), in-process ${report.hosts[0].durationMs.toFixed(0)} ms`,
);
console.log(`target: under 150 ms median -> ${median < 150 ? 'MET' : 'NOT MET'}`);
console.log(describeNodeStart());
