import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { useTestHost } from '../testing/host.js';
import { convergeOne, observe } from '../testing/provider.js';
import {
  normaliseValue,
  parsePersisted,
  procPath,
  sameValue,
  sysctlPath,
  sysctlProvider,
  type SysctlProps,
  type SysctlState,
} from './sysctl.js';
import { FACTS, probeResult, recordingContext } from './test-helpers.js';
import type { ApplyContext, Facts, ProbeResults } from './types.js';

const SHARED: Facts = { ...FACTS, init: 'systemd' };
const LIVE: Facts = { ...SHARED, liveKernel: true };

function results(persisted: string | null, live: string | null): ProbeResults {
  return {
    persisted: persisted === null ? probeResult('', 3) : probeResult(persisted),
    live: live === null ? probeResult('', 3) : probeResult(live),
  };
}

function readState(key: string, persisted: string | null, live: string | null, facts: Facts): SysctlState {
  return sysctlProvider.read(key, { value: 1 }, results(persisted, live), facts);
}

/** An apply context that records what apply asks for; nothing reaches any kernel. */
function fakeContext(facts: Facts, options: { sysctlFails?: boolean } = {}) {
  return recordingContext(facts, {
    fail: (argv) =>
      options.sysctlFails === true && argv[0] === 'sysctl'
        ? 'exited 255: permission denied on key'
        : undefined,
  });
}

async function applyWith(
  ctx: ApplyContext,
  key: string,
  props: SysctlProps,
  state: SysctlState,
): Promise<void> {
  await sysctlProvider.apply(key, props, state, sysctlProvider.diff(key, props, state, ctx.facts), ctx);
}

test('sysctl paths put the key in the sysctl.d file name and map dots to /proc/sys directories', () => {
  assert.equal(sysctlPath('net.ipv4.ip_forward'), '/etc/sysctl.d/99-bulwark-net.ipv4.ip_forward.conf');
  assert.equal(procPath('net.ipv4.conf.br-lan.forwarding'), '/proc/sys/net/ipv4/conf/br-lan/forwarding');
});

test('sysctl values compare with whitespace normalised and integers by value', () => {
  assert.equal(normaliseValue('  4096\t87380   6291456\n'), '4096 87380 6291456');
  assert.equal(normaliseValue(-1), '-1');
  assert.ok(sameValue('4096\t87380\t6291456', '4096 87380 6291456'));
  assert.ok(sameValue('01', '1'));
  assert.ok(!sameValue('4096 87380', '4096 87380 6291456'));
  assert.ok(!sameValue('1', '0'));
  assert.ok(sameValue('|/usr/bin/x %p', '|/usr/bin/x  %p'));
});

test('parsePersisted reads the last setting of the key and ignores comments and other keys', () => {
  const text = '# managed\n; note\nnet.ipv4.ip_forward=0\nvm.swappiness = 10\n-net/ipv4/ip_forward =  1 \n';
  assert.equal(parsePersisted(text, 'net.ipv4.ip_forward'), '1');
  assert.equal(parsePersisted(text, 'vm.swappiness'), '10');
  assert.equal(parsePersisted(text, 'kernel.pid_max'), null);
});

test('sysctl read ignores the live value unless the target runs its own kernel', () => {
  assert.deepEqual(readState('vm.swappiness', 'vm.swappiness = 10\n', '60\n', SHARED), {
    file: true,
    persisted: '10',
    live: null,
  });
  assert.deepEqual(readState('vm.swappiness', null, '60\n', LIVE), {
    file: false,
    persisted: null,
    live: '60',
  });
  const unreadable = sysctlProvider.read(
    'net.ipv4.route.flush',
    { value: 1 },
    { persisted: probeResult('', 3), live: probeResult('', 1) },
    LIVE,
  );
  assert.equal(unreadable.live, null);
});

test('sysctl diff on a shared kernel compares only the persisted value', () => {
  const key = 'net.ipv4.tcp_rmem';
  const props = { value: '4096 87380 6291456' };
  assert.deepEqual(sysctlProvider.diff(key, props, readState(key, null, '1 2 3', SHARED), SHARED), [
    { property: 'persisted', from: null, to: '4096 87380 6291456' },
  ]);
  const same = readState(key, 'net.ipv4.tcp_rmem = 4096\t87380  6291456\n', '1 2 3', SHARED);
  assert.deepEqual(sysctlProvider.diff(key, props, same, SHARED), []);
});

test('sysctl diff on a live kernel reports the persisted and the live value separately', () => {
  const key = 'net.ipv4.ip_forward';
  const both = readState(key, 'net.ipv4.ip_forward = 0\n', '0\n', LIVE);
  assert.deepEqual(sysctlProvider.diff(key, { value: 1 }, both, LIVE), [
    { property: 'persisted', from: '0', to: '1' },
    { property: 'live', from: '0', to: '1' },
  ]);
  const liveOnly = readState(key, 'net.ipv4.ip_forward = 1\n', '0\n', LIVE);
  assert.deepEqual(sysctlProvider.diff(key, { value: 1 }, liveOnly, LIVE), [
    { property: 'live', from: '0', to: '1' },
  ]);
  const fileOnly = readState(key, null, '1\n', LIVE);
  assert.deepEqual(sysctlProvider.diff(key, { value: '1' }, fileOnly, LIVE), [
    { property: 'persisted', from: null, to: '1' },
  ]);
  assert.deepEqual(
    sysctlProvider.diff(key, { value: 1 }, readState(key, `${key} = 1\n`, '1\n', LIVE), LIVE),
    [],
  );
  // An unknown or write-only key cannot be compared live: only the persisted value counts.
  assert.deepEqual(
    sysctlProvider.diff(key, { value: 1 }, readState(key, `${key} = 1\n`, null, LIVE), LIVE),
    [],
  );
});

test('sysctl diff with ensure absent reports the file to remove, and nothing when it is gone', () => {
  const key = 'vm.swappiness';
  assert.deepEqual(
    sysctlProvider.diff(
      key,
      { ensure: 'absent' },
      readState(key, 'vm.swappiness = 5\n', null, SHARED),
      SHARED,
    ),
    [{ property: 'persisted', from: '5', to: null }],
  );
  assert.deepEqual(sysctlProvider.diff(key, { ensure: 'absent' }, readState(key, null, '5', LIVE), LIVE), []);
});

test('sysctl apply on a live kernel writes the file and runs sysctl -w as argv', async () => {
  const { ctx, runs, writes, warnings } = fakeContext(LIVE);
  await applyWith(
    ctx,
    'net.ipv4.tcp_rmem',
    { value: '4096  87380 6291456' },
    { file: false, persisted: null, live: '1 2 3' },
  );
  assert.deepEqual(writes, [
    {
      path: '/etc/sysctl.d/99-bulwark-net.ipv4.tcp_rmem.conf',
      data: 'net.ipv4.tcp_rmem = 4096 87380 6291456\n',
      mode: 0o644,
      backupDir: '/var/backups/bulwark',
    },
  ]);
  assert.deepEqual(runs, [['sysctl', '-w', 'net.ipv4.tcp_rmem=4096 87380 6291456']]);
  assert.deepEqual(warnings, []);
});

test('sysctl apply on a live kernel only runs sysctl -w when just the live value differs', async () => {
  const { ctx, runs, writes } = fakeContext(LIVE);
  await applyWith(ctx, 'vm.swappiness', { value: 10 }, { file: true, persisted: '10', live: '60' });
  assert.deepEqual(writes, []);
  assert.deepEqual(runs, [['sysctl', '-w', 'vm.swappiness=10']]);
  const other = fakeContext(LIVE);
  await applyWith(other.ctx, 'vm.swappiness', { value: 10 }, { file: false, persisted: null, live: '10' });
  assert.equal(other.writes.length, 1);
  assert.deepEqual(other.runs, [], 'the live value already matches');
});

test('sysctl apply keeps the persisted change and warns with the reason when sysctl -w fails', async () => {
  const { ctx, runs, writes, warnings } = fakeContext(LIVE, { sysctlFails: true });
  await applyWith(
    ctx,
    'net.bridge.bridge-nf-call-iptables',
    { value: 1 },
    { file: false, persisted: null, live: null },
  );
  assert.equal(writes.length, 1);
  assert.deepEqual(runs, [['sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=1']]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /could not be applied live/);
  assert.match(warnings[0] ?? '', /permission denied on key/);
});

test('sysctl apply on a shared kernel never runs sysctl and warns that the value is only persisted', async () => {
  const { ctx, runs, writes, warnings } = fakeContext(SHARED);
  await applyWith(ctx, 'vm.swappiness', { value: 10 }, { file: false, persisted: null, live: null });
  assert.equal(writes.length, 1);
  assert.deepEqual(runs, []);
  assert.deepEqual(warnings, [
    'sysctl[vm.swappiness]: vm.swappiness = 10 persisted in /etc/sysctl.d; not applied live: the target shares this machine kernel',
  ]);
});

test('sysctl validate accepts kernel keys and refuses hostile keys and values', () => {
  for (const key of [
    'net.ipv4.ip_forward',
    'net.ipv4.conf.br-lan.rp_filter',
    'kernel.core_pattern',
    'net.ipv6.conf.eth0.accept_ra',
  ]) {
    assert.deepEqual(sysctlProvider.validate(key, { value: 1 }), [], key);
  }
  for (const bad of [
    'net/ipv4/ip_forward',
    'net..ipv4',
    '../../etc/shadow',
    '.net.ipv4',
    'kernel',
    'net.ipv4.ip_forward; reboot',
    'net.ipv4.ip forward',
    '$(id).x',
    'net.ipv4.conf.*.rp_filter',
    'net.ipv4.x\n',
    'Net.ipv4.x',
    '',
  ]) {
    const problems = sysctlProvider.validate(bad, { value: 1 });
    assert.deepEqual(
      problems.map((p) => p.property),
      ['name'],
      JSON.stringify(bad),
    );
  }
  const prop = (props: SysctlProps) => sysctlProvider.validate('vm.swappiness', props).map((p) => p.property);
  assert.deepEqual(prop({}), ['value']);
  assert.deepEqual(prop({ ensure: 'absent' }), []);
  assert.deepEqual(prop({ value: '1\nkernel.modprobe = /tmp/x' }), ['value']);
  assert.deepEqual(prop({ value: '   ' }), ['value']);
  assert.deepEqual(prop({ value: 1.5 }), ['value']);
  assert.deepEqual(prop({ value: true as unknown as number }), ['value']);
  assert.deepEqual(prop({ value: '4096\t87380 6291456' }), []);
  assert.deepEqual(prop({ value: 1, ensure: 'off' as unknown as 'absent' }), ['ensure']);
});

test('sysctl persists a value on a test host without touching this machine kernel, then converges to zero changes', async (t) => {
  const host = await useTestHost(t);
  const key = 'vm.swappiness';
  const before = readFileSync('/proc/sys/vm/swappiness', 'utf8');
  const want = String((Number(before.trim()) + 7) % 100);

  const first = await observe(host.transport, sysctlProvider, key, { value: want });
  assert.equal(first.facts.liveKernel, false, 'test hosts share this machine kernel');

  const r = await convergeOne(host.transport, sysctlProvider, key, { value: want });
  assert.deepEqual(r.before, [{ property: 'persisted', from: null, to: want }]);
  assert.deepEqual(r.after, []);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0] ?? '', /not applied live: the target shares this machine kernel/);
  const file = `${host.root}${sysctlPath(key)}`;
  assert.equal(readFileSync(file, 'utf8'), `vm.swappiness = ${want}\n`);
  assert.equal((await host.sh(`stat -c %a:%U ${sysctlPath(key)}`)).stdout.toString().trim(), '644:root');
  assert.equal(readFileSync('/proc/sys/vm/swappiness', 'utf8'), before, "this machine's value is unchanged");

  const again = await convergeOne(host.transport, sysctlProvider, key, { value: Number(want) });
  assert.deepEqual(again.before, []);
  assert.deepEqual(again.warnings, []);

  const changed = await convergeOne(host.transport, sysctlProvider, key, { value: '3' });
  assert.deepEqual(changed.before, [{ property: 'persisted', from: want, to: '3' }]);
  assert.deepEqual(changed.after, []);
  assert.equal(readFileSync(file, 'utf8'), 'vm.swappiness = 3\n');
  assert.equal(
    (await host.sh('ls /var/backups/bulwark | grep -c 99-bulwark-vm.swappiness')).stdout.toString().trim(),
    '1',
  );
  assert.equal(readFileSync('/proc/sys/vm/swappiness', 'utf8'), before, "this machine's value is unchanged");
});

test('sysctl treats a multi-field value with other whitespace as up to date, and absent removes the file', async (t) => {
  const host = await useTestHost(t);
  const key = 'net.ipv4.tcp_rmem';
  await host.sh(`printf 'net.ipv4.tcp_rmem =\\t4096  87380\\t6291456\\n' > ${sysctlPath(key)}`);
  const same = await convergeOne(host.transport, sysctlProvider, key, { value: '4096 87380 6291456' });
  assert.deepEqual(same.before, []);

  const remove = await convergeOne(host.transport, sysctlProvider, key, { ensure: 'absent' });
  assert.deepEqual(remove.before, [{ property: 'persisted', from: '4096 87380 6291456', to: null }]);
  assert.deepEqual(remove.after, []);
  assert.equal((await host.sh(`test -e ${sysctlPath(key)}`)).exitCode, 1);
  assert.deepEqual((await convergeOne(host.transport, sysctlProvider, key, { ensure: 'absent' })).before, []);
});
