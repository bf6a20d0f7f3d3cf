import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useTestHost, type TestHost } from '../testing/host.js';
import { convergeOne, observe } from '../testing/provider.js';
import { FACTS } from './test-helpers.js';
import { passwordState, readUser, userProvider, type UserProps, type UserState } from './user.js';

const HASH1 =
  '$6$abcdefgh$oGoxMtczJ0/xYkNKQnGuC3pOdNoGsZRZNs7n5JzX8KfMJWEmD2Bx4wBt/tMCPvjE87aPyrlQPEKxEcxV6d4J6.';
const HASH2 =
  '$6$ijklmnop$tAgsvAKbYmqukqKRVjiOdanRKWM8ah75LBSkiFCkHdNyY8xJ.OdkMkSc5EFk4qR1xKx5uNnJzVn/C5pawjsys.';
const HASH3 = '$5$qrstuvwx$v4Ijih./Pzmabr19eqlGq.3Fr95d0OZPt9xvMJmnls8';
const HASHES = [HASH1, HASH2, HASH3];

const PASSWD = `root:x:0:0:root:/root:/bin/bash
alice:x:1000:1000:Alice A,,,:/home/alice:/bin/bash
bob:x:1001:100::/srv/bob:/bin/sh
`;
const SHADOW = `root:*:20000:0:99999:7:::
alice:${HASH1}:20000:0:99999:7:::
bob:!${HASH2}:20000:0:99999:7:::
`;
const GROUP = `root:x:0:
users:x:100:
sudo:x:27:alice
adm:x:4:bob,alice
alice:x:1000:
`;

function stateOf(name: string, shadow = SHADOW): UserState {
  return readUser(name, PASSWD, shadow, GROUP);
}

function diff(name: string, props: UserProps, shadow = SHADOW) {
  return userProvider.diff(name, props, stateOf(name, shadow), FACTS);
}

/** Fails when any of the hashes appears anywhere in the value. */
function assertNoHash(value: unknown): void {
  const text = JSON.stringify(value);
  for (const h of HASHES) {
    assert.ok(!text.includes(h), 'a password hash leaked');
    assert.ok(!text.includes(h.slice(12)), 'part of a password hash leaked');
  }
}

test('readUser parses passwd, shadow and group into the account state', () => {
  const s = stateOf('alice');
  assert.equal(s.exists, true);
  assert.equal(s.uid, 1000);
  assert.equal(s.gid, 1000);
  assert.equal(s.primaryGroup, 'alice');
  assert.deepEqual(s.groups, ['adm', 'sudo']);
  assert.equal(s.home, '/home/alice');
  assert.equal(s.shell, '/bin/bash');
  assert.equal(s.comment, 'Alice A,,,');
  assert.deepEqual(
    { ...s.password, digest: undefined },
    { locked: false, lockMark: false, hasHash: true, digest: undefined },
  );
  assert.equal(stateOf('bob').password?.locked, true);
  assert.equal(stateOf('root').password?.hasHash, false);
  assert.equal(stateOf('nobody').exists, false);
});

test('the observed user state never holds the password hash', () => {
  for (const name of ['alice', 'bob']) assertNoHash(stateOf(name));
});

test('passwordState tells lock marks, locked-only fields and real hashes apart', () => {
  assert.deepEqual(
    [passwordState('!'), passwordState('*'), passwordState(''), passwordState(`!${HASH1}`)].map((p) => [
      p.locked,
      p.lockMark,
      p.hasHash,
    ]),
    [
      [true, true, false],
      [true, false, false],
      [false, false, false],
      [true, true, true],
    ],
  );
});

test('user diff is empty when every given property matches', () => {
  assert.deepEqual(
    diff('alice', {
      uid: 1000,
      gid: 'alice',
      groups: ['sudo', 'adm'],
      home: '/home/alice',
      shell: '/bin/bash',
      comment: 'Alice A,,,',
      password: HASH1,
      locked: false,
    }),
    [],
  );
  assert.deepEqual(diff('bob', { gid: 100, password: HASH2, locked: true }), []);
  assert.deepEqual(diff('bob', { password: `!${HASH2}` }), []);
});

test('user diff reports each differing property', () => {
  assert.deepEqual(
    diff('alice', {
      uid: 1005,
      gid: 'users',
      groups: ['sudo'],
      home: '/srv/a',
      shell: '/bin/sh',
      comment: 'A',
    }),
    [
      { property: 'uid', from: '1000', to: '1005' },
      { property: 'gid', from: 'alice', to: 'users' },
      { property: 'groups', from: 'adm,sudo', to: 'sudo' },
      { property: 'home', from: '/home/alice', to: '/srv/a' },
      { property: 'shell', from: '/bin/bash', to: '/bin/sh' },
      { property: 'comment', from: 'Alice A,,,', to: 'A' },
    ],
  );
  assert.deepEqual(diff('alice', { gid: 'nosuchgroup' }), [
    { property: 'gid', from: 'alice', to: 'nosuchgroup' },
  ]);
  assert.deepEqual(diff('alice', { gid: 100 }), [{ property: 'gid', from: 'alice', to: '100' }]);
  assert.deepEqual(diff('alice', { groups: [] }), [{ property: 'groups', from: 'adm,sudo', to: '(none)' }]);
});

test('user diff reports creation and removal', () => {
  assert.deepEqual(diff('carol', { shell: '/bin/bash' }), [
    { property: 'ensure', from: 'absent', to: 'present' },
    { property: 'shell', from: null, to: '/bin/bash' },
  ]);
  assert.deepEqual(diff('alice', { ensure: 'absent' }), [
    { property: 'ensure', from: 'present', to: 'absent' },
  ]);
  assert.deepEqual(diff('carol', { ensure: 'absent' }), []);
});

test('user diff shows password changes with placeholders, never the hash', () => {
  const changes = [
    diff('alice', { password: HASH2 }),
    diff('bob', { password: HASH1 }),
    diff('carol', { password: HASH3, locked: true }),
    diff('root', { password: HASH3 }),
    diff('alice', { password: '!' }),
  ];
  assert.deepEqual(changes[0], [{ property: 'password', from: '(hash differs)', to: '(hash set)' }]);
  assert.deepEqual(changes[2], [
    { property: 'ensure', from: 'absent', to: 'present' },
    { property: 'password', from: null, to: '(hash set)' },
  ]);
  assert.deepEqual(changes[3], [{ property: 'password', from: '(no hash)', to: '(hash set)' }]);
  assert.deepEqual(changes[4], [
    { property: 'password', from: '(hash differs)', to: '(no hash)' },
    { property: 'locked', from: 'false', to: 'true' },
  ]);
  assertNoHash(changes);
});

test('user diff reports lock changes apart from the hash', () => {
  assert.deepEqual(diff('alice', { locked: true }), [{ property: 'locked', from: 'false', to: 'true' }]);
  assert.deepEqual(diff('bob', { locked: false }), [{ property: 'locked', from: 'true', to: 'false' }]);
  assert.deepEqual(diff('root', { locked: true }), [], "'*' is already locked");
  assert.deepEqual(diff('carol', { locked: true }), [{ property: 'ensure', from: 'absent', to: 'present' }]);
});

test('user validate accepts a full declaration', () => {
  assert.deepEqual(
    userProvider.validate('deploy', {
      uid: 1500,
      gid: 'www-data',
      groups: ['sudo', 'adm'],
      home: '/srv/deploy',
      shell: '/bin/bash',
      system: false,
      comment: 'Deploy user, ops',
      manageHome: true,
      password: HASH1,
      locked: false,
    }),
    [],
  );
  for (const password of ['!', '*', '!*', `!${HASH3}`]) {
    assert.deepEqual(userProvider.validate('deploy', { password }), [], password);
  }
});

test('user validate refuses hostile names, groups and paths', () => {
  for (const bad of ['Root', 'a b', 'x;id', '$(reboot)', '`id`', 'a\nb', '-o', '', 'a/b', 'u'.repeat(33)]) {
    assert.deepEqual(
      userProvider.validate(bad, {}).map((p) => p.property),
      ['name'],
      JSON.stringify(bad),
    );
  }
  const problems = userProvider.validate('ok', {
    gid: 'wheel;rm -rf /',
    groups: ['sudo', '$(id)'],
    home: 'home/ok',
    shell: '/bin/sh\n/bin/evil',
    comment: 'a:b',
    uid: -5,
    manageHome: 'yes' as unknown as boolean,
  });
  assert.deepEqual(problems.map((p) => p.property).sort(), [
    'comment',
    'gid',
    'groups',
    'home',
    'manageHome',
    'shell',
    'uid',
  ]);
  assert.ok(problems.every((p) => p.code === 'BULWARK_RESOURCE_INVALID'));
  assert.equal(userProvider.validate('ok', { comment: 'line\nbreak' }).length, 1);
  assert.equal(userProvider.validate('ok', { home: '/home/../etc' }).length, 1);
});

test('user validate refuses a plain-text password without repeating it', () => {
  for (const secret of ['hunter2', 'correct horse battery staple', '$6$', 'abcdefghijklm', '', '$6$a$b:c']) {
    const problems = userProvider.validate('ok', { password: secret });
    assert.equal(problems.length, 1, JSON.stringify(secret));
    assert.equal(problems[0]?.property, 'password');
    if (secret.length > 3)
      assert.ok(!problems[0]?.message.includes(secret), 'the message repeats the password');
  }
  assert.deepEqual(
    userProvider.validate('ok', { password: '!', locked: false }).map((p) => p.property),
    ['locked'],
  );
});

async function passwdLine(host: TestHost, name: string): Promise<string> {
  return (await host.sh(`getent passwd ${name}`)).stdout.toString().trim();
}

async function shadowField(host: TestHost, name: string): Promise<string> {
  return (await host.sh(`getent shadow ${name} | cut -d: -f2`)).stdout.toString().trim();
}

test('user creates an account with every property on a real host, then converges to zero changes', async (t) => {
  const host = await useTestHost(t);
  await host.sh('groupadd -g 3000 app && groupadd ops && groupadd web');
  const props: UserProps = {
    uid: 3001,
    gid: 'app',
    groups: ['web', 'ops'],
    home: '/srv/deploy',
    shell: '/bin/bash',
    comment: 'Deploy user',
    manageHome: true,
    password: HASH1,
  };
  const r = await convergeOne(host.transport, userProvider, 'deploy', props);
  assert.deepEqual(
    r.before.map((c) => c.property),
    ['ensure', 'uid', 'gid', 'groups', 'home', 'shell', 'comment', 'password'],
  );
  assertNoHash(r);
  assert.deepEqual(r.after, []);
  assert.equal(await passwdLine(host, 'deploy'), 'deploy:x:3001:3000:Deploy user:/srv/deploy:/bin/bash');
  assert.equal((await host.sh('id -Gn deploy')).stdout.toString().trim(), 'app ops web');
  assert.equal(await shadowField(host, 'deploy'), HASH1);
  assert.equal((await host.sh('stat -c %U:%G /srv/deploy')).stdout.toString().trim(), 'deploy:app');
  assert.deepEqual((await convergeOne(host.transport, userProvider, 'deploy', props)).before, []);
});

test('user modifies an existing account: uid, shell, comment, groups and a moved home', async (t) => {
  const host = await useTestHost(t);
  await host.sh(
    'groupadd ops && groupadd web && useradd -m -G ops -s /bin/sh alice && touch /home/alice/keep && chown alice /home/alice/keep',
  );
  const props: UserProps = {
    uid: 4000,
    groups: ['web'],
    home: '/srv/alice',
    manageHome: true,
    shell: '/bin/bash',
    comment: 'Alice',
  };
  const r = await convergeOne(host.transport, userProvider, 'alice', props);
  assert.deepEqual(r.before, [
    { property: 'uid', from: '1000', to: '4000' },
    { property: 'groups', from: 'ops', to: 'web' },
    { property: 'home', from: '/home/alice', to: '/srv/alice' },
    { property: 'shell', from: '/bin/sh', to: '/bin/bash' },
    { property: 'comment', from: '', to: 'Alice' },
  ]);
  assert.deepEqual(r.after, []);
  assert.equal(await passwdLine(host, 'alice'), 'alice:x:4000:1002:Alice:/srv/alice:/bin/bash');
  assert.equal((await host.sh('id -Gn alice')).stdout.toString().trim(), 'alice web');
  assert.equal(
    (await host.sh('stat -c %u /srv/alice/keep && test ! -e /home/alice')).stdout.toString().trim(),
    '4000',
  );
  assert.deepEqual((await convergeOne(host.transport, userProvider, 'alice', props)).before, []);
});

test('user sets, changes, locks and unlocks a password hash idempotently', async (t) => {
  const host = await useTestHost(t);
  await host.sh('useradd bob');
  assert.equal(await shadowField(host, 'bob'), '!');

  const cannot = await observe(host.transport, userProvider, 'bob', { locked: false });
  assert.deepEqual(cannot.changes, [{ property: 'locked', from: 'true', to: 'false' }]);
  await assert.rejects(
    convergeOne(host.transport, userProvider, 'bob', { locked: false }),
    /no password hash/,
  );

  const set = await convergeOne(host.transport, userProvider, 'bob', { password: HASH1 });
  assert.deepEqual(set.before, [{ property: 'password', from: '(no hash)', to: '(hash set)' }]);
  assert.deepEqual(set.after, []);
  assert.equal(await shadowField(host, 'bob'), HASH1);
  assert.deepEqual((await convergeOne(host.transport, userProvider, 'bob', { password: HASH1 })).before, []);

  const lock = await convergeOne(host.transport, userProvider, 'bob', { password: HASH1, locked: true });
  assert.deepEqual(lock.before, [{ property: 'locked', from: 'false', to: 'true' }]);
  assert.deepEqual(lock.after, []);
  assert.equal(await shadowField(host, 'bob'), `!${HASH1}`);

  // A new hash keeps a deliberate lock when `locked` is not given.
  const change = await convergeOne(host.transport, userProvider, 'bob', { password: HASH2 });
  assert.deepEqual(change.before, [{ property: 'password', from: '(hash differs)', to: '(hash set)' }]);
  assert.deepEqual(change.after, []);
  assert.equal(await shadowField(host, 'bob'), `!${HASH2}`);

  const unlock = await convergeOne(host.transport, userProvider, 'bob', { locked: false });
  assert.deepEqual(unlock.before, [{ property: 'locked', from: 'true', to: 'false' }]);
  assert.deepEqual(unlock.after, []);
  assert.equal(await shadowField(host, 'bob'), HASH2);

  const both = await convergeOne(host.transport, userProvider, 'bob', { password: HASH3, locked: true });
  assert.deepEqual(both.after, []);
  assert.equal(await shadowField(host, 'bob'), `!${HASH3}`);

  const noPassword = await convergeOne(host.transport, userProvider, 'bob', { password: '*' });
  assert.deepEqual(noPassword.after, []);
  assert.equal(await shadowField(host, 'bob'), '*');
  for (const r of [set, lock, change, unlock, both, noPassword]) assertNoHash(r);
});

test('user creates a locked account with a hash, and a new account joins an existing group of its name', async (t) => {
  const host = await useTestHost(t);
  const locked = await convergeOne(host.transport, userProvider, 'carol', { password: HASH3, locked: true });
  assert.deepEqual(locked.after, []);
  assert.equal(await shadowField(host, 'carol'), `!${HASH3}`);
  assert.equal((await host.sh('test -e /home/carol || echo none')).stdout.toString().trim(), 'none');

  await host.sh('groupadd -g 5000 dave');
  const dave = await convergeOne(host.transport, userProvider, 'dave', {});
  assert.deepEqual(dave.before, [{ property: 'ensure', from: 'absent', to: 'present' }]);
  assert.deepEqual(dave.after, []);
  assert.equal((await host.sh('id -g dave')).stdout.toString().trim(), '5000');

  const sys = await convergeOne(host.transport, userProvider, 'svc', {
    system: true,
    shell: '/usr/sbin/nologin',
  });
  assert.deepEqual(sys.after, []);
  const uid = Number((await host.sh('id -u svc')).stdout.toString().trim());
  assert.ok(uid > 0 && uid < 1000, `system uid ${uid} should be below 1000`);
});

test('user removes an account, with its home when manageHome is set', async (t) => {
  const host = await useTestHost(t);
  await host.sh('useradd -m erin && useradd -m frank');

  const erin = await convergeOne(host.transport, userProvider, 'erin', {
    ensure: 'absent',
    manageHome: true,
  });
  assert.deepEqual(erin.before, [{ property: 'ensure', from: 'present', to: 'absent' }]);
  assert.deepEqual(erin.after, []);
  assert.equal((await host.sh('getent passwd erin')).exitCode, 2);
  assert.equal((await host.sh('test -e /home/erin')).exitCode, 1);

  const frank = await convergeOne(host.transport, userProvider, 'frank', { ensure: 'absent' });
  assert.deepEqual(frank.after, []);
  assert.equal((await host.sh('getent passwd frank')).exitCode, 2);
  assert.equal((await host.sh('test -d /home/frank')).exitCode, 0, 'the home stays without manageHome');
  assert.deepEqual(
    (await convergeOne(host.transport, userProvider, 'frank', { ensure: 'absent' })).before,
    [],
  );
});
