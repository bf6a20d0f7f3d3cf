import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { classifyPassword, group, groups, parseAccounts, user, users } from './accounts.js';
import { observeSubjects } from './testing.js';

const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
toor:x:0:0::/root:/bin/sh
nopass::1001:1001::/home/nopass:/bin/sh
legacy:$6$salt$hash:1002:1000::/home/legacy:/bin/sh
noshadow:x:1003:1000::/home/noshadow:/bin/sh
+nis
`;
const SHADOW = `root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
alice:$y$j9T$abc$def:19000:1:90:14:30::
toor:!$6$x$y:19000::::::
nopass::19000:0:99999:7:::
`;
const GROUP = `root:x:0:
sudo:x:27:alice
alice:x:1000:
wheel:x:27:
alice:x:1005:bob
`;

test('password fields are classified without keeping the hash', () => {
  assert.equal(classifyPassword('$y$j9T$abc$def'), 'set');
  assert.equal(classifyPassword('!$y$j9T$abc$def'), 'locked');
  assert.equal(classifyPassword(''), 'empty');
  assert.equal(classifyPassword('*'), 'none');
  assert.equal(classifyPassword('!'), 'none');
  assert.equal(classifyPassword('!*'), 'none');
  assert.equal(classifyPassword('!!'), 'none');
});

test('accounts parse from passwd, shadow and group, and no hash survives', () => {
  const o = parseAccounts(PASSWD, SHADOW, GROUP);
  assert.equal(JSON.stringify(o).includes('$'), false);
  assert.deepEqual(
    o.users.map((u) => [u.name, u.passwordState]),
    [
      ['root', 'none'],
      ['daemon', 'none'],
      ['alice', 'set'],
      ['toor', 'locked'],
      ['nopass', 'empty'],
      ['legacy', 'set'],
      ['noshadow', 'none'],
    ],
  );
  const alice = user('alice');
  assert.equal(alice.maxDays.select(o as never), 90);
  assert.equal(alice.minDays.select(o as never), 1);
  assert.equal(alice.warnDays.select(o as never), 14);
  assert.equal(alice.inactiveDays.select(o as never), 30);
  assert.equal(alice.group.select(o as never), 'alice');
  assert.deepEqual(alice.groups.select(o as never), ['alice', 'sudo']);
  assert.equal(user('toor').maxDays.select(o as never), undefined);
  assert.equal(user('nobody').exists.select(o as never), false);
  assert.equal(user('nobody').uid.select(o as never), undefined);
});

test('users() finds uid 0 accounts, duplicate uids and empty passwords', () => {
  const o = parseAccounts(PASSWD, SHADOW, GROUP);
  const all = users();
  assert.deepEqual(all.withUid0.select(o as never), ['root', 'toor']);
  assert.deepEqual(all.duplicateUids.select(o as never), [0]);
  assert.deepEqual(all.withEmptyPasswords.select(o as never), ['nopass']);
  assert.deepEqual(all.uids.select(o as never), [0, 1, 1000, 1001, 1002, 1003]);
  assert.equal(all.names.select(o as never).length, 7);
  assert.deepEqual(all.list.select(o as never)[2], {
    name: 'alice',
    uid: 1000,
    gid: 1000,
    home: '/home/alice',
    shell: '/bin/bash',
  });
});

test('groups() finds duplicate gids and names, group() the first entry of a name', () => {
  const o = parseAccounts(PASSWD, SHADOW, GROUP);
  assert.deepEqual(groups().duplicateGids.select(o as never), [27]);
  assert.deepEqual(groups().duplicateNames.select(o as never), ['alice']);
  assert.deepEqual(groups().gids.select(o as never), [0, 27, 1000, 1005]);
  assert.equal(group('alice').gid.select(o as never), 1000);
  assert.deepEqual(group('sudo').members.select(o as never), ['alice']);
  assert.equal(group('nogroup').exists.select(o as never), false);
});

test('hostile account names are refused at once', () => {
  assert.throws(() => user('root:x:0'), /account name/);
  assert.throws(() => group('a b'), /account name/);
  assert.throws(() => user(''), /account name/);
});

test('accounts made on a test host are observed with their groups, password state and aging', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const r = await host.sh(
    'set -e; groupadd -g 2000 auditors; useradd -m -u 1500 -G auditors,sudo -s /bin/bash dave; ' +
      "echo 'dave:$6$saltsalt$0123456789abcdef' | chpasswd -e; chage -M 60 -m 2 -W 10 dave; " +
      'useradd -u 1501 erin; passwd -d erin >/dev/null; useradd -o -u 0 -g 0 -M -N backdoor; ' +
      "echo 'backdoor:$6$s$h' | chpasswd -e; usermod -L backdoor",
  );
  assert.equal(r.exitCode, 0, r.stderr.toString());
  const dave = user('dave');
  const o = await observeSubjects(host.transport, [dave.exists, users().names, group('auditors').gid]);
  assert.equal(o.value(dave.exists), true);
  assert.equal(o.value(dave.uid), 1500);
  assert.equal(o.value(dave.group), 'dave');
  assert.deepEqual(o.value(dave.groups), ['auditors', 'dave', 'sudo']);
  assert.equal(o.value(dave.home), '/home/dave');
  assert.equal(o.value(dave.shell), '/bin/bash');
  assert.equal(o.value(dave.passwordState), 'set');
  assert.equal(o.value(dave.maxDays), 60);
  assert.equal(o.value(dave.minDays), 2);
  assert.equal(o.value(dave.warnDays), 10);
  assert.equal(o.value(user('erin').passwordState), 'empty');
  assert.equal(o.value(user('backdoor').passwordState), 'locked');
  assert.equal(o.value(user('root').passwordState), 'none');
  assert.deepEqual(o.value(users().withUid0), ['root', 'backdoor']);
  assert.deepEqual(o.value(users().duplicateUids), [0]);
  assert.deepEqual(o.value(users().withEmptyPasswords), ['erin']);
  assert.equal(o.value(group('auditors').gid), 2000);
  assert.deepEqual(o.value(group('auditors').members), ['dave']);
  assert.deepEqual(o.value(groups().duplicateGids), []);
});
