/**
 * Runs the transport contract against every implementation: this machine, a plain `chroot:DIR` of a test host's
 * root, and a test host's namespaced transport. Then the chroot-only promises: what counts as a root, and that
 * everything, symlinks included, stays inside it. Then target specs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BulwarkError, type ErrorCode } from '../errors.js';
import { createTestHost, type TestHost } from '../testing/host.js';
import { ChrootTransport } from './chroot.js';
import { transportContract } from './contract.js';
import { openTarget, openTargetLazily } from './index.js';
import { SshTransport } from './ssh.js';
import { LocalTransport } from './local.js';

transportContract('local', async () => ({ transport: new LocalTransport(), cleanup: async () => undefined }));

transportContract('plain chroot', async () => {
  const host = await createTestHost();
  return { transport: new ChrootTransport(host.root), cleanup: () => host.destroy() };
});

transportContract('test host', async () => {
  const host = await createTestHost();
  return { transport: host.transport, cleanup: () => host.destroy() };
});

function isError(code: ErrorCode): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof BulwarkError, `expected a BulwarkError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

async function testHost(t: { after: (fn: () => Promise<void>) => void }): Promise<TestHost> {
  const host = await createTestHost();
  t.after(() => host.destroy());
  return host;
}

test('a chroot target that is an empty directory is refused as not a Linux root', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-not-root-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => new ChrootTransport(dir), isError('BULWARK_TARGET_NOT_LINUX_ROOT'));
  assert.throws(() => new ChrootTransport(dir), /bin\/sh/);
});

test('a chroot target that is relative, missing or a file is refused as an invalid target', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bad-target-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'file'), 'x');
  for (const bad of ['relative/dir', '.', '', join(dir, 'missing'), join(dir, 'file')]) {
    assert.throws(() => new ChrootTransport(bad), isError('BULWARK_TARGET_INVALID'), bad);
  }
});

test('a chroot readFile resolves an absolute symlink inside the root, not on this machine', async (t) => {
  const host = await testHost(t);
  const marker = `root-of-${host.id}\n`;
  writeFileSync(join(host.root, 'etc/hostname'), marker);
  symlinkSync('/etc/hostname', join(host.root, 'etc/bulwark-link'));
  const chroot = new ChrootTransport(host.root);
  assert.deepEqual(await chroot.readFile('/etc/bulwark-link'), Buffer.from(marker));
  assert.equal((await chroot.stat('/etc/bulwark-link'))?.type, 'symlink');
  assert.deepEqual(await host.transport.readFile('/etc/bulwark-link'), Buffer.from(marker));
  assert.notEqual(readFileSync('/etc/hostname', 'utf8'), marker);
});

test('a chroot writeFile never touches this machine, even through an absolute symlink', async (t) => {
  const host = await testHost(t);
  const chroot = new ChrootTransport(host.root);
  const dir = `/tmp/bulwark-chroot-${randomBytes(6).toString('hex')}`;
  // The same directory exists on this machine and in the root; a symlink in the root points at it by absolute path.
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(host.root, dir));
  symlinkSync(dir, join(host.root, 'etc/bulwark-dirlink'));
  await chroot.writeFile(`${dir}/direct`, 'in the root', {
    mode: 0o640,
    owner: 'daemon',
    backupDir: `${dir}/bk`,
  });
  await chroot.writeFile('/etc/bulwark-dirlink/via-link', 'via link', { mode: 0o644 });
  await chroot.writeFile(`${dir}/direct`, 'again', { mode: 0o640, backupDir: `${dir}/bk` });
  assert.equal(readFileSync(join(host.root, dir, 'direct'), 'utf8'), 'again');
  assert.equal(readFileSync(join(host.root, dir, 'via-link'), 'utf8'), 'via link');
  assert.equal(existsSync(join(dir, 'direct')), false);
  assert.equal(existsSync(join(dir, 'via-link')), false);
  assert.equal(existsSync(join(dir, 'bk')), false);
  assert.equal(existsSync(join(host.root, dir, 'bk')), true);
});

test('openTarget opens local and chroot:DIR targets', async (t) => {
  const host = await testHost(t);
  const local = openTarget('local');
  assert.ok(local instanceof LocalTransport);
  assert.equal(local.target, 'local');
  assert.equal(local.sharesHostKernel, false);
  const chroot = openTarget(`chroot:${host.root}`);
  assert.ok(chroot instanceof ChrootTransport);
  assert.equal(chroot.target, `chroot:${host.root}`);
  assert.equal(chroot.sharesHostKernel, true);
  const osRelease = (await chroot.readFile('/etc/os-release'))?.toString('utf8') ?? '';
  assert.match(osRelease, /^VERSION_CODENAME=bookworm$/m);
});

test('openTarget refuses unknown and malformed specs with BULWARK_TARGET_INVALID', () => {
  for (const spec of [
    'ssh:foo',
    '',
    'LOCAL',
    ' local',
    'local ',
    'chroot',
    'chroot:',
    'chroot:relative/dir',
  ]) {
    assert.throws(() => openTarget(spec), isError('BULWARK_TARGET_INVALID'), JSON.stringify(spec));
  }
  assert.throws(() => openTarget('chroot:/nonexistent/bulwark-root'), isError('BULWARK_TARGET_INVALID'));
});

test('openTargetLazily opens the same transports as openTarget and refuses the same specs', async (t) => {
  const host = await testHost(t);
  assert.ok((await openTargetLazily('local')) instanceof LocalTransport);
  const chroot = await openTargetLazily(`chroot:${host.root}`);
  assert.ok(chroot instanceof ChrootTransport);
  assert.equal(chroot.target, `chroot:${host.root}`);
  // The SSH transport's module loads on demand; the transport connects only when first used.
  const ssh = await openTargetLazily('ssh://root@198.51.100.9:2222', { ssh: { connectTimeoutMs: 1000 } });
  assert.ok(ssh instanceof SshTransport);
  assert.equal(ssh.target, 'ssh://root@198.51.100.9:2222');
  for (const spec of ['ssh:foo', '', 'LOCAL', 'chroot:', 'chroot:relative/dir', 'ssh://bad host']) {
    await assert.rejects(openTargetLazily(spec), isError('BULWARK_TARGET_INVALID'), JSON.stringify(spec));
  }
});
