import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditResources } from './index.js';

test('every audit resource function the brief names is registered', () => {
  assert.deepEqual(Object.keys(auditResources).sort(), [
    'command',
    'directory',
    'file',
    'group',
    'groups',
    'kernelModule',
    'kernelParameter',
    'loginDefs',
    'mount',
    'osRelease',
    'package',
    'packages',
    'port',
    'processes',
    'service',
    'sshConfig',
    'sshdConfig',
    'user',
    'users',
  ]);
});

test('every view field is a subject whose label starts with its resource label', () => {
  const t = auditResources;
  const views: Record<string, object> = {
    port: t.port(22),
    package: t.package('openssh-server'),
    packages: t.packages('^ssh'),
    service: t.service('ssh'),
    file: t.file('/etc/shadow'),
    directory: t.directory('/etc'),
    command: t.command(['true']),
    sshdConfig: t.sshdConfig(),
    sshConfig: t.sshConfig(),
    kernelParameter: t.kernelParameter('net.ipv4.ip_forward'),
    kernelModule: t.kernelModule('cramfs'),
    loginDefs: t.loginDefs(),
    user: t.user('root'),
    users: t.users(),
    group: t.group('root'),
    groups: t.groups(),
    processes: t.processes('sshd'),
    mount: t.mount('/tmp'),
    osRelease: t.osRelease(),
  };
  for (const [name, view] of Object.entries(views)) {
    for (const [field, value] of Object.entries(view)) {
      if (typeof value === 'function') continue;
      const s = value as { resource: { key: string; label: string; probe(): object }; label: string };
      assert.ok(s.label.startsWith(s.resource.label), `${name}.${field}`);
      assert.ok(Object.keys(s.resource.probe()).length > 0, `${name}.${field}`);
    }
  }
});
