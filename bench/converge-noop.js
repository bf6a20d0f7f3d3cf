// Bench: converge the 30-resource hardening cookbook into a fresh test host, then time the no-op re-converge as a
// whole process (Node start, cookbook load, one probe, diff, report), the way a user or CI runs it.
// Target (issue #2): no-op converge under 300 ms median. Run as root: `npm run bench`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeNodeStart } from './node-start.js';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
// The installed command (bin/bulwark), started the way a shell starts it.
const cli = join(here, '..', 'bin', 'bulwark');
const cookbook = join(here, '..', 'examples', 'hardening.ts');
const runs = Number(process.env['BENCH_RUNS'] ?? 21);

const { createTestHost } = await import('../dist/testing/host.js');
const host = await createTestHost();
try {
  // vsftpd running, as in the seed story, so the first converge has real work to do.
  await host.sh('service vsftpd start >/dev/null');
  const converge = (extra = []) => {
    const t0 = performance.now();
    const r = spawnSync(
      host.enter[0],
      [
        ...host.enter.slice(1),
        cli,
        'converge',
        cookbook,
        '--target',
        `chroot:${host.root}`,
        '--json',
        ...extra,
      ],
      { encoding: 'utf8' },
    );
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`converge exited ${r.status}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
    return { ms, report: JSON.parse(r.stdout) };
  };
  const first = converge();
  if (process.env.BENCH_DEBUG)
    console.log(
      JSON.stringify(
        first.report.resources.filter((r) => r.status !== 'up-to-date'),
        null,
        1,
      ).slice(0, 6000),
    );
  const resources = first.report.resources.length;
  console.log(
    `first converge: ${first.report.summary.changed} changed of ${resources} resources in ${first.ms.toFixed(0)} ms (${first.report.roundTrips} round trips)`,
  );
  converge(); // warm the page cache and the type-check cache
  const times = [];
  let trips = 0;
  for (let i = 0; i < runs; i++) {
    const { ms, report } = converge();
    if (report.summary.changed !== 0)
      throw new Error(`no-op converge changed ${report.summary.changed} resources`);
    trips = report.roundTrips;
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  const median = pct(50);
  console.log(
    `no-op converge, whole process, ${runs} runs: median ${median.toFixed(0)} ms, p90 ${pct(90).toFixed(0)} ms, min ${times[0].toFixed(0)} ms; ${trips} round trip(s); ${resources} resources`,
  );
  console.log(`target: under 300 ms median -> ${median < 300 ? 'MET' : 'NOT MET'}`);
  console.log(describeNodeStart());
} finally {
  await host.destroy();
}
