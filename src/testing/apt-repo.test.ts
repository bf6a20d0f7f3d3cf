import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalRepo, payloadPath, REPO_DIR } from './apt-repo.js';
import { createTestHost } from './host.js';

test('createLocalRepo serves real packages offline and keeps the Debian lists by default', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  await createLocalRepo(host, [
    { name: 'bwt-one', version: '1.0' },
    { name: 'bwt-one', version: '1:2.0-1' },
  ]);
  const policy = await host.sh('apt-cache policy bwt-one vsftpd');
  const text = policy.stdout.toString();
  assert.match(text, /bwt-one:\n {2}Installed: \(none\)\n {2}Candidate: 1:2\.0-1\n/);
  assert.match(text, new RegExp(`1\\.0 500\\n +500 file:${REPO_DIR} \\./ Packages`));
  assert.match(text, /vsftpd:\n {2}Installed: 3\.[^\n]+\n {2}Candidate: 3\./);
  const install = await host.sh(
    'apt-get install -y -q bwt-one=1.0 && cat /usr/share/bulwark-test/bwt-one-1.0',
  );
  assert.equal(install.exitCode, 0, install.stderr.toString());
  assert.match(install.stdout.toString(), /bwt-one 1\.0\n$/);
  assert.equal((await host.sh(`test -f ${payloadPath('bwt-one', '1.0')}`)).exitCode, 0);
});

test('createLocalRepo with only leaves the local repository as the single source and index', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  await createLocalRepo(host, [{ name: 'bwt-one', version: '1.0', conffile: true }], { only: true });
  const r = await host.sh('cat /etc/apt/sources.list /etc/apt/sources.list.d/*; ls /var/lib/apt/lists');
  const text = r.stdout.toString();
  assert.match(text, /deb \[trusted=yes\] file:\/srv\/bulwark-repo \.\//);
  assert.doesNotMatch(text, /deb\.debian\.org/);
  const policy = await host.sh('apt-cache policy vsftpd bwt-one');
  assert.match(policy.stdout.toString(), /vsftpd:\n {2}Installed: 3\.[^\n]+\n {2}Candidate: 3\.[^\n]+\n/);
  assert.match(policy.stdout.toString(), /bwt-one:\n {2}Installed: \(none\)\n {2}Candidate: 1\.0\n/);
  const conf = await host.sh('apt-get install -y -q bwt-one && cat /etc/bulwark-test/bwt-one.conf');
  assert.equal(conf.exitCode, 0, conf.stderr.toString());
  assert.match(conf.stdout.toString(), /# bwt-one configuration/);
});
