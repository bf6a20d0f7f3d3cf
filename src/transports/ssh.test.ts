/**
 * The SSH transport over real SSH: real sshd in test hosts, reached over a test network (this file re-runs itself
 * inside the network namespace, see testing/network.ts). The transport contract as root and as a sudo user, host key
 * checking, authentication, unreachable hosts, dropped connections, jump hosts and chains of them (from options and
 * from an ssh config with Include and Match), and target parsing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshOptionsFrom } from '../cli/common.js';
import { BulwarkError, type ErrorCode } from '../errors.js';
import { resolveInventory } from '../fleet/inventory.js';
import { createTestHost, type TestHost } from '../testing/host.js';
import {
  UNUSED_ADDRESS,
  enterTestNetwork,
  clientKeyFiles,
  startSshServer,
  type TestSshServer,
} from '../testing/network.js';
import { transportContract } from './contract.js';
import { openTarget } from './index.js';
import { fingerprint } from './known-hosts.js';
import { LocalTransport } from './local.js';
import {
  MAX_JUMP_HOPS,
  SshTransport,
  parseJumpHosts,
  parseSshTarget,
  remoteCommand,
  type SshOptions,
} from './ssh.js';

const network = await enterTestNetwork(fileURLToPath(import.meta.url));

const { work, clientKey, keyFile, otherKeyFile } = clientKeyFiles('bulwark-ssh-test-');
let files = 0;

/** A test host running sshd, with a known_hosts file that knows its key. */
interface SshHost {
  readonly host: TestHost;
  readonly server: TestSshServer;
  readonly knownHosts: string;
  /** Opens a transport to `user@address` with the test key and this host's known_hosts, plus `options`. */
  open(user: string, options?: SshOptions): SshTransport;
}

// A login user with passwordless sudo, and one whose sudo asks for the password.
const USERS_SCRIPT = `set -eu
for u in alice bob; do
  useradd -m -s /bin/bash "$u"
  mkdir -p "/home/$u/.ssh"
  printf '%s\\n' "$1" > "/home/$u/.ssh/authorized_keys"
  chown -R "$u:$u" "/home/$u/.ssh"
  chmod 0700 "/home/$u/.ssh"
done
echo 'alice ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/alice
echo 'bob ALL=(ALL) ALL' > /etc/sudoers.d/bob
printf 'bob:%s\\n' "$2" | chpasswd
`;
const BOB_PASSWORD = "b0b's p@ss $(word) ;";

async function sshHost(options: { users?: boolean } = {}): Promise<SshHost & { destroy(): Promise<void> }> {
  const host = await createTestHost();
  const opened: SshTransport[] = [];
  try {
    const server = await startSshServer(host, network, { rootKeys: [clientKey.publicKey] });
    if (options.users === true) {
      const r = await host.transport.exec([
        '/bin/sh',
        '-c',
        USERS_SCRIPT,
        'sh',
        clientKey.publicKey,
        BOB_PASSWORD,
      ]);
      assert.equal(r.exitCode, 0, r.stderr.toString());
    }
    const knownHosts = join(work, `known_hosts.${files++}`);
    writeFileSync(knownHosts, `${server.address} ${server.hostKey}\n`);
    return {
      host,
      server,
      knownHosts,
      open(user, extra = {}) {
        const t = new SshTransport(`ssh://${user}@${server.address}`, {
          privateKeys: [keyFile],
          agent: false,
          knownHostsFile: knownHosts,
          // Generous: many hosts start at once while the contract runs, and the machine may be busy.
          connectTimeoutMs: 30_000,
          ...extra,
        });
        opened.push(t);
        return t;
      },
      async destroy() {
        await Promise.all(opened.map((t) => t.close()));
        await host.destroy();
        rmSync(knownHosts, { force: true });
      },
    };
  } catch (e) {
    await host.destroy();
    throw e;
  }
}

async function useSshHost(
  t: { after(fn: () => Promise<void>): void },
  options: { users?: boolean } = {},
): Promise<SshHost> {
  const h = await sshHost(options);
  t.after(() => h.destroy());
  return h;
}

function transportError(code: ErrorCode, pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof BulwarkError, `expected a BulwarkError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

// The contract ---------------------------------------------------------------------------------------------------

transportContract('SSH as root', async () => {
  const h = await sshHost();
  return { transport: h.open('root'), cleanup: () => h.destroy() };
});

transportContract('SSH as a user with passwordless sudo', async () => {
  const h = await sshHost({ users: true });
  return { transport: h.open('alice', { sudo: true }), cleanup: () => h.destroy() };
});

// Sudo, users and passwords ----------------------------------------------------------------------------------

test('a sudo user runs commands as root, and without sudo as itself', async (t) => {
  const h = await useSshHost(t, { users: true });
  const sudo = h.open('alice', { sudo: true });
  assert.equal((await sudo.exec(['id', '-un'])).stdout.toString(), 'root\n');
  const plain = h.open('alice');
  assert.equal((await plain.exec(['id', '-un'])).stdout.toString(), 'alice\n');
  await sudo.writeFile('/etc/bulwark-sudo', 'written as root\n', {
    mode: 0o640,
    owner: 'root',
    group: 'alice',
  });
  assert.deepEqual(await plain.readFile('/etc/bulwark-sudo'), Buffer.from('written as root\n'));
  assert.deepEqual(await sudo.stat('/etc/bulwark-sudo'), {
    type: 'file',
    mode: 0o640,
    uid: 0,
    gid: 1000,
    owner: 'root',
    group: 'alice',
    size: 16,
  });
});

test('a password-protected sudo gets its password from an environment variable, and the command its own stdin', async (t) => {
  const h = await useSshHost(t, { users: true });
  process.env['BULWARK_TEST_SUDO_PW'] = BOB_PASSWORD;
  t.after(() => {
    delete process.env['BULWARK_TEST_SUDO_PW'];
  });
  const bob = h.open('bob', { sudo: true, sudoPasswordEnv: 'BULWARK_TEST_SUDO_PW' });
  const r = await bob.exec(['sh', '-c', 'id -un; cat'], { stdin: 'only the input\n' });
  assert.equal(r.exitCode, 0, r.stderr.toString());
  assert.equal(r.stdout.toString(), 'root\nonly the input\n');
  assert.equal(r.stderr.toString(), '');
  await bob.writeFile('/root/bob-wrote', 'x\n', { mode: 0o600 });
  assert.equal(readFileSync(join(h.host.root, 'root/bob-wrote'), 'utf8'), 'x\n');
  // The same option with a passwordless sudo must not hand the password to the command as input.
  const alice = h.open('alice', { sudo: true, sudoPasswordEnv: 'BULWARK_TEST_SUDO_PW' });
  const echoed = await alice.exec(['cat'], { stdin: 'data' });
  assert.equal(echoed.stdout.toString(), 'data');
});

test('sudo that asks for a password nobody gave fails at connect with a clear message', async (t) => {
  const h = await useSshHost(t, { users: true });
  await assert.rejects(
    h.open('bob', { sudo: true }).connect(),
    transportError('BULWARK_SUDO_FAILED', /sudo as bob .*password/),
  );
  process.env['BULWARK_TEST_SUDO_PW'] = 'wrong';
  t.after(() => {
    delete process.env['BULWARK_TEST_SUDO_PW'];
  });
  await assert.rejects(
    h.open('bob', { sudo: true, sudoPasswordEnv: 'BULWARK_TEST_SUDO_PW' }).connect(),
    transportError('BULWARK_SUDO_FAILED', /sudo as bob .*failed/),
  );
});

test('a login password comes from the environment variable named by passwordEnv', async (t) => {
  const h = await useSshHost(t, { users: true });
  process.env['BULWARK_TEST_SSH_PW'] = BOB_PASSWORD;
  t.after(() => {
    delete process.env['BULWARK_TEST_SSH_PW'];
  });
  const bob = h.open('bob', { privateKeys: [], passwordEnv: 'BULWARK_TEST_SSH_PW' });
  assert.equal((await bob.exec(['id', '-un'])).stdout.toString(), 'bob\n');
  process.env['BULWARK_TEST_SSH_PW'] = 'not the password';
  await assert.rejects(
    h.open('bob', { privateKeys: [], passwordEnv: 'BULWARK_TEST_SSH_PW' }).connect(),
    transportError('BULWARK_AUTH_FAILED', /authentication failed.*bob.*password from \$BULWARK_TEST_SSH_PW/),
  );
  delete process.env['BULWARK_TEST_SSH_PW'];
  await assert.rejects(
    h.open('bob', { privateKeys: [], passwordEnv: 'BULWARK_TEST_SSH_PW' }).connect(),
    /BULWARK_TEST_SSH_PW, but it is not set/,
  );
});

test('wrong credentials fail with an authentication error naming the user and what was tried', async (t) => {
  const h = await useSshHost(t);
  await assert.rejects(
    h.open('root', { privateKeys: [otherKeyFile] }).connect(),
    transportError(
      'BULWARK_AUTH_FAILED',
      new RegExp(
        `authentication failed: ${h.server.address} port 22 refused user root .*key ${otherKeyFile}`,
      ),
    ),
  );
  await assert.rejects(
    h.open('nobody-here').connect(),
    transportError('BULWARK_AUTH_FAILED', /authentication failed.*user nobody-here/),
  );
  // Through exec the same failure arrives wrapped, still saying what happened.
  await assert.rejects(
    h.open('root', { privateKeys: [otherKeyFile] }).exec(['true']),
    transportError('BULWARK_AUTH_FAILED', /authentication failed/),
  );
});

// Host keys ------------------------------------------------------------------------------------------------------

test('an unknown host key is refused by default, naming the host and the key fingerprint', async (t) => {
  const h = await useSshHost(t);
  const empty = join(work, `known_hosts.${files++}`);
  const keyBlob = Buffer.from(h.server.hostKey.split(' ')[1] ?? '', 'base64');
  const transport = h.open('root', { knownHostsFile: empty });
  await assert.rejects(
    transport.connect(),
    transportError(
      'BULWARK_HOST_KEY_UNKNOWN',
      new RegExp(`host key of ${h.server.address} is unknown: ssh-ed25519 ${escape(fingerprint(keyBlob))}`),
    ),
  );
  assert.throws(() => readFileSync(empty), /ENOENT/, 'the refused key was recorded');
});

test('acceptNewHostKeys records an unknown key, and the next connection succeeds without the flag', async (t) => {
  const h = await useSshHost(t);
  const file = join(work, `fresh.${files++}`, 'known_hosts');
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  const first = h.open('root', { knownHostsFile: file, acceptNewHostKeys: true });
  assert.equal((await first.exec(['true'])).exitCode, 0);
  assert.equal(readFileSync(file, 'utf8'), `${h.server.address} ${h.server.hostKey}\n`);
  const second = h.open('root', { knownHostsFile: file });
  assert.equal((await second.exec(['hostname'])).stdout.toString().trim(), h.host.netns);
  assert.equal(readFileSync(file, 'utf8').split('\n').length, 2, 'the key was recorded twice');
});

test('a changed host key is refused, even with acceptNewHostKeys, with both fingerprints in the message', async (t) => {
  const h = await useSshHost(t);
  const oldKey = Buffer.from(h.server.hostKey.split(' ')[1] ?? '', 'base64');
  const newKey = Buffer.from((await h.server.rekey()).split(' ')[1] ?? '', 'base64');
  assert.notDeepEqual(newKey, oldKey);
  for (const options of [{}, { acceptNewHostKeys: true }]) {
    await assert.rejects(
      h.open('root', options).connect(),
      transportError(
        'BULWARK_HOST_KEY_CHANGED',
        new RegExp(
          `host key mismatch for ${h.server.address}: the host presented ssh-ed25519 ${escape(fingerprint(newKey))}, ` +
            `but the known_hosts file records ssh-ed25519 ${escape(fingerprint(oldKey))} \\(${escape(h.knownHosts)} line 1\\)`,
        ),
      ),
    );
  }
  assert.equal(readFileSync(h.knownHosts, 'utf8').split('\n').length, 2, 'the changed key was recorded');
});

test('a host key marked @revoked is refused', async (t) => {
  const h = await useSshHost(t);
  writeFileSync(h.knownHosts, `@revoked * ${h.server.hostKey}\n${h.server.address} ${h.server.hostKey}\n`);
  await assert.rejects(
    h.open('root').connect(),
    transportError('BULWARK_HOST_KEY_CHANGED', /marked @revoked/),
  );
});

// Connections ----------------------------------------------------------------------------------------------------

test('an address where nothing answers fails as unreachable within the connect timeout', async () => {
  const transport = new SshTransport(`ssh://root@${UNUSED_ADDRESS}`, {
    privateKeys: [keyFile],
    agent: false,
    knownHostsFile: join(work, 'none'),
    connectTimeoutMs: 1_500,
  });
  const started = Date.now();
  await assert.rejects(
    transport.connect(),
    transportError('BULWARK_HOST_UNREACHABLE', new RegExp(`host unreachable: .*${UNUSED_ADDRESS} port 22`)),
  );
  assert.ok(Date.now() - started < 5_000, `it took ${Date.now() - started} ms`);
  const refused = new SshTransport(`ssh://root@${UNUSED_ADDRESS.replace(/\d+$/, '1')}:2222`, {
    privateKeys: [keyFile],
    agent: false,
    knownHostsFile: join(work, 'none'),
  });
  await assert.rejects(
    refused.connect(),
    transportError('BULWARK_HOST_UNREACHABLE', /host unreachable: .*port 2222: the connection was refused/),
  );
});

test('a connection dropped while a command runs fails that command at once, and the next command reconnects', async (t) => {
  const h = await useSshHost(t);
  const transport = h.open('root', { keepaliveIntervalMs: 500, keepaliveCountMax: 2 });
  assert.equal((await transport.exec(['true'])).exitCode, 0);
  const started = Date.now();
  const running = transport.exec(['sleep', '5']).then(
    () => assert.fail('the command reported a result'),
    (e: unknown) => e,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  await h.server.kill();
  assert.ok(
    transportError('BULWARK_CONNECTION_LOST', /connection to .* was lost while sleep ran/)(await running),
  );
  assert.ok(Date.now() - started < 4_000, `the failure took ${Date.now() - started} ms`);
  await h.server.rekey();
  writeFileSync(h.knownHosts, `${h.server.address} ${h.server.hostKey}\n`);
  assert.equal((await transport.exec(['echo', 'back'])).stdout.toString(), 'back\n');
});

test('every exec reuses one connection and costs one round trip', async (t) => {
  const h = await useSshHost(t);
  const transport = h.open('root');
  await transport.connect();
  assert.equal(transport.roundTrips, 0);
  for (let i = 0; i < 5; i++) assert.equal((await transport.exec(['true'])).exitCode, 0);
  await Promise.all([transport.readFile('/etc/hostname'), transport.stat('/etc'), transport.exec(['true'])]);
  assert.equal(transport.roundTrips, 8);
  const r = await h.host.sh(`ss -Htn state established '( sport = :22 )' | wc -l`);
  assert.equal(r.stdout.toString().trim(), '1');
});

test('a timeout kills the remote command group for a sudo user too', async (t) => {
  const h = await useSshHost(t, { users: true });
  const transport = h.open('alice', { sudo: true });
  const r = await transport.script('sleep 30 & echo $! > /tmp/bg.pid; wait', [], { timeoutMs: 500 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGKILL');
  for (let i = 0; i < 50; i++) {
    // A killed orphan stays a zombie (the host's first process reaps nothing): only a live one counts.
    const alive = await h.host.sh('ps -o stat= -p "$(cat /tmp/bg.pid)" | grep -qv "^Z"');
    if (alive.exitCode !== 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('the background sleep survived the timeout');
});

// Bastions and ssh config ------------------------------------------------------------------------------------------

/** A transport to `spec` with the test key, closed after the test. */
function openWith(
  t: { after(fn: () => Promise<void>): void },
  spec: string,
  options: SshOptions,
): SshTransport {
  const transport = new SshTransport(spec, {
    privateKeys: [keyFile],
    agent: false,
    sshConfigFile: false,
    connectTimeoutMs: 30_000,
    ...options,
  });
  t.after(() => transport.close());
  return transport;
}

/** The peer addresses of the SSH sessions established to a host's sshd. */
async function sshPeers(h: SshHost): Promise<string[]> {
  const r = await h.host.sh(`ss -Htn state established '( sport = :22 )'`);
  return r.stdout
    .toString()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (l.trim().split(/\s+/)[3] ?? '').replace(/:\d+$/, ''));
}

test('a target is reached through a bastion: commands and files work, and host B sees the bastion as its peer', async (t) => {
  const [a, b] = await Promise.all([useSshHost(t), useSshHost(t)]);
  const both = join(work, `known_hosts.${files++}`);
  writeFileSync(both, `${a.server.address} ${a.server.hostKey}\n${b.server.address} ${b.server.hostKey}\n`);
  const transport = openWith(t, `ssh://root@${b.server.address}`, {
    bastion: `ssh://root@${a.server.address}`,
    knownHostsFile: both,
  });
  const r = await transport.exec(['hostname']);
  assert.equal(r.stdout.toString().trim(), b.host.netns);
  await transport.writeFile('/etc/through-bastion', 'via A\n', { mode: 0o600 });
  assert.equal(readFileSync(join(b.host.root, 'etc/through-bastion'), 'utf8'), 'via A\n');
  assert.deepEqual(await transport.readFile('/etc/through-bastion'), Buffer.from('via A\n'));
  assert.equal((await transport.stat('/etc/through-bastion'))?.mode, 0o600);
  // B's only session comes from A; A's only session comes from the client.
  assert.deepEqual(await sshPeers(b), [a.server.address]);
  assert.deepEqual(await sshPeers(a), ['198.51.100.1']);
  await transport.close();
  for (let i = 0; i < 100 && ((await sshPeers(a)).length > 0 || (await sshPeers(b)).length > 0); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(await sshPeers(a), [], 'close() left the bastion connection open');
  assert.deepEqual(await sshPeers(b), [], 'close() left the target connection open');
});

test('the bastion host key is checked like a target key, and errors name the hop that failed', async (t) => {
  const [a, b] = await Promise.all([useSshHost(t), useSshHost(t)]);
  const bastion = `ssh://root@${a.server.address}`;
  // Only B known: the bastion is refused as unknown, and B is never tried.
  await assert.rejects(
    openWith(t, `ssh://root@${b.server.address}`, { bastion, knownHostsFile: b.knownHosts }).connect(),
    transportError(
      'BULWARK_HOST_KEY_UNKNOWN',
      new RegExp(
        `^bastion root@${escape(a.server.address)} port 22: the host key of ${escape(a.server.address)} is unknown`,
      ),
    ),
  );
  assert.deepEqual(await sshPeers(b), []);
  // A known with a changed key: refused even with acceptNewHostKeys.
  const changed = join(work, `known_hosts.${files++}`);
  writeFileSync(
    changed,
    `${a.server.address} ${b.server.hostKey}\n${b.server.address} ${b.server.hostKey}\n`,
  );
  await assert.rejects(
    openWith(t, `ssh://root@${b.server.address}`, {
      bastion,
      knownHostsFile: changed,
      acceptNewHostKeys: true,
    }).connect(),
    transportError('BULWARK_HOST_KEY_CHANGED', /^bastion root@.* port 22: host key mismatch/),
  );
  // Only A known: the bastion works, the target behind it is refused, naming the target.
  await assert.rejects(
    openWith(t, `ssh://root@${b.server.address}`, { bastion, knownHostsFile: a.knownHosts }).connect(),
    transportError(
      'BULWARK_HOST_KEY_UNKNOWN',
      new RegExp(`^the host key of ${escape(b.server.address)} is unknown`),
    ),
  );
  // Wrong credentials at the bastion.
  await assert.rejects(
    openWith(t, `ssh://root@${b.server.address}`, {
      bastion: `ssh://nobody@${a.server.address}`,
      knownHostsFile: a.knownHosts,
    }).connect(),
    transportError('BULWARK_AUTH_FAILED', /^bastion nobody@.*: authentication failed/),
  );
  // Nothing listens where the bastion is asked to go.
  await assert.rejects(
    openWith(t, `ssh://root@${b.server.address}:2222`, { bastion, knownHostsFile: a.knownHosts }).connect(),
    transportError(
      'BULWARK_HOST_UNREACHABLE',
      new RegExp(
        `the bastion root@${escape(a.server.address)} port 22 could not connect to ${escape(b.server.address)} port 2222`,
      ),
    ),
  );
  assert.throws(
    () => new SshTransport(`ssh://root@${b.server.address}`, { bastion: 'ssh://bad host' }),
    (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_TARGET_INVALID',
  );
});

test('an ssh config alias gives host name, user, port, key and known_hosts file, and ProxyJump a bastion', async (t) => {
  const [a, b] = await Promise.all([useSshHost(t), useSshHost(t, { users: true })]);
  const both = join(work, `known_hosts.${files++}`);
  writeFileSync(both, `${a.server.address} ${a.server.hostKey}\n${b.server.address} ${b.server.hostKey}\n`);
  const config = join(work, `ssh_config.${files++}`);
  writeFileSync(
    config,
    `Host web\n  HostName ${b.server.address}\n  User alice\n  Port 22\n  IdentityFile ${keyFile}\n` +
      `  UserKnownHostsFile ${b.knownHosts}\n\n` +
      `Host web-via-a\n  HostName ${b.server.address}\n  ProxyJump root@jump\n  UserKnownHostsFile ${both}\n` +
      `  IdentityFile ${keyFile}\n\n` +
      `Host jump\n  HostName ${a.server.address}\n  UserKnownHostsFile ${a.knownHosts}\n  IdentityFile ${keyFile}\n\n` +
      `Host *\n  User bob\n`,
  );
  const open = (spec: string, options: SshOptions = {}): SshTransport => {
    const transport = new SshTransport(spec, { agent: false, sshConfigFile: config, ...options });
    t.after(() => transport.close());
    return transport;
  };
  assert.equal((await open('ssh://web').exec(['id', '-un'])).stdout.toString(), 'alice\n');
  // The target spec wins over the config, explicit options over both.
  assert.equal((await open('ssh://root@web').exec(['id', '-un'])).stdout.toString(), 'root\n');
  await assert.rejects(
    open('ssh://web', { privateKeys: [otherKeyFile] }).connect(),
    transportError('BULWARK_AUTH_FAILED', /refused user alice/),
  );
  await assert.rejects(
    open('ssh://web', { knownHostsFile: a.knownHosts }).connect(),
    transportError('BULWARK_HOST_KEY_UNKNOWN', /is unknown/),
  );
  // ProxyJump names another alias of the same config; the explicit user root wins over Host *'s bob.
  const via = open('ssh://root@web-via-a');
  assert.equal((await via.exec(['hostname'])).stdout.toString().trim(), b.host.netns);
  assert.ok((await sshPeers(b)).includes(a.server.address), 'the session did not come through A');
  // sshConfigFile: false ignores the config: "web" does not resolve.
  await assert.rejects(
    open('ssh://web', { sshConfigFile: false, privateKeys: [keyFile], connectTimeoutMs: 2_000 }).connect(),
    transportError('BULWARK_HOST_UNREACHABLE', /web port 22/),
  );
});

/** A known_hosts file that knows every one of these hosts' keys. */
function knownHostsOf(...hosts: readonly SshHost[]): string {
  const file = join(work, `known_hosts.${files++}`);
  writeFileSync(file, hosts.map((h) => `${h.server.address} ${h.server.hostKey}\n`).join(''));
  return file;
}

/** Waits until none of these hosts has an SSH session left (or 5 s), then says which still have one. */
async function sessionsLeft(...hosts: readonly SshHost[]): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const open = (
      await Promise.all(hosts.map(async (h) => ((await sshPeers(h)).length > 0 ? h : undefined)))
    ).filter((h) => h !== undefined);
    if (open.length === 0) return [];
    if (i === 99) return open.map((h) => h.server.address);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
}

test('a target is reached through a chain of two jump hosts, each hop seeing only the one before it, and close() ends every hop', async (t) => {
  const [a, b, c] = await Promise.all([useSshHost(t), useSshHost(t), useSshHost(t)]);
  const transport = openWith(t, `ssh://root@${c.server.address}`, {
    // Both spellings ProxyJump accepts: [user@]host[:port] and an ssh:// URI.
    bastion: `root@${a.server.address}:22,ssh://root@${b.server.address}`,
    knownHostsFile: knownHostsOf(a, b, c),
  });
  assert.equal((await transport.exec(['hostname'])).stdout.toString().trim(), c.host.netns);
  await transport.writeFile('/etc/through-two', 'via A and B\n', { mode: 0o600 });
  assert.equal(readFileSync(join(c.host.root, 'etc/through-two'), 'utf8'), 'via A and B\n');
  assert.deepEqual(await transport.readFile('/etc/through-two'), Buffer.from('via A and B\n'));
  // One TCP path: the client reaches only A, A only B, B only C.
  assert.deepEqual(await sshPeers(a), ['198.51.100.1']);
  assert.deepEqual(await sshPeers(b), [a.server.address]);
  assert.deepEqual(await sshPeers(c), [b.server.address]);
  await transport.close();
  assert.deepEqual(await sessionsLeft(a, b, c), [], 'close() left a hop connected');
});

test('a middle hop dropped while a command runs fails that command at once, and the next command goes through the chain again', async (t) => {
  const [a, b, c] = await Promise.all([useSshHost(t), useSshHost(t), useSshHost(t)]);
  const known = knownHostsOf(a, b, c);
  const transport = openWith(t, `ssh://root@${c.server.address}`, {
    bastion: `root@${a.server.address},root@${b.server.address}`,
    knownHostsFile: known,
    keepaliveIntervalMs: 500,
    keepaliveCountMax: 2,
  });
  assert.equal((await transport.exec(['true'])).exitCode, 0);
  const started = Date.now();
  const running = transport.exec(['sleep', '5']).then(
    () => assert.fail('the command reported a result'),
    (e: unknown) => e,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  await b.server.kill();
  // The first sign comes from the hop that went away: its stream ends inside the first hop's connection.
  assert.ok(
    transportError(
      'BULWARK_CONNECTION_LOST',
      new RegExp(
        `was lost while sleep ran \\(bastion root@${escape(b.server.address)} port 22 \\(hop 2 of 2\\): ` +
          'the server closed the connection\\)',
      ),
    )(await running),
  );
  assert.ok(Date.now() - started < 4_000, `the failure took ${Date.now() - started} ms`);
  assert.deepEqual(await sessionsLeft(a), [], 'the first hop stayed connected after the chain broke');
  await b.server.rekey();
  writeFileSync(known, [a, b, c].map((h) => `${h.server.address} ${h.server.hostKey}\n`).join(''));
  assert.equal((await transport.exec(['hostname'])).stdout.toString().trim(), c.host.netns);
  assert.deepEqual(await sshPeers(c), [b.server.address]);
});

test('every hop of a chain has its host key, credentials and reach checked, and the error names the hop', async (t) => {
  const [a, b, c] = await Promise.all([useSshHost(t), useSshHost(t), useSshHost(t)]);
  const target = `ssh://root@${c.server.address}`;
  const bastion = `root@${a.server.address},root@${b.server.address}`;
  const hop2 = `^bastion root@${escape(b.server.address)} port 22 \\(hop 2 of 2\\): `;
  // The middle hop shows its real key, but known_hosts records another one for it: refused, C never contacted.
  const wrong = join(work, `known_hosts.${files++}`);
  writeFileSync(
    wrong,
    `${a.server.address} ${a.server.hostKey}\n${b.server.address} ${c.server.hostKey}\n` +
      `${c.server.address} ${c.server.hostKey}\n`,
  );
  await assert.rejects(
    openWith(t, target, { bastion, knownHostsFile: wrong, acceptNewHostKeys: true }).connect(),
    transportError(
      'BULWARK_HOST_KEY_CHANGED',
      new RegExp(`${hop2}host key mismatch for ${escape(b.server.address)}`),
    ),
  );
  assert.deepEqual(await sshPeers(c), [], 'the target was contacted past a refused hop');
  assert.deepEqual(await sessionsLeft(a, b), [], 'a failed chain left a hop connected');
  // The middle hop unknown.
  const noB = knownHostsOf(a, c);
  await assert.rejects(
    openWith(t, target, { bastion, knownHostsFile: noB }).connect(),
    transportError(
      'BULWARK_HOST_KEY_UNKNOWN',
      new RegExp(`${hop2}the host key of ${escape(b.server.address)} is unknown`),
    ),
  );
  // Wrong credentials at the middle hop.
  const all = knownHostsOf(a, b, c);
  await assert.rejects(
    openWith(t, target, {
      bastion: `root@${a.server.address},nobody@${b.server.address}`,
      knownHostsFile: all,
    }).connect(),
    transportError('BULWARK_AUTH_FAILED', /^bastion nobody@.* port 22 \(hop 2 of 2\): authentication failed/),
  );
  // The first hop cannot reach the second: each hop has its own connect timeout.
  const started = Date.now();
  await assert.rejects(
    openWith(t, target, {
      bastion: `root@${a.server.address},root@${UNUSED_ADDRESS}`,
      knownHostsFile: all,
      connectTimeoutMs: 1_500,
    }).connect(),
    transportError(
      'BULWARK_HOST_UNREACHABLE',
      new RegExp(
        `the bastion root@${escape(a.server.address)} port 22 \\(hop 1 of 2\\) (did not reach|could not connect to) ` +
          `${escape(UNUSED_ADDRESS)} port 22 \\(hop 2 of 2\\)`,
      ),
    ),
  );
  assert.ok(Date.now() - started < 6_000, `it took ${Date.now() - started} ms`);
  assert.deepEqual(await sessionsLeft(a, b, c), [], 'a failed chain left a hop connected');
});

test("ProxyJump from an included config file: the first jump host's own ProxyJump is followed, and Match blocks apply", async (t) => {
  const [a, b, c] = await Promise.all([useSshHost(t), useSshHost(t), useSshHost(t)]);
  const dir = join(work, `conf.${files++}.d`);
  mkdirSync(dir);
  const config = join(work, `ssh_config.${files++}`);
  writeFileSync(config, `Include ${dir}/*.conf\n`);
  writeFileSync(
    join(dir, '10-target.conf'),
    `Host target\n  HostName ${c.server.address}\n  ProxyJump j2\n`,
    {
      mode: 0o644,
    },
  );
  writeFileSync(
    join(dir, '20-jumps.conf'),
    `Host j2\n  HostName ${b.server.address}\n  ProxyJump j1\n` +
      `Host j1\n  HostName ${a.server.address}\n` +
      `Match originalhost target,j1,j2 user root\n  IdentityFile ${keyFile}\n` +
      `  UserKnownHostsFile ${knownHostsOf(a, b, c)}\n` +
      // Never evaluated, never run: the block does not apply.
      `Match exec "touch ${work}/exec-ran"\n  Port 2222\n`,
    { mode: 0o644 },
  );
  const open = (): SshTransport => {
    const transport = new SshTransport('ssh://target', {
      agent: false,
      sshConfigFile: config,
      connectTimeoutMs: 30_000,
    });
    t.after(() => transport.close());
    return transport;
  };
  const transport = open();
  assert.equal((await transport.exec(['hostname'])).stdout.toString().trim(), c.host.netns);
  assert.deepEqual(await sshPeers(a), ['198.51.100.1']);
  assert.deepEqual(await sshPeers(b), [a.server.address]);
  assert.deepEqual(await sshPeers(c), [b.server.address]);
  assert.throws(() => readFileSync(join(work, 'exec-ran')), /ENOENT/, 'Match exec ran a command');
  await transport.close();
  // An included file others may write is refused, as OpenSSH refuses it.
  chmodSync(join(dir, '20-jumps.conf'), 0o664);
  await assert.rejects(
    open().connect(),
    transportError('BULWARK_USAGE', /bad owner or permissions on the ssh config .*20-jumps\.conf/),
  );
});

test('jump host loops, over-long chains and malformed hops are refused before anything connects', async (t) => {
  const config = join(work, `ssh_config.${files++}`);
  writeFileSync(
    config,
    'Host t\n  ProxyJump j1\nHost j1\n  ProxyJump j2\nHost j2\n  ProxyJump j3\nHost j3\n  ProxyJump j1\n' +
      'Host self\n  ProxyJump bastion\nHost long\n  ProxyJump h1,h2,h3,h4,h5\nHost h1\n  ProxyJump h6,h7,h8,h9\n' +
      'Host spaced\n  ProxyJump "h1, h2"\nHost badhop\n  ProxyJump h1,bad;hop\nHost bastion *.example\n  ProxyJump bastion\n',
  );
  const open = (spec: string, options: SshOptions = {}): SshTransport =>
    openWith(t, spec, {
      sshConfigFile: config,
      connectTimeoutMs: 300,
      knownHostsFile: join(work, 'none'),
      ...options,
    });
  await assert.rejects(
    open('ssh://t').connect(),
    transportError(
      'BULWARK_USAGE',
      /^jump host loop: t → j1 → j2 → j3 → j1: the ProxyJump of j3 in .*ssh_config\.\d+ leads back/,
    ),
  );
  await assert.rejects(
    open('ssh://self').connect(),
    transportError('BULWARK_USAGE', /^jump host loop: self → bastion → bastion: .*Host \* !bastion/),
  );
  await assert.rejects(
    open('ssh://long').connect(),
    transportError(
      'BULWARK_USAGE',
      /^the way to long needs 9 jump hosts \(h6, h7, h8, h9, h1, h2, h3, h4, h5\); Bulwark allows at most 8/,
    ),
  );
  await assert.rejects(
    open('ssh://spaced').connect(),
    transportError('BULWARK_USAGE', /ProxyJump of spaced is "h1, h2"/),
  );
  await assert.rejects(
    open('ssh://badhop').connect(),
    transportError('BULWARK_TARGET_INVALID', /ProxyJump of badhop: jump host 2 of 2 in "h1,bad;hop"/),
  );
  await assert.rejects(
    open('ssh://web.example', { bastion: 'admin@web.example' }).connect(),
    transportError(
      'BULWARK_USAGE',
      /^jump host loop: web\.example → web\.example: the bastion option names the target itself$/,
    ),
  );
  const nine = Array.from({ length: MAX_JUMP_HOPS + 1 }, () => `root@${UNUSED_ADDRESS}`);
  await assert.rejects(
    open('ssh://web.example', { bastion: nine.join(',') }).connect(),
    transportError('BULWARK_USAGE', /needs 9 jump hosts .*at most 8/),
  );
  // Eight is allowed: the first hop is tried, and named, when it does not answer.
  await assert.rejects(
    open('ssh://web.example', { bastion: nine.slice(1).join(',') }).connect(),
    transportError(
      'BULWARK_HOST_UNREACHABLE',
      new RegExp(`^bastion root@${escape(UNUSED_ADDRESS)} port 22 \\(hop 1 of 8\\): host unreachable`),
    ),
  );
  // "none" overrides the config's ProxyJump: the target itself is tried directly.
  await assert.rejects(
    open(`ssh://root@${UNUSED_ADDRESS}`, { bastion: 'none', sshConfigFile: false }).connect(),
    transportError(
      'BULWARK_HOST_UNREACHABLE',
      new RegExp(`^host unreachable: .*${escape(UNUSED_ADDRESS)} port 22`),
    ),
  );
  assert.throws(
    () => new SshTransport('ssh://x', { bastion: 'ssh://a,' }),
    (e: unknown) =>
      e instanceof BulwarkError && e.code === 'BULWARK_TARGET_INVALID' && /jump host 2 of 2/.test(e.message),
  );
});

test('parseJumpHosts reads comma-separated hops in both spellings, and none as no hop', () => {
  assert.deepEqual(parseJumpHosts('admin@jump1:2222,ssh://[2001:db8::1],jump3'), [
    { user: 'admin', host: 'jump1', port: 2222 },
    { user: 'root', host: '2001:db8::1', port: 22 },
    { user: 'root', host: 'jump3', port: 22 },
  ]);
  assert.deepEqual(parseJumpHosts('none'), []);
  for (const bad of ['', 'a,,b', 'a b', 'a;id', 'ssh://a,-oProxyCommand=x']) {
    assert.throws(
      () => parseJumpHosts(bad),
      (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_TARGET_INVALID',
      bad,
    );
  }
});

test('an inventory bastion is validated as an SSH target and handed to the SSH options; --bastion likewise', () => {
  const inventory = resolveInventory(
    {
      defaults: { bastion: 'ssh://jump@198.51.100.2:2200' },
      hosts: {
        web1: { address: '198.51.100.10' },
        db1: { address: '198.51.100.11', bastion: 'ssh://other' },
      },
    },
    '/srv/fleet.yaml',
  );
  assert.deepEqual(
    inventory.hosts.map((h) => h.ssh.bastion),
    ['ssh://jump@198.51.100.2:2200', 'ssh://other'],
  );
  assert.throws(
    () => resolveInventory({ hosts: { web1: { address: 'web1', bastion: 'jump;id' } } }, '/srv/fleet.yaml'),
    (e: unknown) =>
      e instanceof BulwarkError && e.code === 'BULWARK_INVENTORY_INVALID' && /bastion/.test(e.message),
  );
  assert.throws(
    () => resolveInventory({ hosts: { web1: { address: 'web1', bastion: 22 } } }, '/srv/fleet.yaml'),
    (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_INVENTORY_INVALID',
  );
  assert.deepEqual(
    sshOptionsFrom({ key: [], sudo: false, 'accept-new-host-keys': false, bastion: 'ssh://jump' }),
    { bastion: 'ssh://jump' },
  );
});

// Targets and command lines ---------------------------------------------------------------------------------------

test('parseSshTarget reads user, host and port, with IPv6 in brackets', () => {
  assert.deepEqual(parseSshTarget('ssh://web1.example.org'), {
    user: 'root',
    host: 'web1.example.org',
    port: 22,
  });
  assert.deepEqual(parseSshTarget('ssh://admin@10.0.0.1:2222'), {
    user: 'admin',
    host: '10.0.0.1',
    port: 2222,
  });
  assert.deepEqual(parseSshTarget('ssh://[2001:db8::1]'), { user: 'root', host: '2001:db8::1', port: 22 });
  assert.deepEqual(parseSshTarget('ssh://ops@[2001:db8::1]:22022'), {
    user: 'ops',
    host: '2001:db8::1',
    port: 22022,
  });
});

test('parseSshTarget and openTarget refuse malformed SSH targets as invalid targets', () => {
  for (const spec of [
    'ssh://',
    'ssh://@host',
    'ssh://host:',
    'ssh://host:0',
    'ssh://host:65536',
    'ssh://host:22x',
    'ssh://host/path',
    'ssh://ho st',
    'ssh://host;id',
    'ssh://$(id)@host',
    'ssh://-oProxyCommand=x',
    'ssh://[2001:db8::1',
    'ssh://[host]',
    'ssh://2001:db8::1',
    'ssh://user@[::1]x',
  ]) {
    assert.throws(
      () => openTarget(spec),
      (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_TARGET_INVALID',
      spec,
    );
  }
  assert.ok(openTarget('ssh://admin@host.example') instanceof SshTransport);
});

test('the remote command line hands every word through a POSIX shell verbatim, in the clean environment', async () => {
  const words = ['two words', "it's", '$(id)', '`id`', '; id', 'a\nb', '', '*', '\\', '-n', 'x=y'];
  const local = new LocalTransport();
  for (const elevation of ['none'] as const) {
    const line = remoteCommand(['printf', '%s\\0', ...words], { EXTRA: "a'b" }, elevation);
    const r = await local.exec(['/bin/sh', '-c', line]);
    assert.equal(r.exitCode, 0, r.stderr.toString());
    assert.deepEqual(r.stdout.toString().split('\0').slice(0, -1), words);
    assert.match(r.stderr.toString(), /^bulwark-pgid:\d+\n$/);
    const env = await local.exec(['/bin/sh', '-c', remoteCommand(['env'], { EXTRA: "a'b" }, elevation)]);
    assert.match(env.stdout.toString(), /^EXTRA=a'b$/m);
    assert.match(env.stdout.toString(), /^LANG=C\.UTF-8$/m);
  }
  const assignment = await local.exec(['/bin/sh', '-c', remoteCommand(['A=1', 'x'], {}, 'none')]);
  assert.equal(assignment.exitCode, 127, 'a program named A=1 was read as an assignment');
  assert.throws(
    () => remoteCommand(['true'], { 'BAD NAME': 'x' }, 'none'),
    /not an environment variable name/,
  );
});

test('opening an SSH target does not load the ssh2 library; connecting does', () => {
  const index = new URL('./index.js', import.meta.url).href;
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(index)});
    const { openTarget } = await import(${JSON.stringify(index)});
    const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/ssh2/'));
    openTarget('ssh://root@${UNUSED_ADDRESS}');
    const before = loaded();
    await openTarget('ssh://root@${UNUSED_ADDRESS}', { ssh: { connectTimeoutMs: 300 } }).connect().catch(() => undefined);
    console.log(JSON.stringify({ before, after: loaded() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, HOME: work },
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { before: false, after: true });
});

function escape(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
