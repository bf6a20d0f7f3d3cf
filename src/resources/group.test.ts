import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useTestHost } from '../testing/host.js';
import { convergeOne, observe } from '../testing/provider.js';
import { groupProvider, parseGroupFile, type GroupProps, type GroupState } from './group.js';
import { FACTS, probeResult } from './test-helpers.js';

const GROUP_FILE = `root:x:0:
# a comment
sudo:x:27:alice,bob
+nisgroup::::
staff:x:50:
broken:x:notanumber:
`;

function state(name: string, text = GROUP_FILE): GroupState {
  return groupProvider.read(name, {}, { group: probeResult(text) }, FACTS);
}

function diff(name: string, props: GroupProps, text = GROUP_FILE) {
  return groupProvider.diff(name, props, state(name, text), FACTS);
}

test('parseGroupFile reads names, gids and members and skips comments, NIS lines and bad gids', () => {
  assert.deepEqual(parseGroupFile(GROUP_FILE), [
    { name: 'root', gid: 0, members: [] },
    { name: 'sudo', gid: 27, members: ['alice', 'bob'] },
    { name: 'staff', gid: 50, members: [] },
  ]);
});

test('group read reports a missing group as null and a missing /etc/group as no groups', () => {
  assert.equal(state('nosuch').entry, null);
  const r = groupProvider.read('sudo', {}, { group: probeResult('', 3) }, FACTS);
  assert.equal(r.entry, null);
});

test('group read refuses to guess when /etc/group could not be read', () => {
  assert.throws(() => groupProvider.read('sudo', {}, { group: probeResult('', 1) }, FACTS), {
    code: 'BULWARK_PROBE_FAILED',
  });
});

test('group diff is empty when the group exists with the wanted gid and members in any order', () => {
  assert.deepEqual(diff('sudo', { gid: 27, members: ['bob', 'alice'] }), []);
  assert.deepEqual(diff('staff', { members: [] }), []);
});

test('group diff reports creation with the gid and members to set', () => {
  assert.deepEqual(diff('web', { gid: 2000, members: ['bob', 'alice'] }), [
    { property: 'ensure', from: 'absent', to: 'present' },
    { property: 'gid', from: null, to: '2000' },
    { property: 'members', from: null, to: 'alice,bob' },
  ]);
  assert.deepEqual(diff('web', { members: [] }), [{ property: 'ensure', from: 'absent', to: 'present' }]);
});

test('group diff reports a gid change and an exact member list change', () => {
  assert.deepEqual(diff('sudo', { gid: 28, members: ['alice'] }), [
    { property: 'gid', from: '27', to: '28' },
    { property: 'members', from: 'alice,bob', to: 'alice' },
  ]);
  assert.deepEqual(diff('sudo', { members: [] }), [{ property: 'members', from: 'alice,bob', to: '(none)' }]);
});

test('group diff leaves members alone when they are not given', () => {
  assert.deepEqual(diff('sudo', {}), []);
});

test('group diff reports removal only when the group exists', () => {
  assert.deepEqual(diff('sudo', { ensure: 'absent' }), [
    { property: 'ensure', from: 'present', to: 'absent' },
  ]);
  assert.deepEqual(diff('nosuch', { ensure: 'absent' }), []);
});

test('group validate accepts Debian names and refuses hostile or malformed names and props', () => {
  assert.deepEqual(
    groupProvider.validate('web-admins', { gid: 1500, system: true, members: ['a', '_b'] }),
    [],
  );
  assert.deepEqual(groupProvider.validate('machine$', {}), []);
  for (const bad of [
    'Web',
    '1abc',
    '-rf',
    'a b',
    'a;rm -rf /',
    '$(id)',
    'a\nb',
    '',
    'x'.repeat(33),
    '../etc',
    'a:b',
  ]) {
    const problems = groupProvider.validate(bad, {});
    assert.equal(problems.length, 1, `${JSON.stringify(bad)} should be refused`);
    assert.equal(problems[0]?.code, 'BULWARK_RESOURCE_INVALID');
    assert.equal(problems[0]?.property, 'name');
  }
  const problems = groupProvider.validate('ok', {
    gid: -1,
    system: 'yes' as unknown as boolean,
    members: ['fine', 'x;reboot', 'fine'],
    ensure: 'gone' as unknown as 'absent',
  });
  assert.deepEqual(problems.map((p) => p.property).sort(), ['ensure', 'gid', 'members', 'members', 'system']);
  assert.equal(groupProvider.validate('ok', { gid: 1.5 }).length, 1);
  assert.equal(groupProvider.validate('ok', { gid: 4294967295 }).length, 1);
  assert.equal(groupProvider.validate('ok', { members: 'alice' as unknown as string[] }).length, 1);
});

test('group converges on a real host: create with gid and members, change both, then remove', async (t) => {
  const host = await useTestHost(t);
  await host.sh('useradd alice && useradd bob && useradd carol');

  const create = await convergeOne(host.transport, groupProvider, 'web', {
    gid: 2345,
    members: ['bob', 'alice'],
  });
  assert.deepEqual(
    create.before.map((c) => c.property),
    ['ensure', 'gid', 'members'],
  );
  assert.deepEqual(create.after, []);
  assert.equal((await host.sh('getent group web')).stdout.toString(), 'web:x:2345:alice,bob\n');
  assert.match((await host.sh('grep ^web: /etc/gshadow')).stdout.toString(), /:alice,bob$/m);

  const modify = await convergeOne(host.transport, groupProvider, 'web', { gid: 2346, members: ['carol'] });
  assert.deepEqual(modify.before, [
    { property: 'gid', from: '2345', to: '2346' },
    { property: 'members', from: 'alice,bob', to: 'carol' },
  ]);
  assert.deepEqual(modify.after, []);
  assert.equal((await host.sh('getent group web')).stdout.toString(), 'web:x:2346:carol\n');

  const empty = await convergeOne(host.transport, groupProvider, 'web', { members: [] });
  assert.deepEqual(empty.before, [{ property: 'members', from: 'carol', to: '(none)' }]);
  assert.deepEqual(empty.after, []);
  assert.equal((await host.sh('getent group web')).stdout.toString(), 'web:x:2346:\n');

  const again = await convergeOne(host.transport, groupProvider, 'web', { gid: 2346, members: [] });
  assert.deepEqual(again.before, [], 'a second converge changes nothing');

  const remove = await convergeOne(host.transport, groupProvider, 'web', { ensure: 'absent' });
  assert.deepEqual(remove.before, [{ property: 'ensure', from: 'present', to: 'absent' }]);
  assert.deepEqual(remove.after, []);
  assert.equal((await host.sh('getent group web')).exitCode, 2);
  assert.deepEqual(
    (await convergeOne(host.transport, groupProvider, 'web', { ensure: 'absent' })).before,
    [],
  );
});

test('group creates a system group with a gid from the system range', async (t) => {
  const host = await useTestHost(t);
  const r = await convergeOne(host.transport, groupProvider, 'svc', { system: true });
  assert.deepEqual(r.before, [{ property: 'ensure', from: 'absent', to: 'present' }]);
  assert.deepEqual(r.after, []);
  const gid = Number((await host.sh('getent group svc | cut -d: -f3')).stdout.toString().trim());
  assert.ok(gid > 0 && gid < 1000, `system gid ${gid} should be below 1000`);
  assert.deepEqual((await observe(host.transport, groupProvider, 'svc', { system: true })).changes, []);
});

test('group apply fails with BULWARK_APPLY_FAILED when a member does not exist', async (t) => {
  const host = await useTestHost(t);
  await assert.rejects(
    convergeOne(host.transport, groupProvider, 'web', { members: ['ghost'] }),
    (e: Error) => {
      assert.equal((e as { code?: string }).code, 'BULWARK_APPLY_FAILED');
      assert.match(e.message, /ghost/);
      return true;
    },
  );
});
