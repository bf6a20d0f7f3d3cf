import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { ensureBaseRoot } from '../../testing/root.js';
import {
  parseDirective,
  parseSources,
  parseSshConfig,
  splitArgs,
  sshConfig,
  sshdConfig,
  type SshConfigObservation,
} from './ssh.js';
import { observeSubjects } from './testing.js';

/** Sources for the parser: the main file, other files, and what each Include pattern expands to. */
function parse(
  main: string,
  others: Record<string, string> = {},
  globs: Record<string, string[]> = {},
  flavour: 'server' | 'client' = 'server',
): SshConfigObservation {
  const path = flavour === 'server' ? '/etc/ssh/sshd_config' : '/etc/ssh/ssh_config';
  return parseSshConfig(
    {
      main: path,
      files: new Map([[path, main], ...Object.entries(others)]),
      globs: new Map(Object.entries(globs)),
    },
    flavour,
  );
}

const rootFile = (path: string): string => readFileSync(join(ensureBaseRoot(), path), 'utf8');

test("Debian's default sshd_config gives its effective settings, with commented lines unset", () => {
  const text = rootFile('etc/ssh/sshd_config');
  const o = parse(text, {}, { '/etc/ssh/sshd_config.d/*.conf': [] });
  assert.equal(o.effective['usepam'], 'yes');
  assert.equal(o.effective['kbdinteractiveauthentication'], 'no');
  assert.equal(o.effective['x11forwarding'], 'yes');
  assert.equal(o.effective['printmotd'], 'no');
  assert.equal(o.effective['acceptenv'], 'LANG LC_*');
  assert.equal(o.effective['subsystem'], 'sftp /usr/lib/openssh/sftp-server');
  assert.equal(o.effective['permitrootlogin'], undefined);
  assert.equal(o.effective['include'], undefined);
  assert.deepEqual(o.blocks, []);
  assert.deepEqual(o.files, ['/etc/ssh/sshd_config']);
});

test('a drop-in included at the top of the Debian file wins over the settings after it', () => {
  const text = `${rootFile('etc/ssh/sshd_config')}\nPermitRootLogin yes\nX11Forwarding yes\n`;
  const o = parse(
    text,
    {
      '/etc/ssh/sshd_config.d/10-hardening.conf': 'PermitRootLogin no\nX11Forwarding no\n',
      '/etc/ssh/sshd_config.d/20-later.conf': 'PermitRootLogin prohibit-password\nMaxAuthTries 3\n',
    },
    {
      '/etc/ssh/sshd_config.d/*.conf': [
        '/etc/ssh/sshd_config.d/10-hardening.conf',
        '/etc/ssh/sshd_config.d/20-later.conf',
      ],
    },
  );
  assert.equal(o.effective['permitrootlogin'], 'no');
  assert.equal(o.effective['x11forwarding'], 'no');
  assert.equal(o.effective['maxauthtries'], '3');
  assert.deepEqual(o.values['permitrootlogin'], ['no', 'prohibit-password', 'yes']);
  assert.deepEqual(o.files, [
    '/etc/ssh/sshd_config',
    '/etc/ssh/sshd_config.d/10-hardening.conf',
    '/etc/ssh/sshd_config.d/20-later.conf',
  ]);
});

test('keywords are case-insensitive and the first value wins', () => {
  const o = parse('PERMITROOTLOGIN no\npermitrootlogin yes\nPermitRootLogin without-password\n');
  assert.equal(o.effective['permitrootlogin'], 'no');
  assert.equal(
    sshdConfig()
      .get('PermitRootLogin')
      .select(o as never),
    'no',
  );
  assert.equal(
    sshdConfig()
      .get('permitROOTlogin')
      .select(o as never),
    'no',
  );
  assert.deepEqual(
    sshdConfig()
      .getAll('PermitRootLogin')
      .select(o as never),
    ['no', 'yes', 'without-password'],
  );
});

test('quotes group words, comments end a line, and Key=value is accepted', () => {
  assert.deepEqual(splitArgs('"/etc/issue net"'), ['/etc/issue net']);
  assert.deepEqual(splitArgs(`".ssh/authorized keys" .ssh/other # comment`), [
    '.ssh/authorized keys',
    '.ssh/other',
  ]);
  assert.deepEqual(splitArgs(`'single quoted' a\\ b "x\\"y"`), ['single quoted', 'a b', 'x"y']);
  assert.deepEqual(splitArgs('a#b c'), ['a#b', 'c']);
  assert.deepEqual(parseDirective('  PermitRootLogin=no'), { key: 'permitrootlogin', args: ['no'] });
  assert.deepEqual(parseDirective('PermitRootLogin = no'), { key: 'permitrootlogin', args: ['no'] });
  assert.equal(parseDirective('# PermitRootLogin no'), undefined);
  assert.equal(parseDirective('   '), undefined);
  const o = parse('Banner "/etc/issue net"\nPort 2222 # not 22\nAllowUsers alice  bob\r\n');
  assert.equal(o.effective['banner'], '/etc/issue net');
  assert.equal(o.effective['port'], '2222');
  assert.equal(o.effective['allowusers'], 'alice bob');
});

test('Match blocks are excluded from the defaults and listed with their settings', () => {
  const o = parse(
    'PasswordAuthentication no\nMatch User backup\n  PasswordAuthentication yes\n  PermitRootLogin yes\n' +
      'Match Address 10.0.0.0/8\n  X11Forwarding yes\n',
  );
  assert.equal(o.effective['passwordauthentication'], 'no');
  assert.equal(o.effective['permitrootlogin'], undefined);
  assert.equal(o.effective['x11forwarding'], undefined);
  assert.deepEqual(sshdConfig().matchBlocks.select(o as never), [
    { criteria: 'User backup', settings: { passwordauthentication: 'yes', permitrootlogin: 'yes' } },
    { criteria: 'Address 10.0.0.0/8', settings: { x11forwarding: 'yes' } },
  ]);
});

test('a Match all block applies to every connection and overrides the global value, as in sshd', () => {
  const o = parse(
    'X11Forwarding yes\nMatch User bob\n  X11Forwarding no\nMatch all\n  X11Forwarding no\n  Banner /b\n',
  );
  assert.equal(o.effective['x11forwarding'], 'no');
  assert.equal(o.effective['banner'], '/b');
});

test('an Include inside a Match block puts the included settings in that block', () => {
  const o = parse(
    'Match User bob\n  Include bob.conf\n',
    { '/etc/ssh/bob.conf': 'PermitTTY no\n' },
    { '/etc/ssh/bob.conf': ['/etc/ssh/bob.conf'] },
  );
  assert.equal(o.effective['permittty'], undefined);
  assert.deepEqual(o.blocks[0]?.settings, { permittty: 'no' });
});

test('a Match in an included file ends with that file and does not capture the lines after the Include', () => {
  const o = parse(
    'Include /etc/ssh/sshd_config.d/*.conf\nBanner /aa\n',
    { '/etc/ssh/sshd_config.d/x.conf': 'Match host x\n  Banner /xx\n' },
    { '/etc/ssh/sshd_config.d/*.conf': ['/etc/ssh/sshd_config.d/x.conf'] },
  );
  assert.equal(o.effective['banner'], '/aa');
  assert.deepEqual(o.blocks, [{ kind: 'Match', criteria: 'host x', settings: { banner: '/xx' } }]);
});

test('Match all inside a file included from another Match block never applies to the default connection', () => {
  const o = parse(
    'Match host b\n  Include /etc/ssh/inc.conf\n',
    { '/etc/ssh/inc.conf': 'Match all\n  Banner /xxxx\n' },
    { '/etc/ssh/inc.conf': ['/etc/ssh/inc.conf'] },
  );
  assert.equal(o.effective['banner'], undefined);
  assert.equal(o.blocks[1]?.criteria, 'host b / all');
});

test('relative Include paths are under /etc/ssh, missing files are skipped and include loops stop', () => {
  const o = parse(
    'Include missing.conf loop.conf\nPort 22\n',
    { '/etc/ssh/loop.conf': 'Include loop.conf\nMaxSessions 2\n' },
    { '/etc/ssh/missing.conf': [], '/etc/ssh/loop.conf': ['/etc/ssh/loop.conf'] },
  );
  assert.equal(o.effective['maxsessions'], '2');
  assert.equal(o.effective['port'], '22');
  // The main file plus 16 nested levels, OpenSSH's limit (sshd refuses to start beyond it).
  assert.equal(o.files.length, 17);
});

test('a missing main file observes as not existing, with nothing set', () => {
  const o = parseSshConfig({ main: '/etc/ssh/sshd_config', files: new Map(), globs: new Map() }, 'server');
  assert.equal(o.exists, false);
  assert.deepEqual(o.effective, {});
});

test('the probe output records decode into files and glob expansions', () => {
  const b = (s: string): string => Buffer.from(s).toString('base64');
  const s = parseSources(
    '/etc/ssh/sshd_config',
    `F ${b('/etc/ssh/sshd_config')} ${b('Include x/*.conf\n')}\nG ${b('/etc/ssh/x/*.conf')} ${b('/etc/ssh/x/a.conf\n/etc/ssh/x/b.conf\n')}\nG ${b('/etc/ssh/none')} -\nF ${b('/etc/ssh/x/a.conf')} -\n`,
  );
  assert.equal(s.files.get('/etc/ssh/sshd_config'), 'Include x/*.conf\n');
  assert.equal(s.files.get('/etc/ssh/x/a.conf'), '');
  assert.deepEqual(s.globs.get('/etc/ssh/x/*.conf'), ['/etc/ssh/x/a.conf', '/etc/ssh/x/b.conf']);
  assert.deepEqual(s.globs.get('/etc/ssh/none'), []);
});

test("the client config's Host * and global settings are the defaults, other Host blocks are listed", () => {
  const text = rootFile('etc/ssh/ssh_config');
  const o = parse(text, {}, { '/etc/ssh/ssh_config.d/*.conf': [] }, 'client');
  assert.equal(o.effective['sendenv'], 'LANG LC_*');
  assert.equal(o.effective['hashknownhosts'], 'yes');
  assert.equal(o.effective['forwardagent'], undefined);
  const custom = parse(
    'StrictHostKeyChecking ask\nHost legacy\n  Ciphers aes128-cbc\nHost *\n  StrictHostKeyChecking yes\n  ForwardAgent no\nMatch all\n  ForwardAgent yes\n',
    {},
    {},
    'client',
  );
  // The client takes the first value it obtains, in file order.
  assert.equal(custom.effective['stricthostkeychecking'], 'ask');
  assert.equal(custom.effective['forwardagent'], 'no');
  assert.equal(custom.effective['ciphers'], undefined);
  assert.deepEqual(sshConfig().hostBlocks.select(custom as never), [
    { criteria: 'legacy', settings: { ciphers: 'aes128-cbc' } },
    { criteria: '*', settings: { stricthostkeychecking: 'yes', forwardagent: 'no' } },
  ]);
  assert.equal(sshConfig().matchBlocks.select(custom as never).length, 1);
});

test('bad paths and keys are refused at once', () => {
  assert.throws(() => sshdConfig('sshd_config'), /absolute path/);
  assert.throws(() => sshdConfig().get(''), /non-empty string/);
  assert.throws(() => sshConfig().get('a\nb'), /control characters/);
});

test("sshd's effective settings on a test host follow Include globs and Match blocks like sshd -T", async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const setup = await host.sh(`set -e
cat > /etc/ssh/sshd_config.d/50-hardening.conf <<'X'
PermitRootLogin no
Include /etc/ssh/extra/*.conf
Match User backup
  PasswordAuthentication no
X
mkdir -p /etc/ssh/extra
printf 'MaxAuthTries 3\\n' > /etc/ssh/extra/b.conf
printf 'MaxAuthTries 2\\nBanner "/etc/issue.net"\\n' > /etc/ssh/extra/a.conf
printf '\\nPermitRootLogin yes\\nMatch Address 10.0.0.0/8\\n  X11Forwarding no\\n' >> /etc/ssh/sshd_config
mkdir -p /run/sshd`);
  assert.equal(setup.exitCode, 0, setup.stderr.toString());
  const c = sshdConfig();
  const o = await observeSubjects(host.transport, [c.exists]);
  assert.equal(o.value(c.exists), true);
  assert.deepEqual(o.value(c.files), [
    '/etc/ssh/sshd_config',
    '/etc/ssh/sshd_config.d/50-hardening.conf',
    '/etc/ssh/extra/a.conf',
    '/etc/ssh/extra/b.conf',
  ]);
  assert.equal(o.value(c.get('PermitRootLogin')), 'no');
  assert.equal(o.value(c.get('maxauthtries')), '2');
  assert.equal(o.value(c.get('Banner')), '/etc/issue.net');
  assert.equal(o.value(c.get('X11Forwarding')), 'yes');
  assert.deepEqual(o.value(c.matchBlocks), [
    { criteria: 'User backup', settings: { passwordauthentication: 'no' } },
    { criteria: 'Address 10.0.0.0/8', settings: { x11forwarding: 'no' } },
  ]);

  // sshd itself agrees for a connection no Match block singles out.
  const t1 = await host.sh('/usr/sbin/sshd -T -C user=nobody,host=h,addr=192.0.2.1');
  assert.equal(t1.exitCode, 0, t1.stderr.toString());
  const effective = new Map(
    t1.stdout
      .toString()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const),
  );
  for (const key of ['permitrootlogin', 'maxauthtries', 'banner', 'x11forwarding', 'usepam']) {
    assert.equal(o.value(c.get(key)), effective.get(key), key);
  }

  const missing = sshdConfig('/etc/ssh/nope_config');
  const none = await observeSubjects(host.transport, [missing.exists]);
  assert.equal(none.value(missing.exists), false);
  assert.equal(none.value(missing.get('Port')), undefined);
});

test('the client config of a test host is read with its drop-in directory', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  await host.sh("printf 'Host *\\n  ForwardAgent no\\n' > /etc/ssh/ssh_config.d/10-agent.conf");
  const c = sshConfig();
  const o = await observeSubjects(host.transport, [c.exists]);
  assert.equal(o.value(c.get('ForwardAgent')), 'no');
  assert.equal(o.value(c.get('SendEnv')), 'LANG LC_*');
  assert.ok(readdirSync('/').length > 0);
});
