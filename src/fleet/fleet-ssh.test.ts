/**
 * Fleet runs over real SSH, through the real CLI: test hosts with sshd on a test network (this file re-runs itself
 * inside the network namespace, see testing/network.ts), an inventory, then converge and audit of the whole fleet,
 * one round trip per host for a no-op run, per-host isolation of every connection fault, a connection dropped in
 * the middle of a converge, and inventories refused before anything runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestHost, type TestHost } from '../testing/host.js';
import {
  UNUSED_ADDRESS,
  enterTestNetwork,
  clientKeyFiles,
  startSshServer,
  type TestSshServer,
} from '../testing/network.js';
import { fingerprint } from '../transports/known-hosts.js';

const network = await enterTestNetwork(fileURLToPath(import.meta.url));

const CLI = fileURLToPath(new URL('../../bin/bulwark.js', import.meta.url));
const HARDENING = fileURLToPath(new URL('../../examples/hardening.ts', import.meta.url));
const SLOW = fileURLToPath(new URL('../../test/fixtures/fleet-ssh/slow.ts', import.meta.url));

const { work, clientKey, keyFile, otherKeyFile } = clientKeyFiles('bulwark-fleet-ssh-');
let files = 0;

/** A test host with sshd on the test network. */
interface SshHost {
  readonly host: TestHost;
  readonly server: TestSshServer;
}

// examples/hardening.ts sets PermitRootLogin no in sshd_config and reloads sshd; the test logs in as root with a
// key, so the command line (which wins over the file, also after a reload) keeps key logins for root open.
const SSHD_CONFIG = ['PermitRootLogin=prohibit-password'];

// A login user whose sudo asks for a password.
const SUDO_USER_SCRIPT = `set -eu
useradd -m -s /bin/bash bob
mkdir -p /home/bob/.ssh
printf '%s\\n' "$1" > /home/bob/.ssh/authorized_keys
chown -R bob:bob /home/bob/.ssh
chmod 0700 /home/bob/.ssh
echo 'bob ALL=(ALL) ALL' > /etc/sudoers.d/bob
chmod 0440 /etc/sudoers.d/bob
printf 'bob:%s\\n' "$2" | chpasswd
`;

const made: TestHost[] = [];
async function sshHost(options: { sudoUser?: boolean } = {}): Promise<SshHost> {
  const host = await createTestHost();
  made.push(host);
  const server = await startSshServer(host, network, {
    rootKeys: [clientKey.publicKey],
    config: SSHD_CONFIG,
  });
  if (options.sudoUser === true) {
    const r = await host.transport.exec([
      '/bin/sh',
      '-c',
      SUDO_USER_SCRIPT,
      'sh',
      clientKey.publicKey,
      'the right password',
    ]);
    assert.equal(r.exitCode, 0, r.stderr.toString());
  }
  return { host, server };
}

// The fleet: four healthy hosts, and one host per connection fault.
let healthy: SshHost[] = [];
let wrongKey: SshHost;
let rekeyed: SshHost;
let unknown: SshHost;
let sudoWrong: SshHost;

before(async () => {
  const all = await Promise.all([
    sshHost(),
    sshHost(),
    sshHost(),
    sshHost(),
    sshHost(),
    sshHost(),
    sshHost(),
    sshHost({ sudoUser: true }),
  ]);
  healthy = all.slice(0, 4);
  [wrongKey, rekeyed, unknown, sudoWrong] = all.slice(4) as [SshHost, SshHost, SshHost, SshHost];
});
after(() => Promise.all(made.map((h) => h.destroy())));

function knownHostsLine(h: SshHost): string {
  return `${h.server.address} ${h.server.hostKey}\n`;
}

function writeFile(name: string, text: string): string {
  const file = join(work, `${files++}-${name}`);
  writeFileSync(file, text);
  return file;
}

/** An inventory of `hosts` (name -> address and extra YAML flow-mapping fields), every host with the test key. */
function inventory(hosts: readonly (readonly [string, string, string?])[], knownHosts: string): string {
  return writeFile(
    'inventory.yaml',
    [
      'defaults:',
      `  key: ${JSON.stringify(keyFile)}`,
      `  knownHosts: ${JSON.stringify(knownHosts)}`,
      'hosts:',
      ...hosts.map(
        ([name, address, extra]) =>
          `  ${name}: { address: ${JSON.stringify(address)}${extra === undefined ? '' : `, ${extra}`} }`,
      ),
    ].join('\n') + '\n',
  );
}

function healthyHosts(): [string, string][] {
  return healthy.map((h, i) => [`web${i + 1}`, h.server.address]);
}

interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown>;
}

/** Runs the real CLI from inside the test network; `env` adds variables (SSH_AUTH_SOCK is never passed on). */
function bulwark(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  delete childEnv['SSH_AUTH_SOCK'];
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      const stdout = Buffer.concat(out).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        // not JSON: the assertions show the text
      }
      resolve({ status, stdout, stderr: Buffer.concat(err).toString('utf8'), json });
    });
  });
}

interface FleetHost {
  name: string;
  status: string;
  error?: { code: string; message: string };
  report?: {
    roundTrips: number;
    summary: { changed: number; failed: number };
    resources: { address: string; status: string; error?: { code: string; message: string } }[];
  };
}

function fleetHosts(run: CliRun): FleetHost[] {
  const hosts = run.json['hosts'];
  assert.ok(Array.isArray(hosts), `no fleet report (exit ${run.status}): ${run.stderr}${run.stdout}`);
  return hosts as FleetHost[];
}

function show(run: CliRun): string {
  return `exit ${run.status}\n${run.stderr}\n${run.stdout.slice(0, 4000)}`;
}

// Round trips of each host's first converge of examples/hardening.ts, kept for the bound checked further down.
let firstConvergeTrips: number[] = [];

test('a fleet converges over SSH, a second converge changes nothing in one round trip per host, and the baseline audit passes in one', async (t) => {
  const knownHosts = join(work, `${files++}-known_hosts`);
  const inv = inventory(healthyHosts(), knownHosts);

  const first = await bulwark([
    'converge',
    HARDENING,
    '--inventory',
    inv,
    '--accept-new-host-keys',
    '--json',
  ]);
  assert.equal(first.status, 0, show(first));
  const firstHosts = fleetHosts(first);
  assert.deepEqual(
    firstHosts.map((h) => [h.name, h.status]),
    healthyHosts().map(([name]) => [name, 'changed']),
  );
  firstConvergeTrips = firstHosts.map((h) => h.report?.roundTrips ?? NaN);
  t.diagnostic(`first converge round trips: ${firstConvergeTrips.join(' ')}`);
  for (const h of firstHosts) {
    assert.ok((h.report?.roundTrips ?? 0) >= 2, `${h.name}: ${h.report?.roundTrips} round trips`);
    assert.ok((h.report?.summary.changed ?? 0) > 0);
  }
  // Every new host key was recorded, once each.
  assert.deepEqual(
    readFileSync(knownHosts, 'utf8').split('\n').filter(Boolean).sort(),
    healthy.map((h) => knownHostsLine(h).trim()).sort(),
  );
  for (const h of healthy) {
    const banner = await h.host.sh('cat /etc/issue.net; stat -c %a /etc/ssh/sshd_config');
    assert.equal(
      banner.stdout.toString(),
      'Authorised use only. Activity on this system is monitored and recorded.\n600\n',
    );
  }

  // Without --accept-new-host-keys now: the keys are known.
  const again = await bulwark(['converge', HARDENING, '--inventory', inv, '--json']);
  assert.equal(again.status, 0, show(again));
  const againHosts = fleetHosts(again);
  assert.deepEqual(
    againHosts.map((h) => [h.name, h.status, h.report?.summary.changed, h.report?.roundTrips]),
    healthyHosts().map(([name]) => [name, 'ok', 0, 1]),
  );

  const audit = await bulwark(['audit', '--inventory', inv, '--json']);
  assert.equal(audit.status, 0, show(audit));
  const hosts = audit.json['hosts'] as { name: string; roundTrips: number; error?: unknown }[];
  assert.deepEqual(
    hosts.map((h) => [h.name, h.roundTrips, h.error]),
    healthyHosts().map(([name]) => [name, 1, undefined]),
  );
  const results = audit.json['results'] as { host: string; address: string; status: string }[];
  const perHost = new Map<string, string[]>();
  for (const r of results) perHost.set(r.host, [...(perHost.get(r.host) ?? []), r.address]);
  assert.deepEqual(
    [...perHost.keys()].sort(),
    healthyHosts().map(([name]) => name),
  );
  const controls = perHost.get('web1') ?? [];
  assert.ok(controls.includes('control[ssh-01]') && controls.includes('control[svc-01]'), controls.join(' '));
  for (const list of perHost.values()) assert.deepEqual(list, controls, 'every host ran the same controls');
  assert.deepEqual(
    results.filter((r) => r.status !== 'passed'),
    [],
  );
  const summary = audit.json['summary'] as { failed: number; errors: number; skipped: number };
  assert.deepEqual([summary.failed, summary.errors, summary.skipped], [0, 0, 0]);
  t.diagnostic(`audit: ${results.length} results over ${hosts.length} hosts`);
});

// Issue #4: a converge takes one round trip to observe and one to apply, plus one for each point where an earlier
// change must be seen before later resources can be planned. In examples/hardening.ts, purging vsftpd removes its
// `ftp` account, so file[/etc/passwd] is found changed: the batch stops there and observes the rest anew. 3 in all,
// however many resources change (29 here; the 8 edits of sshd_config go in one batch, each checked against the
// file the one before wrote).
test('the first converge of the hardening cookbook takes three round trips per host over SSH', () => {
  assert.ok(firstConvergeTrips.length > 0, 'the fleet converge test did not run');
  for (const trips of firstConvergeTrips) assert.ok(trips <= 3, `${trips} round trips`);
});

test('in one fleet run, each connection fault fails only its own host, with its own code, and every other host completes', async () => {
  const oldKey = Buffer.from(rekeyed.server.hostKey.split(' ')[1] ?? '', 'base64');
  const knownHosts = writeFile(
    'known_hosts',
    [...healthy, wrongKey, rekeyed, sudoWrong].map(knownHostsLine).join(''),
  );
  const newKey = Buffer.from((await rekeyed.server.rekey()).split(' ')[1] ?? '', 'base64');
  assert.notDeepEqual(newKey, oldKey);
  const before = readFileSync(knownHosts, 'utf8');
  const inv = inventory(
    [
      ...healthyHosts(),
      ['unreachable', UNUSED_ADDRESS],
      ['wrong-key', wrongKey.server.address, `key: ${JSON.stringify(otherKeyFile)}`],
      ['rekeyed', rekeyed.server.address],
      ['unknown', unknown.server.address],
      [
        'sudo-wrong',
        sudoWrong.server.address,
        'user: bob, sudo: true, sudoPasswordEnv: BULWARK_TEST_SUDO_PW',
      ],
    ],
    knownHosts,
  );
  const started = Date.now();
  const run = await bulwark(['converge', HARDENING, '--inventory', inv, '--json'], {
    BULWARK_TEST_SUDO_PW: 'not the password',
  });
  assert.equal(run.status, 2, show(run));
  const hosts = fleetHosts(run);
  const byName = new Map(hosts.map((h) => [h.name, h]));
  for (const [name] of healthyHosts()) {
    const h = byName.get(name);
    assert.ok(h?.status === 'ok' || h?.status === 'changed', `${name}: ${JSON.stringify(h)}`);
    assert.equal(h.report?.summary.failed, 0);
  }
  const failures = hosts
    .filter((h) => h.status === 'error')
    .map((h) => [h.name, h.error?.code])
    .sort();
  assert.deepEqual(failures, [
    ['rekeyed', 'BULWARK_HOST_KEY_CHANGED'],
    ['sudo-wrong', 'BULWARK_SUDO_FAILED'],
    ['unknown', 'BULWARK_HOST_KEY_UNKNOWN'],
    ['unreachable', 'BULWARK_HOST_UNREACHABLE'],
    ['wrong-key', 'BULWARK_AUTH_FAILED'],
  ]);
  const message = (name: string): string => byName.get(name)?.error?.message ?? '';
  assert.ok(message('rekeyed').includes(fingerprint(newKey)), message('rekeyed'));
  assert.ok(message('rekeyed').includes(fingerprint(oldKey)), message('rekeyed'));
  assert.match(
    message('rekeyed'),
    new RegExp(`host key mismatch for ${rekeyed.server.address.replaceAll('.', '\\.')}`),
  );
  assert.match(message('unknown'), new RegExp(`${unknown.server.address.replaceAll('.', '\\.')} is unknown`));
  assert.match(message('wrong-key'), /authentication failed.*user root.*id_other/);
  assert.match(message('sudo-wrong'), /sudo as bob .*failed/);
  assert.match(
    message('unreachable'),
    new RegExp(`host unreachable: .*${UNUSED_ADDRESS.replaceAll('.', '\\.')}`),
  );
  const summary = run.json['summary'] as { hosts: number; errors: number; failed: number };
  assert.deepEqual([summary.hosts, summary.errors, summary.failed], [9, 5, 0]);
  // Neither the changed nor the unknown key was recorded, and nothing ran on the refused hosts.
  assert.equal(readFileSync(knownHosts, 'utf8'), before);
  for (const h of [wrongKey, rekeyed, unknown, sudoWrong]) {
    const r = await h.host.sh('cat /etc/issue.net 2>/dev/null || echo none');
    assert.doesNotMatch(r.stdout.toString(), /Authorised use only/);
  }
  assert.ok(Date.now() - started < 30_000, `the run took ${Date.now() - started} ms`);
});

const MANAGED: Readonly<Record<string, string>> = {
  '/etc/bulwark-fleet-a.conf': 'alpha\n'.repeat(2000),
  '/etc/bulwark-fleet-b.conf': 'bravo\n'.repeat(2000),
  '/etc/bulwark-fleet.d/c.conf': 'charlie\n',
};

/** The managed files of the slow cookbook on `h` (null when absent), and any temp file a write left behind. */
async function managedFiles(h: SshHost): Promise<{ files: Record<string, string | null>; temps: string }> {
  const out: Record<string, string | null> = {};
  for (const path of Object.keys(MANAGED)) {
    const r = await h.host.sh(`cat ${path}`);
    out[path] = r.exitCode === 0 ? r.stdout.toString() : null;
  }
  const temps = await h.host.sh(`find /etc /var/backups -name '*.bulwark.*' 2>/dev/null`);
  return { files: out, temps: temps.stdout.toString() };
}

test('a connection dropped in the middle of a converge fails that host only, leaves no half-written file, and a re-run converges it', async (t) => {
  const [victim, ...others] = healthy as [SshHost, ...SshHost[]];
  const knownHosts = writeFile('known_hosts', healthy.map(knownHostsLine).join(''));
  const inv = inventory(healthyHosts(), knownHosts);
  const running = bulwark(['converge', SLOW, '--inventory', inv, '--json']);
  // Kill the victim's sshd while its slow first step runs.
  let sleeping = false;
  for (let i = 0; i < 300 && !sleeping; i++) {
    sleeping =
      (await victim.host.sh('ps -eo stat=,args= | grep -v "^Z" | grep -q "[s]leep 3"')).exitCode === 0;
    if (!sleeping) await sleep(25);
  }
  assert.ok(sleeping, 'the slow step never started on the victim');
  await victim.server.kill();
  const run = await running;
  assert.ok(run.status === 2 || run.status === 3, show(run));
  const hosts = fleetHosts(run);
  const [first, ...rest] = hosts;
  assert.equal(first?.name, 'web1');
  assert.deepEqual(
    rest.map((h) => [h.name, h.status]),
    [
      ['web2', 'changed'],
      ['web3', 'changed'],
      ['web4', 'changed'],
    ],
  );
  // The victim failed with a reason that says the connection was lost.
  t.diagnostic(`the victim: ${first?.status} ${JSON.stringify(first?.error ?? first?.report?.resources)}`);
  if (first.status === 'error') {
    assert.equal(first.error?.code, 'BULWARK_CONNECTION_LOST', JSON.stringify(first));
    assert.match(first.error.message, /connection .* was lost/);
  } else {
    assert.equal(first.status, 'failed', JSON.stringify(first));
    const failed = first.report?.resources.filter((r) => r.status === 'failed') ?? [];
    assert.deepEqual(
      failed.map((r) => [r.address, r.error?.code]),
      [['execute[slow-step]', 'BULWARK_CONNECTION_LOST']],
      JSON.stringify(first.report?.resources),
    );
    assert.match(failed[0]?.error?.message ?? '', /connection .* was lost/);
  }
  for (const h of others) assert.deepEqual(await managedFiles(h), { files: MANAGED, temps: '' });
  const left = await managedFiles(victim);
  assert.equal(left.temps, '', 'a temporary file was left behind');
  for (const [path, content] of Object.entries(left.files))
    assert.ok(content === null || content === MANAGED[path], `${path} is half-written`);

  // sshd comes back (a new host key, recorded as an operator would), and a re-run converges the victim.
  await victim.server.rekey();
  writeFileSync(knownHosts, healthy.map(knownHostsLine).join(''));
  const rerun = await bulwark(['converge', SLOW, '--inventory', inv, '--json']);
  assert.equal(rerun.status, 0, show(rerun));
  assert.deepEqual(
    fleetHosts(rerun).map((h) => [h.name, h.status]),
    [
      ['web1', 'changed'],
      ['web2', 'ok'],
      ['web3', 'ok'],
      ['web4', 'ok'],
    ],
  );
  assert.deepEqual(await managedFiles(victim), { files: MANAGED, temps: '' });
});

test('an inventory with unknown keys, a duplicate host or a bad address is refused before any host is contacted', async () => {
  const [a, b] = healthyHosts() as [[string, string], [string, string]];
  const cases: Record<string, [string, RegExp]> = {
    'an unknown key': [
      `hosts:\n  ${a[0]}: { address: ${a[1]} }\n  ${b[0]}: { address: ${b[1]}, colour: blue }\n`,
      /host\[web2\] colour: unknown key/,
    ],
    'a duplicate host': [
      `hosts:\n  ${a[0]}: { address: ${a[1]} }\n  ${a[0]}: { address: ${b[1]} }\n`,
      /not valid YAML.*web1/s,
    ],
    'two hosts with one address': [
      `hosts:\n  ${a[0]}: { address: ${a[1]} }\n  ${b[0]}: { address: ${a[1]} }\n`,
      /host\[web2\] address: the same target as host web1/,
    ],
    'a bad address': [
      `hosts:\n  ${a[0]}: { address: ${a[1]} }\n  ${b[0]}: { address: "web 2; reboot" }\n`,
      /host\[web2\] address: .*is not a host name or address/,
    ],
  };
  for (const [what, [body, reason]] of Object.entries(cases)) {
    const knownHosts = join(work, `${files++}-never`, 'known_hosts');
    const inv = writeFile(
      'bad.yaml',
      `defaults:\n  key: ${JSON.stringify(keyFile)}\n  knownHosts: ${JSON.stringify(knownHosts)}\n${body}`,
    );
    for (const args of [
      ['converge', HARDENING, '--inventory', inv, '--accept-new-host-keys', '--json'],
      ['audit', '--inventory', inv, '--accept-new-host-keys', '--json'],
    ]) {
      const run = await bulwark(args);
      assert.equal(run.status, 1, `${what}: ${show(run)}`);
      const error = run.json['error'] as { code: string; message: string } | undefined;
      assert.equal(error?.code, 'BULWARK_INVENTORY_INVALID', `${what}: ${show(run)}`);
      assert.match(error.message, reason, what);
      assert.match(run.stderr, /error BULWARK_INVENTORY_INVALID: /);
      assert.equal(existsSync(knownHosts), false, `${what}: a host was contacted (its key was recorded)`);
    }
  }
});
