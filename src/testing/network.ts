/**
 * A real network for test hosts that never touches this machine's own interfaces, addresses or routes. One
 * "network" namespace per test run (`bwn-<pid>-<rand>`) holds a bridge with the client address 198.51.100.1/24;
 * every attached test host gets a veth pair whose host end is its `eth0` with 198.51.100.N/24. This process lives in
 * the root network namespace and cannot join another, so a test file that needs the network re-runs itself inside
 * the network namespace (`enterTestNetwork`); the run outside only creates the namespace, waits and removes it.
 * Also here: an sshd started inside a test host and per-run client key pairs. Test-only; Node built-ins only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestHost } from './host.js';

/** The test subnet (TEST-NET-2); this machine uses 192.0.2.0/24 and fd00::/64, which must never be assigned. */
export const TEST_SUBNET = '198.51.100.0/24';
/** The address of the side that runs the tests (the bridge in the network namespace). */
export const CLIENT_ADDRESS = '198.51.100.1';
/** An address in the test subnet that is never assigned, so nothing answers there. */
export const UNUSED_ADDRESS = '198.51.100.254';

const ENV_NETNS = 'BULWARK_TEST_NETNS';
const PREFIX = 'bwn-';

/** One test network: a namespace with a bridge that test hosts are attached to. */
export interface TestNetwork {
  /** The network namespace name (under /run/netns) the tests run in. */
  readonly netns: string;
  /** Connects a test host to the bridge and returns its address; its `eth0` gets 198.51.100.N/24. */
  attach(host: TestHost): string;
}

function ip(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Creates the network namespace with its bridge; the caller removes it with `removeTestNetwork`. */
export function createTestNetwork(): string {
  const netns = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  ip(['netns', 'add', netns]);
  try {
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', netns, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', netns, 'addr', 'add', `${CLIENT_ADDRESS}/24`, 'dev', 'br0']);
    ip(['-n', netns, 'link', 'set', 'br0', 'up']);
  } catch (e) {
    removeTestNetwork(netns);
    throw e;
  }
  return netns;
}

/** Removes a network namespace made by `createTestNetwork`; the veth ends in it and their peers go with it. */
export function removeTestNetwork(netns: string): void {
  if (!netns.startsWith(PREFIX)) throw new Error(`${netns} is not a test network`);
  spawnSync('ip', ['netns', 'del', netns]);
}

/** Removes test networks whose creating process is gone (a run that was killed). */
export function cleanupStaleNetworks(): void {
  if (!existsSync('/run/netns')) return;
  for (const name of readdirSync('/run/netns')) {
    const m = /^bwn-(\d+)-[0-9a-f]+$/.exec(name);
    if (m?.[1] !== undefined && !existsSync(`/proc/${m[1]}`)) removeTestNetwork(name);
  }
}

/** The network this process runs in, when it was started by `enterTestNetwork`. */
function joinTestNetwork(netns: string): TestNetwork {
  let next = 10;
  return {
    netns,
    attach(host) {
      const n = next++;
      if (n > 250) throw new Error('the test network has no addresses left');
      const address = `198.51.100.${n}`;
      const outer = `h${n}`;
      ip(['-n', netns, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns]);
      ip(['-n', netns, 'link', 'set', outer, 'master', 'br0']);
      ip(['-n', netns, 'link', 'set', outer, 'up']);
      ip(['-n', host.netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', host.netns, 'link', 'set', 'eth0', 'up']);
      return address;
    },
  };
}

/**
 * Runs the calling test file inside a fresh test network. Outside one, it creates the network, runs `file` again
 * in it with the same Node flags and environment (the test runner reads the inner run's output as this file's),
 * removes the network and exits with the inner run's status: it never returns there. Inside, it returns the network.
 */
export async function enterTestNetwork(file: string): Promise<TestNetwork> {
  const inside = process.env[ENV_NETNS];
  if (inside !== undefined && inside !== '') return joinTestNetwork(inside);
  cleanupStaleNetworks();
  const netns = createTestNetwork();
  let child: ChildProcess | undefined;
  const forward = (signal: NodeJS.Signals): void => {
    child?.kill(signal);
  };
  process.on('SIGINT', forward).on('SIGTERM', forward);
  try {
    child = spawn(
      'nsenter',
      [`--net=/run/netns/${netns}`, process.execPath, ...process.execArgv, file, ...process.argv.slice(2)],
      { stdio: 'inherit', env: { ...process.env, [ENV_NETNS]: netns } },
    );
    const status = await new Promise<number>((resolve) => {
      child?.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
      child?.on('error', () => resolve(1));
    });
    process.exitCode = status;
  } finally {
    removeTestNetwork(netns);
  }
  process.exit();
}

/** A client key pair for a test run, in the formats OpenSSH uses. */
export interface ClientKey {
  /** The private key in OpenSSH's `openssh-key-v1` format, unencrypted. */
  readonly privateKey: string;
  /** The public key as one authorized_keys line. */
  readonly publicKey: string;
}

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** Generates an ed25519 key pair and writes it the way `ssh-keygen -t ed25519 -N ''` would. */
export function generateClientKey(comment = 'bulwark-test'): ClientKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const nkeys = Buffer.alloc(4);
  nkeys.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    nkeys,
    sshString(blob),
    sshString(secret),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
  };
}

/** Options for an sshd in a test host. */
export interface SshServerOptions {
  /** Public keys (authorized_keys lines) that may log in as root. @default none */
  readonly rootKeys?: readonly string[];
  /** Extra sshd_config lines. @default none */
  readonly config?: readonly string[];
}

/** An sshd running inside a test host. */
export interface TestSshServer {
  /** The address it listens on, port 22. */
  readonly address: string;
  /** The host's public host key, as a `type base64` pair. */
  readonly hostKey: string;
  /** Kills sshd and every session it serves, at once (connections drop without a goodbye). */
  kill(): Promise<void>;
  /** Makes new host keys and restarts sshd, as a reinstalled host would. */
  rekey(): Promise<string>;
}

// sudo warns on stderr when the host's own name does not resolve; a real host lists it in /etc/hosts.
const SETUP_SCRIPT = `set -eu
umask 022
printf '127.0.1.1 %s\\n' "$(hostname)" >> /etc/hosts
mkdir -p /run/sshd /root/.ssh
chmod 0700 /root/.ssh
cat > /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
`;

const REKEY_SCRIPT = `set -eu
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -C '' -f /etc/ssh/ssh_host_ed25519_key
`;

// Every sshd in the host is one this helper started: the host has its own PID namespace.
// Killed ones stay as zombies (the host's first process reaps nothing), so only live ones count.
const KILL_SCRIPT = `live() { ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 == "sshd" { print $1 }'; }
for p in $(live); do kill -KILL "$p" 2>/dev/null || :; done
n=0
while [ -n "$(live)" ]; do n=$((n + 1)); [ $n -lt 250 ] || exit 1; sleep 0.02; done`;

async function must(host: TestHost, script: string, what: string): Promise<string> {
  const r = await host.sh(script);
  if (r.exitCode !== 0) throw new Error(`${what} failed: ${r.stderr.toString('utf8')}`);
  return r.stdout.toString('utf8');
}

async function listening(host: TestHost, address: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const r = await host.sh(`ss -Hltn 'sport = :22' | grep -qF ${address}:22`);
    if (r.exitCode === 0) return;
    await sleep(20);
  }
  throw new Error(`sshd in test host ${host.id} did not start listening on ${address}:22`);
}

/**
 * Attaches `host` to `network`, gives it a fresh ed25519 host key and starts `sshd -D -e` inside it on port 22.
 * The sshd dies with the host; `kill` ends it earlier.
 */
export async function startSshServer(
  host: TestHost,
  network: TestNetwork,
  options: SshServerOptions = {},
): Promise<TestSshServer> {
  const address = network.attach(host);
  const setup = await host.transport.exec(['/bin/sh', '-c', SETUP_SCRIPT], {
    stdin: (options.rootKeys ?? []).map((k) => `${k}\n`).join(''),
  });
  if (setup.exitCode !== 0) throw new Error(`sshd setup failed: ${setup.stderr.toString('utf8')}`);
  const config = [
    `ListenAddress=${address}:22`,
    'HostKey=/etc/ssh/ssh_host_ed25519_key',
    'UseDNS=no',
    ...(options.config ?? []),
  ];
  const start = async (): Promise<string> => {
    await must(host, REKEY_SCRIPT, 'making host keys');
    const sshd = spawn(
      host.enter[0] ?? 'nsenter',
      [
        ...host.enter.slice(1),
        'chroot',
        host.root,
        '/usr/sbin/sshd',
        '-D',
        '-e',
        ...config.flatMap((c) => ['-o', c]),
      ],
      { stdio: ['ignore', 'ignore', process.env['BULWARK_TEST_SSHD_LOG'] === '1' ? 'inherit' : 'ignore'] },
    );
    sshd.unref();
    await listening(host, address);
    const line = readFileSync(join(host.root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8');
    return line.split(' ').slice(0, 2).join(' ');
  };
  const kill = async (): Promise<void> => {
    await must(host, KILL_SCRIPT, 'killing sshd');
  };
  const server = {
    address,
    hostKey: await start(),
    kill,
    rekey: async () => {
      await kill();
      server.hostKey = await start();
      return server.hostKey;
    },
  };
  return server;
}

/** A scratch directory for an SSH test file, removed when the process exits, holding two client keys. */
export interface ClientKeyFiles {
  readonly work: string;
  /** The key tests log in with; its public half goes into the hosts' authorized_keys. */
  readonly clientKey: ClientKey;
  readonly keyFile: string;
  /** A second private key no host knows, for authentication failures. */
  readonly otherKeyFile: string;
}

/** Creates the scratch directory and the client key files an SSH test file needs. */
export function clientKeyFiles(prefix: string): ClientKeyFiles {
  const work = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  const clientKey = generateClientKey();
  const keyFile = join(work, 'id_ed25519');
  writeFileSync(keyFile, clientKey.privateKey, { mode: 0o600 });
  const otherKeyFile = join(work, 'id_other');
  writeFileSync(otherKeyFile, generateClientKey().privateKey, { mode: 0o600 });
  return { work, clientKey, keyFile, otherKeyFile };
}
