/**
 * known_hosts parsing and matching against fixtures made by OpenSSH's own ssh-keygen (a key, its fingerprint as
 * `ssh-keygen -l` prints it, and a line hashed by `ssh-keygen -H`), and atomic, serialized appends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addKnownHost,
  blobKeyType,
  checkHostKey,
  fingerprint,
  hashHostName,
  hostFieldMatches,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
  readKnownHosts,
} from './known-hosts.js';

// Made with `ssh-keygen -t ed25519`; FINGERPRINT is what `ssh-keygen -lf` printed for it.
const KEY_B64 = 'AAAAC3NzaC1lZDI1NTE5AAAAIJjKFZL7UyUTZP8xP5XjGRIYe6PTkN3fiLV9rabdVvnM';
const KEY = Buffer.from(KEY_B64, 'base64');
const FINGERPRINT = 'SHA256:jP6jvMd55JThKui0A/U/X5cGpIyiU2nmmsnHuifosaM';
// `ssh-keygen -H` of the line `[web1.example.org]:2222 ssh-ed25519 KEY_B64`.
const HASHED = '|1|XTBRXVzxAivjAE7Sxs7W9A0osIg=|1y5W+mW5f1QUM+roxnexcmbJh0I=';
const OTHER = Buffer.concat([KEY.subarray(0, KEY.length - 1), Buffer.from([0])]);
const OTHER_B64 = OTHER.toString('base64');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-known-hosts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('fingerprint prints the SHA256 form OpenSSH prints, without base64 padding', () => {
  assert.equal(fingerprint(KEY), FINGERPRINT);
  assert.equal(blobKeyType(KEY), 'ssh-ed25519');
  assert.equal(blobKeyType(Buffer.from('xx')), '');
});

test('knownHostName uses the bare host on port 22 and [host]:port elsewhere', () => {
  assert.equal(knownHostName('Web1.Example.org', 22), 'web1.example.org');
  assert.equal(knownHostName('web1.example.org', 2222), '[web1.example.org]:2222');
  assert.equal(knownHostName('2001:db8::1', 22), '2001:db8::1');
  assert.equal(knownHostName('2001:db8::1', 2200), '[2001:db8::1]:2200');
});

test('parseKnownHosts reads plain, hashed and marked lines and skips comments and malformed lines', () => {
  const entries = parseKnownHosts(
    [
      '# a comment',
      '',
      `web1,10.0.0.1 ssh-ed25519 ${KEY_B64} comment words`,
      `${HASHED} ssh-ed25519 ${KEY_B64}`,
      `@revoked * ssh-ed25519 ${OTHER_B64}`,
      `@cert-authority *.example.org ssh-ed25519 ${KEY_B64}`,
      `@unknown-marker web2 ssh-ed25519 ${KEY_B64}`,
      'web3 ssh-ed25519',
      'web4 ssh-ed25519 !!notbase64!!',
      `web5 ssh-rsa ${KEY_B64}`,
      `  [web6]:2222\tssh-ed25519 ${KEY_B64}  `,
    ].join('\n'),
  );
  assert.deepEqual(
    entries.map((e) => [e.marker, e.hosts, e.keyType, e.line]),
    [
      [null, 'web1,10.0.0.1', 'ssh-ed25519', 3],
      [null, HASHED, 'ssh-ed25519', 4],
      ['revoked', '*', 'ssh-ed25519', 5],
      ['cert-authority', '*.example.org', 'ssh-ed25519', 6],
      [null, '[web6]:2222', 'ssh-ed25519', 11],
    ],
  );
  assert.deepEqual(entries[0]?.key, KEY);
});

test('hostFieldMatches handles lists, wildcards, negation, [host]:port and hashed names', () => {
  assert.equal(hostFieldMatches('web1,10.0.0.1', 'web1'), true);
  assert.equal(hostFieldMatches('web1,10.0.0.1', '10.0.0.1'), true);
  assert.equal(hostFieldMatches('web1,10.0.0.1', 'web10'), false);
  assert.equal(hostFieldMatches('WEB1', 'web1'), true);
  assert.equal(hostFieldMatches('*.example.org', 'a.example.org'), true);
  assert.equal(hostFieldMatches('*.example.org', 'example.org'), false);
  assert.equal(hostFieldMatches('web?', 'web7'), true);
  assert.equal(hostFieldMatches('10.0.0.*', '10.0.0.12'), true);
  assert.equal(hostFieldMatches('10.0.0.*', '10.0.0x12'), false, 'a dot is not a wildcard');
  assert.equal(hostFieldMatches('*.example.org,!secret.example.org', 'secret.example.org'), false);
  assert.equal(hostFieldMatches('*.example.org,!secret.example.org', 'www.example.org'), true);
  assert.equal(hostFieldMatches('[web1]:2222', '[web1]:2222'), true);
  assert.equal(hostFieldMatches('[web1]:2222', 'web1'), false);
  assert.equal(hostFieldMatches(HASHED, '[web1.example.org]:2222'), true);
  assert.equal(hostFieldMatches(HASHED, 'web1.example.org'), false);
  assert.equal(hostFieldMatches('|1|garbage', 'web1'), false);
});

test('hashHostName hashes the way ssh-keygen -H does', () => {
  const salt = Buffer.from(HASHED.split('|')[2] ?? '', 'base64');
  assert.equal(hashHostName('[web1.example.org]:2222', salt), HASHED);
  const fresh = hashHostName('web1');
  assert.notEqual(fresh, hashHostName('web1'), 'two hashes of a name share a salt');
  assert.equal(hostFieldMatches(fresh, 'web1'), true);
});

test('checkHostKey reports known, unknown, changed and revoked keys', () => {
  const entries = parseKnownHosts(
    [
      `web1 ssh-ed25519 ${KEY_B64}`,
      `${HASHED} ssh-ed25519 ${KEY_B64}`,
      `@revoked * ssh-ed25519 ${OTHER_B64}`,
    ].join('\n'),
  );
  assert.equal(checkHostKey(entries, 'web1', KEY).status, 'known');
  assert.equal(checkHostKey(entries, '[web1.example.org]:2222', KEY).status, 'known');
  assert.equal(checkHostKey(entries, 'web2', KEY).status, 'unknown');
  const revoked = checkHostKey(entries, 'web2', OTHER);
  assert.equal(revoked.status, 'revoked');
  const changed = checkHostKey(parseKnownHosts(`web1 ssh-ed25519 ${KEY_B64}\n`), 'web1', OTHER);
  assert.equal(changed.status, 'changed');
  assert.deepEqual(changed.status === 'changed' ? changed.known.map((k) => k.line) : [], [1]);
  // A host pinned to one key type does not get accepted with a key of another type.
  const rsa = Buffer.concat([
    Buffer.from([0, 0, 0, 7]),
    Buffer.from('ssh-rsa'),
    Buffer.from([0, 0, 0, 1, 1]),
  ]);
  assert.equal(checkHostKey(entries, 'web1', rsa).status, 'changed');
  // Certificate authorities pin nothing.
  const ca = parseKnownHosts(`@cert-authority web1 ssh-ed25519 ${KEY_B64}\n`);
  assert.equal(checkHostKey(ca, 'web1', KEY).status, 'unknown');
  assert.deepEqual(knownKeyTypes(entries, 'web1'), ['ssh-ed25519']);
  assert.deepEqual(knownKeyTypes(entries, 'web2'), []);
});

test('addKnownHost creates the file and its directory, appends to an existing file and keeps its mode', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'new', '.ssh', 'known_hosts');
  await addKnownHost(file, '[web1]:2222', KEY);
  assert.equal(readFileSync(file, 'utf8'), `[web1]:2222 ssh-ed25519 ${KEY_B64}\n`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'new', '.ssh')).mode & 0o777, 0o700);
  const existing = join(dir, 'existing');
  writeFileSync(existing, '# no newline at the end', { mode: 0o644 });
  await addKnownHost(existing, 'web2', KEY, { hash: true });
  const lines = readFileSync(existing, 'utf8').split('\n');
  assert.equal(lines[0], '# no newline at the end');
  assert.equal(statSync(existing).mode & 0o777, 0o644);
  const entries = await readKnownHosts(existing);
  assert.equal(entries.length, 1);
  assert.ok(entries[0]?.hosts.startsWith('|1|'), 'the name was not hashed');
  assert.equal(checkHostKey(entries, 'web2', KEY).status, 'known');
  assert.deepEqual(readdirSync(dir).sort(), ['existing', 'new'], 'a temporary file was left behind');
  assert.deepEqual(await readKnownHosts(join(dir, 'missing')), []);
});

test('parallel addKnownHost calls on one file lose no line', async (t) => {
  const file = join(tempDir(t), 'known_hosts');
  await Promise.all(Array.from({ length: 20 }, (_, i) => addKnownHost(file, `host${i}`, KEY)));
  const entries = await readKnownHosts(file);
  assert.equal(entries.length, 20);
  for (let i = 0; i < 20; i++) assert.equal(checkHostKey(entries, `host${i}`, KEY).status, 'known');
});

test('addKnownHost refuses a host name that would break the file', async (t) => {
  const file = join(tempDir(t), 'known_hosts');
  for (const bad of ['', 'a b', 'a,b', 'a\nb']) {
    await assert.rejects(addKnownHost(file, bad, KEY), /cannot be a host name/, JSON.stringify(bad));
  }
  await assert.rejects(addKnownHost(file, 'web1', Buffer.from('junk')), /malformed/);
});
