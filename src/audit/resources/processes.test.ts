import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { parsePs, processes } from './processes.js';
import { observeSubjects } from './testing.js';

// The probe (pid 890, started by bulwark 880) runs ps and, beside it, another probe command (pid 895); bulwark
// also runs esbuild's service (885), which loaded the profile.
const PS = `P 890
    1     0 root     /sbin/init
    2     0 root     [kthreadd]
  812   811 www-data nginx: worker process
  811     1 root     nginx: master process /usr/sbin/nginx -g daemon on;
  880     1 root     node /usr/bin/bulwark audit
  885   880 root     /usr/lib/node_modules/bulwark/node_modules/@esbuild/linux-x64/bin/esbuild --service=0.28.2 --ping
  890   880 root     /bin/sh -s
  895   890 root     /bin/sh -c cat /etc/ssh/sshd_config
  900   890 root     timeout -k 2 30 /bin/sh -c ps
  901   900 root     ps -e -ww -o pid= -o ppid= -o user:64= -o args=
`;

test('ps output parses into pid, user and command, without the audit’s own processes', () => {
  const list = parsePs(PS);
  assert.deepEqual(
    list.map((p) => p.pid),
    [1, 2, 812, 811],
  );
  assert.deepEqual(list[2], { pid: 812, user: 'www-data', command: 'nginx: worker process' });
});

test('a probe whose parent is init or outside the PID namespace leaves out only its own tree', () => {
  const reparented = PS.replace('  890   880 root     /bin/sh -s', '  890     1 root     /bin/sh -s');
  assert.deepEqual(
    parsePs(reparented).map((p) => p.pid),
    [1, 2, 812, 811, 880, 885],
  );
  const fromOutside = PS.replace('  890   880 root     /bin/sh -s', '  890     0 root     /bin/sh -s');
  assert.deepEqual(
    parsePs(fromOutside).map((p) => p.pid),
    [1, 2, 812, 811, 880, 885],
  );
});

test('processes() selects by command line and sorts by pid', () => {
  const o = { processes: parsePs(PS) };
  const nginx = processes('^nginx:');
  assert.equal(nginx.count.select(o as never), 2);
  assert.deepEqual(nginx.pids.select(o as never), [811, 812]);
  assert.deepEqual(nginx.users.select(o as never), ['root', 'www-data']);
  assert.equal(nginx.commands.select(o as never)[0], 'nginx: master process /usr/sbin/nginx -g daemon on;');
  assert.equal(processes('telnetd').count.select(o as never), 0);
  assert.throws(() => processes('[unclosed'), /regular expression/);
});

test('processes of a test host are observed, and a started daemon appears', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const ftp = processes('vsftpd');
  const before = await observeSubjects(host.transport, [ftp.count]);
  assert.equal(before.value(ftp.count), 0);
  await host.sh('service vsftpd start');
  const after = await observeSubjects(host.transport, [ftp.count, processes('.').count]);
  assert.equal(after.value(ftp.count), 1);
  assert.deepEqual(after.value(ftp.users), ['root']);
  assert.deepEqual(after.value(ftp.commands), ['/usr/sbin/vsftpd']);
  const pid = after.value(ftp.pids)[0];
  assert.equal((await host.sh(`cat /proc/${pid}/comm`)).stdout.toString().trim(), 'vsftpd');
  assert.equal(after.value(processes('ps -e -ww').count), 0);
});
