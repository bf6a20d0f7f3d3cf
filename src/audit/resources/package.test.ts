import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { package_, packages, parseDpkgList, dpkgResource } from './package.js';
import { observeSubjects } from './testing.js';

const LIST = [
  'openssh-server\tamd64\tinstalled\t1:9.2p1-2+deb12u3',
  'telnet\tamd64\tconfig-files\t0.17+2.4-2',
  'libc6\tamd64\tinstalled\t2.36-9+deb12u4',
  'libc6\ti386\tnot-installed\t',
  'man-db\tamd64\ttriggers-pending\t2.11.2-2',
  '',
].join('\n');

test('dpkg-query lines parse into name, arch, status and version', () => {
  assert.deepEqual(parseDpkgList(LIST)[1], {
    name: 'telnet',
    arch: 'amd64',
    status: 'config-files',
    version: '0.17+2.4-2',
  });
  assert.equal(parseDpkgList(LIST)[3]?.version, undefined);
});

test('a package is installed only when dpkg says installed (or triggers pending)', () => {
  const o = { packages: parseDpkgList(LIST) };
  assert.equal(package_('openssh-server').installed.select(o as never), true);
  assert.equal(package_('man-db').installed.select(o as never), true);
  assert.equal(package_('telnet').installed.select(o as never), false);
  assert.equal(package_('telnet').status.select(o as never), 'config-files');
  assert.equal(package_('nginx').installed.select(o as never), false);
  assert.equal(package_('nginx').version.select(o as never), undefined);
  assert.equal(package_('libc6').version.select(o as never), '2.36-9+deb12u4');
  assert.equal(package_('libc6:i386').installed.select(o as never), false);
  assert.equal(package_('libc6:amd64').arch.select(o as never), 'amd64');
});

test('packages() lists installed names matching a pattern and every matching entry', () => {
  const o = { packages: parseDpkgList(LIST) };
  assert.deepEqual(packages('^(telnet|openssh)').names.select(o as never), ['openssh-server']);
  assert.deepEqual(
    packages('^(telnet|openssh)')
      .entries.select(o as never)
      .map((e) => e.name),
    ['openssh-server', 'telnet'],
  );
  assert.equal(packages().names.select(o as never).length, 3);
});

test('hostile package names and bad patterns are refused before anything runs', () => {
  assert.throws(() => package_('vsftpd; rm -rf /'), /Debian package name/);
  assert.throws(() => package_('$(reboot)'), /Debian package name/);
  assert.throws(() => packages('('), /not a valid regular expression/);
});

test('a target without dpkg-query gives a clear error', () => {
  const results = { list: { exitCode: 127, stdout: Buffer.alloc(0), stderr: Buffer.from('not found') } };
  assert.throws(() => dpkgResource.read(results, {} as never), /no dpkg-query/);
});

test('packages of a test host are observed through one dpkg-query', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const ssh = package_('openssh-server');
  const ftp = package_('vsftpd');
  const none = package_('telnetd');
  const all = packages('^openssh-');
  const o = await observeSubjects(host.transport, [ssh.installed, ftp.installed, none.installed, all.names]);
  const expected = (await host.sh("dpkg-query -W -f '${Version}' openssh-server")).stdout.toString();
  assert.equal(o.value(ssh.installed), true);
  assert.equal(o.value(ssh.version), expected);
  assert.equal(o.value(ssh.status), 'installed');
  assert.equal(o.value(ftp.installed), true);
  assert.equal(o.value(none.installed), false);
  assert.ok(o.value(all.names).includes('openssh-server'));
  assert.ok(o.value(all.names).every((n) => n.startsWith('openssh-')));

  // Removing a package leaves its conffiles: dpkg says config-files, and it no longer counts as installed.
  const r = await host.sh('dpkg --remove vsftpd >/dev/null 2>&1; echo $?');
  assert.equal(r.stdout.toString().trim(), '0');
  const after = await observeSubjects(host.transport, [ftp.installed]);
  assert.equal(after.value(ftp.installed), false);
  assert.equal(after.value(ftp.status), 'config-files');
});
