import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import { useTestHost } from '../testing/host.js';
import { convergeOne, observe } from '../testing/provider.js';
import { FACTS, sh } from './test-helpers.js';
import {
  configLineProvider,
  editConfigLine,
  type ConfigLineProps,
  type ConfigLineState,
} from './config-line.js';

const present = (text: string, line: string, match?: RegExp) =>
  editConfigLine(text, { ensure: 'present', line, ...(match === undefined ? {} : { match }) });
const absent = (text: string, line?: string, match?: RegExp) =>
  editConfigLine(text, {
    ensure: 'absent',
    ...(line === undefined ? {} : { line }),
    ...(match === undefined ? {} : { match }),
  });

test('a line already present leaves the text exactly as it was', () => {
  const text = '# c\nauth required pam_x.so\n\n';
  assert.equal(present(text, 'auth required pam_x.so').text, text);
});

test('a missing line is appended at the end with a final newline', () => {
  assert.equal(present('a\nb\n', 'c').text, 'a\nb\nc\n');
  assert.equal(present('a\nb', 'c').text, 'a\nb\nc\n');
  assert.equal(present('', 'c').text, 'c\n');
  assert.equal(present('a\r\n', 'c').text, 'a\r\nc\r\n');
});

test('a line is compared exactly, so an indented or commented copy does not count', () => {
  assert.equal(present('  c\n#c\n', 'c').text, '  c\n#c\nc\n');
});

test('with match the first matching line is replaced and the rest kept', () => {
  const text = '# PASS_MAX_DAYS note\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\nPASS_MAX_DAYS 1\n';
  const r = present(text, 'PASS_MAX_DAYS\t90', /^PASS_MAX_DAYS\s/);
  assert.equal(r.text, '# PASS_MAX_DAYS note\nPASS_MAX_DAYS\t90\nPASS_MIN_DAYS\t0\nPASS_MAX_DAYS 1\n');
  assert.deepEqual(r.removed, ['PASS_MAX_DAYS\t99999']);
});

test('a replaced line keeps its line ending, even a missing one', () => {
  assert.equal(present('a=1\r\nb=2\r\n', 'a=5', /^a=/).text, 'a=5\r\nb=2\r\n');
  assert.equal(present('a=1\nb=2', 'b=5', /^b=/).text, 'a=1\nb=5');
});

test('with match and no matching line the line is appended', () => {
  assert.equal(present('x\n', 'a=1', /^a=/).text, 'x\na=1\n');
});

test('with match a line that does not itself match stays up to date after it was written', () => {
  const once = present('umask 022\n', 'umask 027 # hardened', /^umask 022$/).text;
  assert.equal(once, 'umask 027 # hardened\n');
  assert.equal(present(once, 'umask 027 # hardened', /^umask 022$/).text, once);
});

test('absent removes every copy of the line and keeps everything else', () => {
  const r = absent('a\nb\na\nc', 'a');
  assert.equal(r.text, 'b\nc');
  assert.deepEqual(r.removed, ['a', 'a']);
});

test('absent with match removes every matching line', () => {
  assert.equal(
    absent('auth x pam_a.so\nauth y pam_b.so\nsession z\n', undefined, /^auth /).text,
    'session z\n',
  );
});

test('absent leaves text without the line exactly as it was', () => {
  const text = 'a\nb';
  assert.equal(absent(text, 'c').text, text);
});

// --- provider: validate ---

const PATH = '/etc/pam.d/common-password';

test('valid props give no problems', () => {
  assert.deepEqual(
    configLineProvider.validate(`${PATH}#pwquality`, {
      path: PATH,
      line: 'password requisite pam_pwquality.so retry=3',
      match: '^password\\s+requisite\\s+pam_pwquality',
    }),
    [],
  );
  assert.deepEqual(
    configLineProvider.validate(`${PATH}#no-nullok`, { path: PATH, ensure: 'absent', match: 'nullok' }),
    [],
  );
});

test('hostile or malformed props are all refused before anything runs', () => {
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    ['etc/x#a', { path: 'etc/x', line: 'l' }, 'path'],
    ['/etc/./x#a', { path: '/etc/./x', line: 'l' }, 'path'],
    ['/etc/x#a', { path: '/etc/x', line: 'l\nroot::0:0::/:/bin/sh' }, 'line'],
    ['/etc/x#a', { path: '/etc/x', line: 'a\0b' }, 'line'],
    ['/etc/x#a', { path: '/etc/x', line: '' }, 'line'],
    ['/etc/x#a', { path: '/etc/x' }, 'line'],
    ['/etc/x#a', { path: '/etc/x', ensure: 'absent' }, 'line'],
    ['/etc/x#a', { path: '/etc/x', line: 'l', ensure: 'maybe' }, 'ensure'],
    ['/etc/x#a', { path: '/etc/x', line: 'l', match: '(' }, 'match'],
    ['/etc/x#a', { path: '/etc/x', line: 'l', match: '' }, 'match'],
    ['/etc/x#a', { path: '/etc/x', line: 'l', verify: ['visudo', '-c'] }, 'verify'],
    ['/etc/x#a', { path: '/etc/x', line: 'l', mode: 1.5 }, 'mode'],
    ['/etc/x', { path: '/etc/x', line: 'l' }, undefined],
    ['/etc/x#', { path: '/etc/x', line: 'l' }, undefined],
    ['/etc/x#a b', { path: '/etc/x', line: 'l' }, undefined],
    ['/etc/y#a', { path: '/etc/x', line: 'l' }, undefined],
  ];
  for (const [name, props, property] of cases) {
    const problems = configLineProvider.validate(name, props as unknown as ConfigLineProps);
    assert.equal(problems.length, 1, `${name} ${JSON.stringify(props)} -> ${JSON.stringify(problems)}`);
    assert.equal(problems[0]?.property, property);
    assert.equal(problems[0]?.at, `configLine[${name}]`);
  }
});

test('mode is an octal mode: 0o600 or a string such as 0644, never a decimal number like 644', () => {
  const props = (mode: unknown) => ({ path: '/etc/x', line: 'l', mode }) as unknown as ConfigLineProps;
  for (const mode of [0o600, '0644', '600']) {
    assert.deepEqual(configLineProvider.validate('/etc/x#a', props(mode)), [], String(mode));
  }
  const decimal = configLineProvider.validate('/etc/x#a', props(644));
  assert.deepEqual(
    decimal.map((p) => p.property),
    ['mode'],
  );
  assert.match(decimal[0]?.message ?? '', /644 is a decimal number \(octal 1204\)/);
});

// --- provider: diff ---

const fileState = (content: string): ConfigLineState => ({
  file: {
    kind: 'file',
    content: Buffer.from(content),
    stat: { type: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: content.length },
  },
});

test('diff reports the replaced line, the new line and a line diff', () => {
  const props: ConfigLineProps = { path: '/f', line: 'a=2', match: '^a=' };
  const [change, ...rest] = configLineProvider.diff('/f#a', props, fileState('x\na=1\n'), FACTS);
  assert.deepEqual(rest, []);
  assert.equal(change?.property, 'line');
  assert.equal(change?.from, 'a=1');
  assert.equal(change?.to, 'a=2');
  assert.equal(change?.diff, '--- /f\n+++ /f\n@@ -1,2 +1,2 @@\n x\n-a=1\n+a=2\n');
});

test('diff is empty when the line is there, and for absent on a missing file', () => {
  assert.deepEqual(configLineProvider.diff('/f#a', { path: '/f', line: 'a' }, fileState('a\n'), FACTS), []);
  const missing: ConfigLineState = { file: { kind: 'missing' } };
  assert.deepEqual(
    configLineProvider.diff('/f#a', { path: '/f', line: 'a', ensure: 'absent' }, missing, FACTS),
    [],
  );
  assert.equal(configLineProvider.diff('/f#a', { path: '/f', line: 'a' }, missing, FACTS)[0]?.to, 'a');
});

test('diff of absent names the removed lines', () => {
  const [change] = configLineProvider.diff(
    '/f#a',
    { path: '/f', ensure: 'absent', match: '^a' },
    fileState('a1\nb\na2\na3\n'),
    FACTS,
  );
  assert.equal(change?.from, 'a1 (and 2 more)');
  assert.equal(change?.to, null);
});

// --- real hosts ---

test('a line is added to a real file once, with a backup, and the second converge changes nothing', async (t) => {
  const host = await useTestHost(t);
  const path = '/etc/security/limits.conf';
  await sh(host, `mkdir -p /etc/security && printf '# limits\\n*\\thard\\tnofile\\t1024\\n' > ${path}`);
  const props: ConfigLineProps = { path, line: '* hard core 0' };
  const r = await convergeOne(host.transport, configLineProvider, `${path}#no-core-dumps`, props);
  assert.equal(r.before.length, 1);
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, `cat ${path}`), '# limits\n*\thard\tnofile\t1024\n* hard core 0\n');
  assert.match(await sh(host, 'ls /var/backups/bulwark'), /^_etc_security_limits\.conf\./);
});

test('match replaces the PASS_MAX_DAYS line of login.defs on a real host', async (t) => {
  const host = await useTestHost(t);
  const path = '/etc/login.defs';
  const original = await sh(host, `cat ${path}`);
  const props: ConfigLineProps = { path, line: 'PASS_MAX_DAYS\t60', match: '^PASS_MAX_DAYS\\s' };
  const r = await convergeOne(host.transport, configLineProvider, `${path}#pass-max-days`, props);
  assert.equal(r.before[0]?.from, 'PASS_MAX_DAYS\t99999');
  assert.deepEqual(r.after, []);
  assert.equal(
    await sh(host, `cat ${path}`),
    original.replace('PASS_MAX_DAYS\t99999\n', 'PASS_MAX_DAYS\t60\n'),
  );
});

test('absent removes a line from a real file, keeping mode and owner', async (t) => {
  const host = await useTestHost(t);
  await sh(
    host,
    "printf 'keep\\nDROP me\\nkeep too\\n' > /etc/x.conf && chmod 600 /etc/x.conf && chgrp nogroup /etc/x.conf",
  );
  const props: ConfigLineProps = { path: '/etc/x.conf', ensure: 'absent', match: '^DROP' };
  const r = await convergeOne(host.transport, configLineProvider, '/etc/x.conf#drop', props);
  assert.equal(r.before[0]?.from, 'DROP me');
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, 'cat /etc/x.conf'), 'keep\nkeep too\n');
  assert.equal((await sh(host, "stat -c '%a %G' /etc/x.conf")).trim(), '600 nogroup');
});

test('a missing file is created with the line, and absent on a missing file is up to date', async (t) => {
  const host = await useTestHost(t);
  const props: ConfigLineProps = { path: '/etc/new.conf', line: 'hello', mode: 0o640 };
  const r = await convergeOne(host.transport, configLineProvider, '/etc/new.conf#hello', props);
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, 'cat /etc/new.conf; stat -c %a /etc/new.conf'), 'hello\n640\n');
  const o = await observe(host.transport, configLineProvider, '/etc/none#x', {
    path: '/etc/none',
    line: 'x',
    ensure: 'absent',
  });
  assert.deepEqual(o.changes, []);
});

test('a symlink is refused at apply and left pointing at its untouched target', async (t) => {
  const host = await useTestHost(t);
  await sh(host, "printf 'a\\n' > /etc/real.conf && ln -s real.conf /etc/link.conf");
  const props: ConfigLineProps = { path: '/etc/link.conf', line: 'b' };
  const seen = await observe(host.transport, configLineProvider, '/etc/link.conf#b', props);
  assert.deepEqual(seen.changes, [{ property: 'type', from: 'symlink', to: 'file' }]);
  await assert.rejects(
    convergeOne(host.transport, configLineProvider, '/etc/link.conf#b', props),
    (e: unknown) =>
      isBulwarkError(e, 'BULWARK_APPLY_FAILED') &&
      e.message === '/etc/link.conf is a symlink; manage its target or remove the link first',
  );
  assert.equal(await sh(host, 'readlink /etc/link.conf; cat /etc/real.conf'), 'real.conf\na\n');
});

test('a failing verify keeps the old file byte for byte', async (t) => {
  const host = await useTestHost(t);
  await sh(host, "printf 'ok\\n' > /etc/v.conf");
  const props: ConfigLineProps = {
    path: '/etc/v.conf',
    line: 'bad',
    verify: ['/bin/sh', '-c', '! grep -q bad "$1"', 'verify', '%{path}'],
  };
  await assert.rejects(
    convergeOne(host.transport, configLineProvider, '/etc/v.conf#bad', props),
    (e: unknown) => isBulwarkError(e, 'BULWARK_VERIFY_FAILED'),
  );
  assert.equal(await sh(host, 'cat /etc/v.conf'), 'ok\n');
});
