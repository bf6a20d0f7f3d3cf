// Bench (issue #4): a fleet of test hosts with sshd on one test network, reached over real SSH through the real
// CLI. Times, as whole processes: the first converge of examples/hardening.ts, a no-op converge of every host and
// an audit of every host with the bundled baseline; prints round trips per host and the peak memory of each run.
// Targets: no-op converge and audit of 50 hosts under 10 s each, round trips per host constant (1).
// Run as root: `npm run build --silent && node bench/fleet.js` (BENCH_HOSTS=N for another fleet size,
// BENCH_CONCURRENCY=N to pass --concurrency). The run re-executes itself inside a fresh test network namespace.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// The installed command (bin/bulwark), started the way a shell starts it.
const cli = join(here, '..', 'bin', 'bulwark');
const cookbook = join(here, '..', 'examples', 'hardening.ts');
const wanted = Number(process.env['BENCH_HOSTS'] ?? 50);
const concurrency = process.env['BENCH_CONCURRENCY'];

if (process.getuid?.() !== 0) {
  console.error('bench/fleet.js needs root: it creates test hosts and a network namespace.');
  process.exit(1);
}

const { createTestHost } = await import('../dist/testing/host.js');
const { enterTestNetwork, generateClientKey, startSshServer } = await import('../dist/testing/network.js');
// Outside the test network this creates one, runs this file again inside it, removes it and exits.
const network = await enterTestNetwork(fileURLToPath(import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'bulwark-fleet-bench-'));
const hosts = [];
let tearingDown;
const teardown = () => {
  tearingDown ??= Promise.allSettled(hosts.map((h) => h.destroy())).then(() =>
    rmSync(work, { recursive: true, force: true }),
  );
  return tearingDown;
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    void teardown().then(() => process.exit(130));
  });
}

const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Runs the CLI as its own process; returns wall time, exit status, the JSON report and the peak RSS. */
function bulwark(args) {
  const memFile = join(work, 'mem');
  rmSync(memFile, { force: true });
  const env = { ...process.env, NO_COLOR: '1' };
  delete env['SSH_AUTH_SOCK'];
  // /usr/bin/time -v reports the child's peak resident set; without it, a wrapper reads resourceUsage().
  const argv =
    time !== undefined
      ? [time, ['-f', '%U %S %M', '-o', memFile, cli, ...args]]
      : [
          process.execPath,
          [
            '-e',
            `const r = require('node:child_process').spawnSync(process.argv[1], process.argv.slice(2), { stdio: 'inherit' });
             require('node:fs').writeFileSync(${JSON.stringify(memFile)}, String(process.resourceUsage().maxRSS));
             process.exit(r.status ?? 1);`,
            cli,
            ...args,
          ],
        ];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv[1], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) => {
      const ms = performance.now() - t0;
      const stdout = Buffer.concat(out).toString('utf8');
      let report;
      try {
        report = JSON.parse(stdout);
      } catch {
        reject(new Error(`bulwark ${args[0]} exited ${status}: ${Buffer.concat(err).toString()}${stdout}`));
        return;
      }
      // "user system peak" from /usr/bin/time, or the peak alone from the wrapper.
      const words =
        (existsSync(memFile) ? readFileSync(memFile, 'utf8') : '').trim().split('\n').pop()?.split(' ') ?? [];
      const peakKiB = words.length > 0 ? Number(words[words.length - 1]) : undefined;
      const cpu = words.length === 3 ? Number(words[0]) + Number(words[1]) : undefined;
      resolve({ status, ms, report, peakKiB, cpu, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

const cpuOf = (run) => (run.cpu === undefined ? '' : `, client CPU ${run.cpu.toFixed(2)} s`);
const mib = (kib) => (kib === undefined || Number.isNaN(kib) ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`);
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const range = (list) => {
  const min = Math.min(...list);
  const max = Math.max(...list);
  return min === max ? `${min}` : `min ${min} / max ${max}`;
};

try {
  const key = generateClientKey('bulwark-bench');
  const keyFile = join(work, 'id_ed25519');
  writeFileSync(keyFile, key.privateKey, { mode: 0o600 });
  // Hosts start in batches; a host that cannot be made (machine limits) ends the fleet at the size reached.
  const t0 = performance.now();
  const servers = [];
  let limit;
  for (let i = 0; i < wanted && limit === undefined; i += 10) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(10, wanted - i) }, async () => {
        const host = await createTestHost();
        hosts.push(host);
        // The hardening cookbook forbids root logins in sshd_config; the command line keeps key logins open.
        return startSshServer(host, network, {
          rootKeys: [key.publicKey],
          config: ['PermitRootLogin=prohibit-password'],
        });
      }),
    );
    for (const r of batch) {
      if (r.status === 'fulfilled') servers.push(r.value);
      else limit ??= r.reason instanceof Error ? r.reason.message : String(r.reason);
    }
  }
  const n = servers.length;
  if (limit !== undefined) console.log(`only ${n} of ${wanted} hosts could be started: ${limit}`);
  console.log(`fleet: ${n} test hosts with sshd started in ${secs(performance.now() - t0)}`);
  const knownHosts = join(work, 'known_hosts');
  const inventory = join(work, 'inventory.yaml');
  writeFileSync(
    inventory,
    [
      'defaults:',
      `  key: ${JSON.stringify(keyFile)}`,
      `  knownHosts: ${JSON.stringify(knownHosts)}`,
      'hosts:',
      ...servers.map((s, i) => `  host${String(i + 1).padStart(2, '0')}: { address: ${s.address} }`),
    ].join('\n') + '\n',
  );
  const fleetArgs = [
    '--inventory',
    inventory,
    '--json',
    ...(concurrency ? ['--concurrency', concurrency] : []),
  ];

  const convergeTrips = (report) => report.hosts.map((h) => h.report?.roundTrips ?? NaN);
  const check = (what, run, expected) => {
    if (run.status !== expected) {
      const bad = (run.report.hosts ?? []).filter((h) => h.status === 'error' || h.error !== undefined);
      throw new Error(
        `${what} exited ${run.status}: ${run.stderr}${JSON.stringify(bad.slice(0, 3)).slice(0, 2000)}`,
      );
    }
  };

  const first = await bulwark(['converge', cookbook, ...fleetArgs, '--accept-new-host-keys']);
  check('the first converge', first, 0);
  const s1 = first.report.summary;
  console.log(
    `first converge of ${n} hosts: ${secs(first.ms)} (${s1.changed} hosts changed, ${s1.resources.changed} resources changed); ` +
      `round trips per host ${range(convergeTrips(first.report))}; peak memory ${mib(first.peakKiB)}${cpuOf(first)}`,
  );

  const noop = await bulwark(['converge', cookbook, ...fleetArgs]);
  check('the no-op converge', noop, 0);
  const changed = noop.report.summary.resources.changed;
  const noopTrips = convergeTrips(noop.report);
  console.log(
    `no-op converge of ${n} hosts: ${secs(noop.ms)} (${changed} changed); round trips per host ${range(noopTrips)}; ` +
      `peak memory ${mib(noop.peakKiB)}${cpuOf(noop)} -> target < 10 s ${noop.ms < 10_000 && changed === 0 ? 'MET' : 'NOT MET'}`,
  );

  const audit = await bulwark(['audit', ...fleetArgs]);
  check('the audit', audit, 0);
  const auditTrips = audit.report.hosts.map((h) => h.roundTrips);
  const sa = audit.report.summary;
  console.log(
    `audit of ${n} hosts with the baseline: ${secs(audit.ms)} (${sa.total} results: ${sa.passed} passed, ${sa.failed} failed); ` +
      `round trips per host ${range(auditTrips)}; peak memory ${mib(audit.peakKiB)}${cpuOf(audit)} -> target < 10 s ${audit.ms < 10_000 ? 'MET' : 'NOT MET'}`,
  );
  const constant = [...noopTrips, ...auditTrips].every((t) => t === 1);
  console.log(
    `round trips constant (1 per host for the no-op converge and the audit): ${constant ? 'YES' : 'NO'}; ` +
      `concurrency ${concurrency ?? 'default (16)'}; memory measured with ${time === undefined ? 'process.resourceUsage' : '/usr/bin/time'}`,
  );
  if (!constant || noop.ms >= 10_000 || audit.ms >= 10_000) process.exitCode = 1;
} finally {
  await teardown();
}
