// Bench: a 100-control profile audited against this machine, as a whole process (Node start included), the way
// a user runs `bulwark audit`. Target (issue #3): under 200 ms median, one round trip. Run: `npm run bench:audit`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeNodeStart } from './node-start.js';

const here = dirname(fileURLToPath(import.meta.url));
// The installed command (bin/bulwark), started the way a shell starts it.
const cli = join(here, '..', 'bin', 'bulwark');
const profile = join(here, 'profiles', 'audit-100.ts');
const runs = Number(process.env['BENCH_RUNS'] ?? 21);

const audit = () => {
  const t0 = performance.now();
  const r = spawnSync(cli, ['audit', profile, '--json', '--no-distinct-exit'], {
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`audit exited ${r.status}: ${r.stderr}`);
  return { ms, report: JSON.parse(r.stdout) };
};

const first = audit(); // type-checks and caches the bundle once
const { summary, hosts } = first.report;
console.log(
  `profile: ${summary.total} controls (${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped, ${summary.errors} errors)`,
);
const times = [];
for (let i = 0; i < runs; i++) times.push(audit().ms);
times.sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
const median = pct(50);
console.log(
  `audit of ${summary.total} controls, whole process, ${runs} runs: median ${median.toFixed(0)} ms, p90 ${pct(90).toFixed(0)} ms, min ${times[0].toFixed(0)} ms; ${hosts[0].roundTrips} round trip(s); in-process ${hosts[0].durationMs.toFixed(0)} ms`,
);
console.log(`target: under 200 ms median -> ${median < 200 ? 'MET' : 'NOT MET'}`);
console.log(describeNodeStart());
