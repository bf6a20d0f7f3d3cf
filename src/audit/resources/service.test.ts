import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBulwarkError } from '../../errors.js';
import { serviceProvider } from '../../resources/service.js';
import { FACTS, probeResult } from '../../resources/test-helpers.js';
import { createTestHost } from '../../testing/host.js';
import { parseServiceOutput, service } from './service.js';
import { observeSubjects } from './testing.js';

const ON_SYSV = { name: 'vsftpd', init: 'sysv' } as const;
const ON_SYSTEMD = { name: 'vsftpd', init: 'systemd' } as const;

test('systemd properties parse into installed, running and enabled', () => {
  const o = parseServiceOutput(
    'init=systemd\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n',
    ON_SYSV,
  );
  assert.deepEqual([o.installed, o.running, o.enabled], [true, true, true]);
  const gone = parseServiceOutput(
    'init=systemd\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n',
    ON_SYSV,
  );
  assert.deepEqual([gone.installed, gone.running, gone.enabled], [false, false, false]);
});

test('a unit generated from an init script is enabled exactly when its rc links start it', () => {
  const base = 'init=systemd\nLoadState=loaded\nActiveState=inactive\nUnitFileState=generated\n';
  assert.equal(parseServiceOutput(`${base}link=rc2.d/S01vsftpd\n`, ON_SYSTEMD).enabled, true);
  assert.equal(parseServiceOutput(`${base}link=rc2.d/K01vsftpd\n`, ON_SYSTEMD).enabled, false);
});

test('SysV status and rc links parse into installed, running and enabled', () => {
  const on = parseServiceOutput(
    'init=sysv\nstatus=0\nlink=rc2.d/S01vsftpd\nlink=rc0.d/K01vsftpd\n',
    ON_SYSTEMD,
  );
  assert.deepEqual([on.init, on.installed, on.running, on.enabled], ['sysv', true, true, true]);
  const off = parseServiceOutput('init=sysv\nstatus=3\nlink=rc2.d/K01vsftpd\n', ON_SYSTEMD);
  assert.deepEqual([off.installed, off.running, off.enabled], [true, false, false]);
  const none = parseServiceOutput('init=sysv\n', ON_SYSTEMD);
  assert.deepEqual([none.installed, none.running, none.enabled], [false, false, false]);
});

test('the audit resource runs the cookbook provider probe and reads the same state from it', () => {
  const audited = service('ssh.service').running.resource;
  assert.deepEqual(audited.probe(), serviceProvider.probe('ssh', {}));
  const text =
    'init=systemd\nLoadState=loaded\nActiveState=reloading\nSubState=reload\nUnitFileState=generated\nlink=rc2.d/K01ssh\n';
  const seen = audited.read({ state: probeResult(text) }, FACTS) as ReturnType<typeof parseServiceOutput>;
  const state = serviceProvider.read('ssh', {}, { state: probeResult(text) }, FACTS);
  assert.deepEqual(
    [seen.installed, seen.running, seen.enabled],
    [state.exists, state.running, state.enabled],
  );
  assert.deepEqual([seen.installed, seen.running, seen.enabled], [true, true, false]);
  assert.deepEqual(seen.properties, {
    LoadState: 'loaded',
    ActiveState: 'reloading',
    SubState: 'reload',
    UnitFileState: 'generated',
  });
});

test('systemd output without a LoadState is a probe failure, not an absent service', () => {
  assert.throws(
    () => parseServiceOutput('init=systemd\nActiveState=active\n', ON_SYSV),
    (e: unknown) => isBulwarkError(e, 'BULWARK_PROBE_FAILED') && /no LoadState/.test(e.message),
  );
});

test('hostile service names are refused before anything runs', () => {
  assert.throws(() => service('vsftpd; reboot'), /service name/);
  assert.throws(() => service('../../bin/sh'), /service name/);
  assert.throws(() => service(''), /service name/);
});

test('a SysV service on a test host is seen stopped, then running once started', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const ftp = service('vsftpd');
  const missing = service('nosuchd');
  const before = await observeSubjects(host.transport, [ftp.running, missing.installed]);
  assert.equal(before.value(ftp.installed), true);
  assert.equal(before.value(ftp.running), false);
  assert.equal(before.value(ftp.enabled), true);
  assert.equal(before.value(missing.installed), false);
  assert.equal(before.value(missing.running), false);

  await host.sh('service vsftpd start; update-rc.d vsftpd disable >/dev/null 2>&1');
  const after = await observeSubjects(host.transport, [ftp.running]);
  assert.equal(after.value(ftp.running), true);
  assert.equal(after.value(ftp.enabled), false);
});

test('a service under systemd is observed through systemctl', async (t) => {
  const host = await createTestHost({ systemd: true });
  t.after(() => host.destroy());
  const ssh = service('ssh.service');
  const missing = service('nosuchd');
  const o = await observeSubjects(host.transport, [ssh.running, missing.installed]);
  assert.equal(o.facts.init, 'systemd');
  const active = (await host.sh('systemctl is-active ssh.service')).stdout.toString().trim() === 'active';
  assert.equal(o.value(ssh.installed), true);
  assert.equal(o.value(ssh.running), active);
  assert.equal(o.value(ssh.enabled), true);
  assert.equal(o.value(missing.installed), false);

  await host.sh('systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1');
  const after = await observeSubjects(host.transport, [ssh.running]);
  assert.equal(after.value(ssh.running), false);
  assert.equal(after.value(ssh.enabled), false);
});
