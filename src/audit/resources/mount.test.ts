import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { mount, mountsResource, parseMounts, unescapeMountField } from './mount.js';
import { observeSubjects } from './testing.js';

const MOUNTS = `/dev/sda1 / ext4 rw,relatime,errors=remount-ro 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev,noexec 0 0
/dev/sdb1 /media/My\\040Disk vfat rw,uid=1000 0 0
`;

test('mount fields are unescaped', () => {
  assert.equal(unescapeMountField('/media/My\\040Disk\\011x\\134y'), '/media/My Disk\tx\\y');
  assert.equal(parseMounts(MOUNTS)[4]?.path, '/media/My Disk');
});

test('the last mount on a path is the visible one', () => {
  const o = { mounts: parseMounts(MOUNTS) };
  const tmp = mount('/tmp/');
  assert.equal(tmp.mounted.select(o as never), true);
  assert.deepEqual(tmp.options.select(o as never), ['rw', 'nosuid', 'nodev', 'noexec']);
  assert.equal(mount('/media/My Disk').type.select(o as never), 'vfat');
  assert.equal(mount('/var').mounted.select(o as never), false);
  assert.deepEqual(mount('/var').options.select(o as never), []);
  assert.equal(mount('/').device.select(o as never), '/dev/sda1');
});

test('a target without /proc/mounts gives a clear error, and relative paths are refused', () => {
  const missing = { exitCode: 3, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  assert.throws(() => mountsResource.read({ mounts: missing }, {} as never), /cannot observe mounts/);
  assert.throws(() => mount('tmp'), /absolute path/);
});

test('mounts made on a test host are observed with their options', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const r = await host.sh(
    'mkdir -p "/mnt/scratch space" && mount -t tmpfs -o nosuid,nodev,noexec,size=1m tmpfs "/mnt/scratch space"',
  );
  assert.equal(r.exitCode, 0, r.stderr.toString());
  const m = mount('/mnt/scratch space');
  const o = await observeSubjects(host.transport, [m.mounted]);
  assert.equal(o.value(m.mounted), true);
  assert.equal(o.value(m.type), 'tmpfs');
  assert.equal(o.value(m.device), 'tmpfs');
  for (const opt of ['nosuid', 'nodev', 'noexec']) assert.ok(o.value(m.options).includes(opt), opt);
  assert.equal(o.value(mount('/proc').type), 'proc');
  assert.equal(o.value(mount('/srv').mounted), false);
});
