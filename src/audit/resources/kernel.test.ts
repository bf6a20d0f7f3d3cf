import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Facts } from '../../resources/types.js';
import { createTestHost } from '../../testing/host.js';
import { LocalTransport } from '../../transports/local.js';
import {
  disablesModule,
  kernelModule,
  kernelParameter,
  loadedModulesResource,
  orderConfigFiles,
  parseModprobe,
  parseProcModules,
  sysctlSettings,
} from './kernel.js';
import { observeSubjects } from './testing.js';

const DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'];

test('sysctl files apply in sysctl --system order: by name, /etc hiding /usr/lib, /etc/sysctl.conf last', () => {
  const files = [
    { path: '/etc/sysctl.d/99-local.conf', content: 'net.ipv4.ip_forward = 0\n' },
    { path: '/usr/lib/sysctl.d/50-default.conf', content: 'net.ipv4.ip_forward=1\nkernel.sysrq = 16\n' },
    { path: '/usr/lib/sysctl.d/99-local.conf', content: 'net.ipv4.ip_forward = 1\n' },
    { path: '/lib/sysctl.d/10-x.conf', content: 'vm.swappiness=10\n' },
    { path: '/etc/sysctl.conf', content: 'kernel.sysrq=0\n' },
  ];
  const ordered = orderConfigFiles(files, DIRS, '/etc/sysctl.conf').map((f) => f.path);
  assert.deepEqual(ordered, [
    '/lib/sysctl.d/10-x.conf',
    '/usr/lib/sysctl.d/50-default.conf',
    '/etc/sysctl.d/99-local.conf',
    '/etc/sysctl.conf',
  ]);
  const settings = sysctlSettings(orderConfigFiles(files, DIRS, '/etc/sysctl.conf'));
  assert.deepEqual(settings.get('net.ipv4.ip_forward'), { value: '0', file: '/etc/sysctl.d/99-local.conf' });
  assert.deepEqual(settings.get('kernel.sysrq'), { value: '0', file: '/etc/sysctl.conf' });
  assert.equal(settings.get('vm.swappiness')?.value, '10');
});

test('sysctl lines: comments skipped, slashes as dots, a leading dash ignored, whitespace normalised', () => {
  const s = sysctlSettings([
    {
      path: '/etc/sysctl.d/a.conf',
      content: '# c\n; c\n-net/ipv4/tcp_syncookies = 1\nnet.ipv4.tcp_rmem =  4096\t87380   6291456 \n',
    },
  ]);
  assert.equal(s.get('net.ipv4.tcp_syncookies')?.value, '1');
  assert.equal(s.get('net.ipv4.tcp_rmem')?.value, '4096 87380 6291456');
});

test('modprobe.d blacklist and install lines make a module blacklisted, names with - and _ alike', () => {
  const o = parseModprobe([
    {
      path: '/etc/modprobe.d/cis.conf',
      content:
        'install cramfs /bin/false\ninstall usb-storage /bin/true\nblacklist firewire_core\n# blacklist dccp\ninstall sctp /sbin/modprobe --ignore-install sctp\n',
    },
  ]);
  const blacklisted = (name: string): boolean =>
    kernelModule(name).blacklisted.select({ blacklist: o.blacklist, install: o.install } as never);
  assert.equal(blacklisted('cramfs'), true);
  assert.equal(blacklisted('usb_storage'), true);
  assert.equal(blacklisted('firewire-core'), true);
  assert.equal(blacklisted('dccp'), false);
  assert.equal(blacklisted('sctp'), false);
  assert.equal(disablesModule('/usr/bin/false'), true);
  assert.equal(disablesModule('/bin/truetype'), false);
});

test('loaded modules come from /proc/modules and are not read on a chroot target', () => {
  assert.deepEqual(parseProcModules('ext4 1024 2 - Live 0x0\nusb_storage 77824 0 - Live 0x0\n'), [
    'ext4',
    'usb_storage',
  ]);
  const results = {
    modules: {
      exitCode: 0,
      stdout: Buffer.from('ext4 1 0 - Live 0x0\n'),
      stderr: Buffer.from('81a4 0 0 0 root root'),
    },
  };
  const facts = { liveKernel: false } as Facts;
  assert.throws(() => loadedModulesResource.read(results, facts), /chroot/);
  assert.equal(loadedModulesResource.read(results, { liveKernel: true } as Facts).loaded.has('ext4'), true);
});

test('bad keys and module names are refused at once', () => {
  assert.throws(() => kernelParameter('net.ipv4.ip_forward; reboot'), /sysctl key/);
  assert.throws(() => kernelParameter('../../etc/shadow'), /sysctl key/);
  assert.throws(() => kernelModule('usb storage'), /module name/);
});

test('on a test host (a chroot) the persisted value is read and the live value refuses with a clear error', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const r = await host.sh(
    "printf 'net.ipv4.ip_forward = 1\\n' > /etc/sysctl.d/60-fw.conf && printf 'net.ipv4.ip_forward=0\\n' >> /etc/sysctl.conf && " +
      "printf 'kernel.kptr_restrict = 2\\n' > /etc/sysctl.d/61-kptr.conf && mkdir -p /etc/modprobe.d && " +
      "printf 'install cramfs /bin/false\\nblacklist udf\\n' > /etc/modprobe.d/cis.conf",
  );
  assert.equal(r.exitCode, 0, r.stderr.toString());
  const fw = kernelParameter('net.ipv4.ip_forward');
  const kptr = kernelParameter('kernel.kptr_restrict');
  const unset = kernelParameter('kernel.dmesg_restrict');
  const cramfs = kernelModule('cramfs');
  const udf = kernelModule('udf');
  const ext4 = kernelModule('ext4');
  const o = await observeSubjects(host.transport, [
    fw.value,
    fw.persisted,
    kptr.persisted,
    cramfs.loaded,
    udf.blacklisted,
  ]);
  assert.equal(o.facts.liveKernel, false);
  // /etc/sysctl.conf is applied last.
  assert.equal(o.value(fw.persisted), '0');
  assert.equal(o.value(fw.persistedIn), '/etc/sysctl.conf');
  assert.equal(o.value(kptr.persisted), '2');
  assert.equal(o.value(unset.persisted), undefined);
  // Debian's own /usr/lib/sysctl.d files count too.
  assert.equal(o.value(kernelParameter('fs.protected_symlinks').persisted), '1');
  assert.throws(
    () => o.value(fw.value),
    /cannot observe the live value of kernel parameter net\.ipv4\.ip_forward.*chroot/,
  );
  assert.throws(() => o.value(cramfs.loaded), /chroot/);
  assert.equal(o.value(cramfs.blacklisted), true);
  assert.equal(o.value(cramfs.installCommand), '/bin/false');
  assert.equal(o.value(udf.blacklisted), true);
  assert.equal(o.value(ext4.blacklisted), false);
});

test('on this machine the live value of a kernel parameter is read', async () => {
  const ostype = kernelParameter('kernel.ostype');
  const none = kernelParameter('kernel.no_such_parameter');
  const o = await observeSubjects(new LocalTransport(), [
    ostype.value,
    none.value,
    kernelModule('nonexistent_mod').loaded,
  ]);
  if (!o.facts.liveKernel) return;
  assert.equal(o.value(ostype.value), 'Linux');
  assert.equal(o.value(none.value), undefined);
  assert.equal(o.value(kernelModule('nonexistent_mod').loaded), false);
});
