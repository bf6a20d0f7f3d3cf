/**
 * The test network: this file re-runs itself inside a network namespace, attaches test hosts, reaches a real sshd in
 * one, and checks that this machine's own interfaces and routes are untouched. Also the client key format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestHost } from './host.js';
import {
  CLIENT_ADDRESS,
  cleanupStaleNetworks,
  createTestNetwork,
  enterTestNetwork,
  generateClientKey,
  removeTestNetwork,
  startSshServer,
} from './network.js';

// This machine's own view, seen from the network namespace of the run outside the test network.
function machineNetwork(): string {
  const r = spawnSync(
    'nsenter',
    [
      `--net=/proc/${process.env['BULWARK_TEST_NETNS'] === undefined ? process.pid : process.ppid}/ns/net`,
      'sh',
      '-c',
      'ip -br addr; ip route; ip -6 route',
    ],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const before = machineNetwork();
const network = await enterTestNetwork(fileURLToPath(import.meta.url));

function banner(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port: 22, timeout: 5_000 });
    socket.once('data', (b: Buffer) => {
      socket.destroy();
      resolve(b.toString('latin1'));
    });
    socket.once('error', reject);
    socket.once('timeout', () => reject(new Error('timed out')));
  });
}

test('the tests run inside the test network namespace, which has the client address on its bridge', () => {
  assert.equal(statSync('/proc/self/ns/net').ino, statSync(`/run/netns/${network.netns}`).ino);
  const r = spawnSync('ip', ['-br', 'addr', 'show', 'br0'], { encoding: 'utf8' });
  assert.match(r.stdout, new RegExp(`${CLIENT_ADDRESS.replaceAll('.', '\\.')}/24`));
});

test('attached test hosts get their own addresses and a real sshd answers on each', async (t) => {
  const hosts = await Promise.all([createTestHost(), createTestHost()]);
  t.after(() => Promise.all(hosts.map((h) => h.destroy())));
  const servers = await Promise.all(hosts.map((h) => startSshServer(h, network)));
  assert.notEqual(servers[0]?.address, servers[1]?.address);
  for (const [i, server] of servers.entries()) {
    assert.match(server.address, /^198\.51\.100\.\d+$/);
    assert.match(await banner(server.address), /^SSH-2\.0-OpenSSH_/);
    const shown = await hosts[i]?.sh('ip -br addr show eth0');
    assert.match(shown?.stdout.toString() ?? '', new RegExp(`${server.address.replaceAll('.', '\\.')}/24`));
  }
  const before = servers[0]?.hostKey;
  assert.notEqual(await servers[0]?.rekey(), before);
  await servers[0]?.kill();
  await assert.rejects(banner(servers[0]?.address ?? ''), /ECONNREFUSED/);
});

test('this machine keeps its own interfaces, addresses and routes', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  await startSshServer(host, network);
  assert.equal(machineNetwork(), before);
  assert.doesNotMatch(machineNetwork(), /198\.51\.100\./);
});

test('cleanupStaleNetworks removes the network of a process that is gone and keeps live ones', () => {
  const mine = createTestNetwork();
  const stale = 'bwn-999999999-abcdef';
  const add = spawnSync('ip', ['netns', 'add', stale]);
  assert.equal(add.status, 0);
  try {
    cleanupStaleNetworks();
    const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(names, /bwn-999999999-abcdef/);
    assert.match(names, new RegExp(mine));
    assert.match(names, new RegExp(network.netns));
  } finally {
    removeTestNetwork(mine);
    spawnSync('ip', ['netns', 'del', stale]);
  }
});

test('generateClientKey writes an OpenSSH private key that ssh-keygen reads back to the same public key', (t) => {
  const key = generateClientKey('me@test');
  assert.match(
    key.privateKey,
    /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n$/,
  );
  assert.match(key.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* me@test$/);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'id'), key.privateKey, { mode: 0o600 });
  const keygen = spawnSync('ssh-keygen', ['-y', '-f', join(dir, 'id')], { encoding: 'utf8' });
  if (keygen.error !== undefined) {
    t.skip('ssh-keygen is not installed on this machine');
    return;
  }
  assert.equal(keygen.status, 0, keygen.stderr);
  assert.equal(
    keygen.stdout.trim().split(' ').slice(0, 2).join(' '),
    key.publicKey.split(' ').slice(0, 2).join(' '),
  );
});
