import { execFile } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { isBulwarkError } from '../errors.js';
import { useTestHost, type TestHost } from '../testing/host.js';
import { applyContext, convergeOne, observe } from '../testing/provider.js';
import { serviceKey, serviceProvider, type ServiceProps, type ServiceState } from './service.js';
import { FACTS, probeResult, recordingContext } from './test-helpers.js';
import type { Facts, ProbeResult } from './types.js';

const run = promisify(execFile);

const SYSV_FACTS: Facts = FACTS;
const SYSTEMD_FACTS: Facts = { ...FACTS, init: 'systemd' };

function result(stdout: string, exitCode = 0, stderr = ''): { state: ProbeResult } {
  return { state: probeResult(stdout, exitCode, stderr) };
}

function readText(text: string, facts = SYSV_FACTS): ServiceState {
  return serviceProvider.read('vsftpd', {}, result(text), facts);
}

function action(name: string): NonNullable<typeof serviceProvider.actions>[string] {
  const a = serviceProvider.actions?.[name];
  assert.ok(a, `the service provider has a ${name} action`);
  return a;
}

/**
 * Connects to 127.0.0.1:port inside the host's network namespace and returns the greeting, or `refused`. Only the
 * network namespace is entered: `host.enter` also enters the mount namespace, whose root under systemd-nspawn is the
 * host's own root, which has no node.
 */
async function greeting(host: TestHost, port: number): Promise<string> {
  const script =
    `const s = require('node:net').connect(${port}, '127.0.0.1');` +
    "s.setTimeout(5000, () => { console.log('timeout'); process.exit(0); });" +
    "s.once('data', (d) => { process.stdout.write(String(d).trim()); s.destroy(); });" +
    "s.on('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code); });";
  const enterNet = ['-t', String(host.pid), '-n'];
  const { stdout } = await run('nsenter', [...enterNet, process.execPath, '-e', script], { timeout: 15_000 });
  return stdout.trim();
}

/** Waits for the greeting on a port to match, since a daemon may bind a moment after its start command returns. */
async function waitGreeting(host: TestHost, port: number, expected: RegExp): Promise<string> {
  let seen = '';
  for (let i = 0; i < 30; i++) {
    seen = await greeting(host, port);
    if (expected.test(seen)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

async function sh(host: TestHost, script: string): Promise<string> {
  const r = await host.sh(script);
  return r.stdout.toString('utf8').trim();
}

// --- validate ---------------------------------------------------------------------------------------------------

test('validate accepts plain service names, template instances and a .service suffix', () => {
  for (const name of [
    'vsftpd',
    'ssh',
    'systemd-journald',
    'getty@tty1',
    'foo_bar.baz',
    'a:b',
    'ssh.service',
  ]) {
    assert.deepEqual(serviceProvider.validate(name, { running: true, enabled: false }), [], name);
  }
});

test('validate refuses hostile or malformed service names before anything runs', () => {
  const hostile = [
    'vsftpd; touch /pwned',
    '$(reboot)',
    '`reboot`',
    'vsftpd\n',
    'vsftpd\nreboot',
    'ssh && reboot',
    'a b',
    '-now',
    '../../bin/sh',
    'a..b',
    '/etc/init.d/ssh',
    '',
    'vsftpd|cat',
    "vs'ftpd",
    'x'.repeat(256),
  ];
  for (const name of hostile) {
    const found = serviceProvider.validate(name, { running: true });
    assert.equal(found.length, 1, JSON.stringify(name));
    assert.equal(found[0]?.code, 'BULWARK_RESOURCE_INVALID');
    assert.equal(found[0]?.at, `service[${name}]`);
  }
  assert.deepEqual(serviceProvider.validate('x'.repeat(255), {}), []);
});

test('validate reports every ill-typed prop with its property name', () => {
  const props = { running: 'yes', enabled: 1 } as unknown as ServiceProps;
  const found = serviceProvider.validate('bad name', props);
  assert.deepEqual(
    found.map((p) => [p.code, p.property]),
    [
      ['BULWARK_RESOURCE_INVALID', undefined],
      ['BULWARK_RESOURCE_INVALID', 'running'],
      ['BULWARK_RESOURCE_INVALID', 'enabled'],
    ],
  );
  assert.match(found[1]?.message ?? '', /must be true or false, not "yes"/);
});

test('serviceKey strips a .service suffix, so ssh and ssh.service are one service', () => {
  assert.equal(serviceKey('ssh'), 'ssh');
  assert.equal(serviceKey('ssh.service'), 'ssh');
  assert.equal(serviceKey('getty@tty1.service'), 'getty@tty1');
  assert.equal(serviceKey('ssh.socket'), 'ssh.socket');
  assert.deepEqual(serviceProvider.probe('ssh.service', {}), serviceProvider.probe('ssh', {}));
});

// --- probe and read ----------------------------------------------------------------------------------------------

test('probe asks for one exec whose fixed script receives the name only as a positional argument', () => {
  const request = serviceProvider.probe('getty@tty1.service', {});
  assert.deepEqual(Object.keys(request), ['state']);
  const op = request['state'];
  assert.ok(op?.kind === 'exec');
  assert.deepEqual(op.argv.slice(0, 2), ['/bin/sh', '-c']);
  assert.deepEqual(op.argv.slice(3), ['sh', 'getty@tty1']);
  assert.ok(!op.argv[2]?.includes('getty'), 'the script text does not hold the name');
  assert.equal(serviceProvider.probe('getty@tty1', {})['state']?.kind, 'exec');
  assert.deepEqual(serviceProvider.probe('getty@tty1', {}), request);
});

test('read parses an active, enabled systemd unit', () => {
  const state = readText(
    'init=systemd\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nlink=rc2.d/S01vsftpd\n',
    SYSV_FACTS,
  );
  assert.deepEqual(state, {
    init: 'systemd',
    exists: true,
    running: true,
    enabled: true,
    loadState: 'loaded',
    activeState: 'active',
    subState: 'running',
    unitFileState: 'enabled',
    links: ['rc2.d/S01vsftpd'],
  });
});

test('read reports a unit systemd cannot find as absent, stopped and disabled', () => {
  const state = readText(
    'init=systemd\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n',
  );
  assert.equal(state.init, 'systemd');
  assert.deepEqual([state.exists, state.running, state.enabled], [false, false, false]);
});

test('read treats masked units as disabled, static ones as enabled and failed ones as stopped', () => {
  const masked = readText(
    'init=systemd\nLoadState=masked\nActiveState=active\nSubState=running\nUnitFileState=masked\n',
  );
  assert.deepEqual([masked.exists, masked.running, masked.enabled], [true, true, false]);
  const stat = readText(
    'init=systemd\nLoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=static\n',
  );
  assert.deepEqual([stat.exists, stat.running, stat.enabled], [true, false, true]);
  const reloading = readText(
    'init=systemd\nLoadState=loaded\nActiveState=reloading\nUnitFileState=disabled\n',
  );
  assert.deepEqual([reloading.running, reloading.enabled], [true, false]);
});

test('read decides whether a unit generated from an init script is enabled by its rc links', () => {
  const base =
    'init=systemd\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=generated\n';
  assert.equal(readText(`${base}link=rc0.d/K01foo\nlink=rc2.d/K01foo\n`).enabled, false);
  assert.equal(readText(`${base}link=rc0.d/K01foo\nlink=rc3.d/S02foo\n`).enabled, true);
});

test('read parses a running SysV service with start links, and a stopped one whose links were disabled', () => {
  const on = readText('init=sysv\nstatus=0\nlink=rc0.d/K01vsftpd\nlink=rc2.d/S01vsftpd\n', SYSTEMD_FACTS);
  assert.deepEqual(on, {
    init: 'sysv',
    exists: true,
    running: true,
    enabled: true,
    status: 0,
    links: ['rc0.d/K01vsftpd', 'rc2.d/S01vsftpd'],
  });
  const off = readText('init=sysv\nstatus=3\nlink=rc0.d/K01vsftpd\nlink=rc2.d/K01vsftpd\n');
  assert.deepEqual([off.exists, off.running, off.enabled], [true, false, false]);
  const dead = readText('init=sysv\nstatus=1\nlink=rcS.d/S01vsftpd\n');
  assert.deepEqual([dead.running, dead.enabled], [false, true]);
});

test('read reports a SysV service without an init script as absent even when stale links remain', () => {
  const state = readText('init=sysv\nlink=rc2.d/S01vsftpd\n');
  assert.deepEqual(
    [state.init, state.exists, state.running, state.enabled, state.init === 'sysv' && state.status],
    ['sysv', false, false, false, null],
  );
});

test('read throws BULWARK_PROBE_FAILED when the probe failed or timed out', () => {
  const failed = result('init=systemd\n', 1, 'Failed to connect to bus');
  assert.throws(
    () => serviceProvider.read('vsftpd', {}, failed, SYSTEMD_FACTS),
    (e) => isBulwarkError(e, 'BULWARK_PROBE_FAILED') && /Failed to connect to bus/.test(e.message),
  );
  assert.throws(
    () => serviceProvider.read('vsftpd', {}, result('', 124), SYSTEMD_FACTS),
    (e) => isBulwarkError(e, 'BULWARK_PROBE_FAILED') && /timed out/.test(e.message),
  );
  assert.throws(
    () => serviceProvider.read('vsftpd', {}, {}, SYSTEMD_FACTS),
    (e) => isBulwarkError(e, 'BULWARK_PROBE_FAILED'),
  );
});

// --- diff --------------------------------------------------------------------------------------------------------

const RUNNING_ENABLED = readText('init=sysv\nstatus=0\nlink=rc2.d/S01vsftpd\n');
const ABSENT = readText('init=sysv\n');

test('diff reports nothing when neither running nor enabled is declared', () => {
  assert.deepEqual(serviceProvider.diff('vsftpd', {}, RUNNING_ENABLED, SYSV_FACTS), []);
});

test('diff reports running and enabled with from and to as true or false', () => {
  assert.deepEqual(
    serviceProvider.diff('vsftpd', { running: false, enabled: false }, RUNNING_ENABLED, SYSV_FACTS),
    [
      { property: 'running', from: 'true', to: 'false' },
      { property: 'enabled', from: 'true', to: 'false' },
    ],
  );
  assert.deepEqual(
    serviceProvider.diff('vsftpd', { running: true, enabled: false }, RUNNING_ENABLED, SYSV_FACTS),
    [{ property: 'enabled', from: 'true', to: 'false' }],
  );
});

test('diff finds a missing service up to date when it should be stopped and disabled, and a change otherwise', () => {
  assert.deepEqual(serviceProvider.diff('gone', { running: false, enabled: false }, ABSENT, SYSV_FACTS), []);
  assert.deepEqual(serviceProvider.diff('gone', { running: true }, ABSENT, SYSV_FACTS), [
    { property: 'running', from: 'false', to: 'true' },
  ]);
});

// --- apply and actions, with the commands recorded ---------------------------------------------------------------

test('apply under SysV makes rc links with defaults before enabling a script that never had any', async () => {
  const never = readText('init=sysv\nstatus=3\n');
  const { ctx, commands } = recordingContext(SYSV_FACTS);
  const props = { running: true, enabled: true };
  await serviceProvider.apply(
    'bwtest',
    props,
    never,
    serviceProvider.diff('bwtest', props, never, SYSV_FACTS),
    ctx,
  );
  assert.deepEqual(commands, [
    'update-rc.d bwtest defaults',
    'update-rc.d bwtest enable',
    'service bwtest start',
  ]);
});

test('apply under systemd stops before disabling and names the unit after --', async () => {
  const active = readText('init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n');
  const { ctx, commands } = recordingContext(SYSTEMD_FACTS);
  const props = { running: false, enabled: false };
  const changes = serviceProvider.diff('ssh.service', props, active, SYSTEMD_FACTS);
  await serviceProvider.apply('ssh.service', props, active, changes, ctx);
  assert.deepEqual(commands, ['systemctl stop -- ssh.service', 'systemctl disable -- ssh.service']);
});

test('apply refuses to start a service that does not exist, with a clear error', async () => {
  const { ctx, commands } = recordingContext(SYSV_FACTS);
  await assert.rejects(
    serviceProvider.apply(
      'gone',
      { running: true },
      ABSENT,
      [{ property: 'running', from: 'false', to: 'true' }],
      ctx,
    ),
    (e) =>
      isBulwarkError(e, 'BULWARK_APPLY_FAILED') && /service gone does not exist on the host/.test(e.message),
  );
  assert.deepEqual(commands, []);
});

test('apply explains that a static unit cannot be disabled instead of running a no-op', async () => {
  const stat = readText('init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=static\n');
  const { ctx, commands } = recordingContext(SYSTEMD_FACTS);
  await assert.rejects(
    serviceProvider.apply(
      'dbus',
      { enabled: false },
      stat,
      [{ property: 'enabled', from: 'true', to: 'false' }],
      ctx,
    ),
    (e) => isBulwarkError(e, 'BULWARK_APPLY_FAILED') && /cannot be disabled: it is static/.test(e.message),
  );
  assert.deepEqual(commands, []);
});

test('actions map to systemctl under systemd and to service or a reload-or-restart script under SysV', async () => {
  const systemd = recordingContext(SYSTEMD_FACTS);
  for (const a of ['start', 'stop', 'restart', 'reload']) await action(a)('ssh', {}, systemd.ctx);
  assert.deepEqual(systemd.commands, [
    'systemctl start -- ssh.service',
    'systemctl stop -- ssh.service',
    'systemctl restart -- ssh.service',
    'systemctl reload-or-restart -- ssh.service',
  ]);
  const sysv = recordingContext(SYSV_FACTS);
  for (const a of ['start', 'stop', 'restart', 'reload']) await action(a)('ssh', {}, sysv.ctx);
  assert.deepEqual(sysv.commands.slice(0, 3), [
    'service ssh start',
    'service ssh stop',
    'service ssh restart',
  ]);
  // reload under SysV: a fixed script (reload when the init script has it, else restart) with the name as $1
  assert.deepEqual(sysv.runs.at(-1)?.slice(-2), ['sh', 'ssh']);
  assert.equal(sysv.runs.at(-1)?.[0], '/bin/sh');
});

// --- SysV test hosts ---------------------------------------------------------------------------------------------

test('under SysV, starting vsftpd makes it answer on port 21 and stopping it closes the port', async (t) => {
  const host = await useTestHost(t);
  assert.equal(await greeting(host, 21), 'refused');

  const start = await convergeOne(host.transport, serviceProvider, 'vsftpd', { running: true });
  assert.deepEqual(start.before, [{ property: 'running', from: 'false', to: 'true' }]);
  assert.deepEqual(start.after, []);
  assert.match(await waitGreeting(host, 21, /^220/), /^220 \(vsFTPd/);
  assert.match(await sh(host, 'ss -ltn'), /:21\s/);
  const again = await convergeOne(host.transport, serviceProvider, 'vsftpd', { running: true });
  assert.deepEqual(again.before, []);

  const stop = await convergeOne(host.transport, serviceProvider, 'vsftpd', { running: false });
  assert.deepEqual(stop.before, [{ property: 'running', from: 'true', to: 'false' }]);
  assert.deepEqual(stop.after, []);
  assert.equal(await greeting(host, 21), 'refused');
  assert.doesNotMatch(await sh(host, 'ss -ltn'), /:21\s/);
  assert.deepEqual(
    (await convergeOne(host.transport, serviceProvider, 'vsftpd', { running: false })).before,
    [],
  );
});

test('under SysV, disabling vsftpd removes its start links and enabling puts them back', async (t) => {
  const host = await useTestHost(t);
  const links = (): Promise<string> => sh(host, 'cd /etc && ls -d rc[2-5S].d/S??vsftpd 2>/dev/null');
  assert.notEqual(await links(), '');

  const off = await convergeOne(host.transport, serviceProvider, 'vsftpd', { enabled: false });
  assert.deepEqual(off.before, [{ property: 'enabled', from: 'true', to: 'false' }]);
  assert.deepEqual(off.after, []);
  assert.equal(await links(), '');
  assert.deepEqual(
    (await convergeOne(host.transport, serviceProvider, 'vsftpd', { enabled: false })).before,
    [],
  );

  const on = await convergeOne(host.transport, serviceProvider, 'vsftpd', { enabled: true });
  assert.deepEqual(on.before, [{ property: 'enabled', from: 'false', to: 'true' }]);
  assert.deepEqual(on.after, []);
  assert.equal(await links(), 'rc2.d/S01vsftpd\nrc3.d/S01vsftpd\nrc4.d/S01vsftpd\nrc5.d/S01vsftpd');
  const { state } = await observe(host.transport, serviceProvider, 'vsftpd', { enabled: true });
  assert.equal(state.init, 'sysv');
  assert.deepEqual(
    (await convergeOne(host.transport, serviceProvider, 'vsftpd', { enabled: true })).before,
    [],
  );
});

test('under SysV, the restart action gives vsftpd a new process and reload keeps the same one', async (t) => {
  const host = await useTestHost(t);
  await convergeOne(host.transport, serviceProvider, 'vsftpd', { running: true });
  const pid = (): Promise<string> => sh(host, 'cat /var/run/vsftpd/vsftpd.pid');
  const first = await pid();
  const { facts } = await observe(host.transport, serviceProvider, 'vsftpd', {});
  const ctx = applyContext(host.transport, facts);

  await action('restart')('vsftpd', {}, ctx);
  const second = await pid();
  assert.notEqual(second, first);
  assert.match(await waitGreeting(host, 21, /^220/), /^220/);

  await action('reload')('vsftpd', {}, ctx);
  assert.equal(await pid(), second);
  assert.match(await waitGreeting(host, 21, /^220/), /^220/);

  await action('stop')('vsftpd', {}, ctx);
  assert.equal(await greeting(host, 21), 'refused');
  await action('start')('vsftpd', {}, ctx);
  assert.match(await waitGreeting(host, 21, /^220/), /^220/);
});

const NO_RELOAD_SCRIPT = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          bwtest
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: a service with no reload action
### END INIT INFO
case "$1" in
  start) echo start >> /var/log/bwtest.log; touch /run/bwtest.running ;;
  stop) echo stop >> /var/log/bwtest.log; rm -f /run/bwtest.running ;;
  restart) "$0" stop; "$0" start ;;
  status) [ -e /run/bwtest.running ] || exit 3 ;;
  *) echo "Usage: $0 {start|stop|restart|status}" >&2; exit 1 ;;
esac
`;

test('under SysV, a script that never had rc links gets them, and reload falls back to restart', async (t) => {
  const host = await useTestHost(t);
  await host.transport.writeFile('/etc/init.d/bwtest', NO_RELOAD_SCRIPT, { mode: 0o755 });

  const up = await convergeOne(host.transport, serviceProvider, 'bwtest', { running: true, enabled: true });
  assert.deepEqual(up.before, [
    { property: 'running', from: 'false', to: 'true' },
    { property: 'enabled', from: 'false', to: 'true' },
  ]);
  assert.deepEqual(up.after, []);
  assert.equal(
    await sh(host, 'cd /etc && ls -d rc2.d/S??bwtest rc0.d/K??bwtest'),
    'rc0.d/K01bwtest\nrc2.d/S01bwtest',
  );
  assert.equal(await sh(host, 'cat /var/log/bwtest.log'), 'start');

  const { facts } = await observe(host.transport, serviceProvider, 'bwtest', {});
  await action('reload')('bwtest', {}, applyContext(host.transport, facts));
  assert.equal(await sh(host, 'cat /var/log/bwtest.log'), 'start\nstop\nstart');
  assert.deepEqual(
    (await convergeOne(host.transport, serviceProvider, 'bwtest', { running: true })).before,
    [],
  );
});

test('under SysV, a service that does not exist is up to date when stopped and fails clearly when started', async (t) => {
  const host = await useTestHost(t);
  const absent = await convergeOne(host.transport, serviceProvider, 'nosuch', {
    running: false,
    enabled: false,
  });
  assert.deepEqual(absent.before, []);
  const { state } = await observe(host.transport, serviceProvider, 'nosuch', {});
  assert.deepEqual([state.init, state.exists], ['sysv', false]);
  await assert.rejects(
    convergeOne(host.transport, serviceProvider, 'nosuch', { running: true }),
    (e) =>
      isBulwarkError(e, 'BULWARK_APPLY_FAILED') &&
      /service nosuch does not exist on the host/.test(e.message),
  );
});

// --- systemd test host -------------------------------------------------------------------------------------------

test('under systemd, vsftpd is stopped and disabled, then started and enabled again, idempotently', async (t) => {
  const host = await useTestHost(t, { systemd: true });
  const status = (): Promise<string> =>
    sh(host, 'systemctl is-active vsftpd.service; systemctl is-enabled vsftpd.service');
  assert.equal(await status(), 'active\nenabled');
  assert.match(await waitGreeting(host, 21, /^220/), /^220 \(vsFTPd/);

  const down = await convergeOne(host.transport, serviceProvider, 'vsftpd', {
    running: false,
    enabled: false,
  });
  assert.deepEqual(down.before, [
    { property: 'running', from: 'true', to: 'false' },
    { property: 'enabled', from: 'true', to: 'false' },
  ]);
  assert.deepEqual(down.after, []);
  assert.equal(await status(), 'inactive\ndisabled');
  assert.equal(await greeting(host, 21), 'refused');
  const { state } = await observe(host.transport, serviceProvider, 'vsftpd', {});
  assert.equal(state.init, 'systemd');
  assert.ok(state.init === 'systemd' && state.unitFileState === 'disabled');
  const still = await convergeOne(host.transport, serviceProvider, 'vsftpd', {
    running: false,
    enabled: false,
  });
  assert.deepEqual(still.before, []);

  const up = await convergeOne(host.transport, serviceProvider, 'vsftpd.service', {
    running: true,
    enabled: true,
  });
  assert.deepEqual(up.before, [
    { property: 'running', from: 'false', to: 'true' },
    { property: 'enabled', from: 'false', to: 'true' },
  ]);
  assert.deepEqual(up.after, []);
  assert.equal(await status(), 'active\nenabled');
  assert.match(await waitGreeting(host, 21, /^220/), /^220 \(vsFTPd/);
  assert.deepEqual(
    (await convergeOne(host.transport, serviceProvider, 'vsftpd', { running: true, enabled: true })).before,
    [],
  );
});

test('under systemd, restart and reload act on the unit and a missing unit is handled', async (t) => {
  const host = await useTestHost(t, { systemd: true });
  const mainPid = (): Promise<string> => sh(host, 'systemctl show --property=MainPID --value vsftpd.service');
  const { facts } = await observe(host.transport, serviceProvider, 'vsftpd', {});
  assert.equal(facts.init, 'systemd');
  const ctx = applyContext(host.transport, facts);

  const first = await mainPid();
  await action('restart')('vsftpd', {}, ctx);
  const second = await mainPid();
  assert.notEqual(second, first);
  await action('reload')('vsftpd', {}, ctx);
  assert.equal(await mainPid(), second);
  assert.equal(await sh(host, 'systemctl is-active vsftpd.service'), 'active');

  const absent = await convergeOne(host.transport, serviceProvider, 'nosuch', {
    running: false,
    enabled: false,
  });
  assert.deepEqual(absent.before, []);
  await assert.rejects(
    convergeOne(host.transport, serviceProvider, 'nosuch', { running: true }),
    (e) => isBulwarkError(e, 'BULWARK_APPLY_FAILED') && /systemd has no unit nosuch\.service/.test(e.message),
  );
});
