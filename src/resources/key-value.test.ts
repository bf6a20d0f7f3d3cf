import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import { useTestHost } from '../testing/host.js';
import { applyContext, convergeOne, observe } from '../testing/provider.js';
import { FACTS, sh, stubTransport } from './test-helpers.js';
import { editKeyValue, keyValueProvider, type KeyValueProps, type KeyValueState } from './key-value.js';

const SSHD = '/etc/ssh/sshd_config';
const VERIFY_SSHD = ['/usr/sbin/sshd', '-t', '-f', '%{path}'];

const set = (
  text: string,
  key: string,
  value: string,
  extra: { separator?: string; caseSensitive?: boolean } = {},
) => editKeyValue(text, { key, value, ...extra }).text;

const SSHD_EXCERPT = [
  '# Authentication:',
  '#LoginGraceTime 2m',
  '#PermitRootLogin prohibit-password',
  '#StrictModes yes',
  '',
  '# To disable tunneled clear text passwords, change to no here!',
  '#PasswordAuthentication yes',
  'UsePAM yes',
  'X11Forwarding yes',
  'PrintMotd no',
  'Subsystem\tsftp\t/usr/lib/openssh/sftp-server',
  '',
  '# Example of overriding settings on a per-user basis',
  '#Match User anoncvs',
  '#\tX11Forwarding no',
  '#\tAllowTcpForwarding no',
  '',
].join('\n');

test('setting an active key changes only its value and keeps every other line', () => {
  const out = set(SSHD_EXCERPT, 'X11Forwarding', 'no');
  assert.equal(out, SSHD_EXCERPT.replace('X11Forwarding yes\n', 'X11Forwarding no\n'));
});

test('a key that is already set leaves the text exactly as it was', () => {
  const r = editKeyValue(SSHD_EXCERPT, { key: 'UsePAM', value: 'yes' });
  assert.equal(r.text, SSHD_EXCERPT);
  assert.deepEqual(r.found, ['yes']);
});

test('a missing key is inserted right after its commented example', () => {
  const out = set(SSHD_EXCERPT, 'PermitRootLogin', 'no');
  assert.equal(
    out,
    SSHD_EXCERPT.replace(
      '#PermitRootLogin prohibit-password\n',
      '#PermitRootLogin prohibit-password\nPermitRootLogin no\n',
    ),
  );
});

test('commented lines of a Match example or prose with a space after # are not taken as examples', () => {
  // "#\tAllowTcpForwarding no" sits in a commented Match example; the key goes to the end instead.
  const out = set(SSHD_EXCERPT, 'AllowTcpForwarding', 'no');
  assert.equal(out, `${SSHD_EXCERPT}AllowTcpForwarding no\n`);
  const defs = '#\tPASS_MAX_DAYS\tMaximum number of days a password may be used.\nUMASK\t022\n';
  assert.equal(set(defs, 'PASS_MAX_DAYS', '90'), `${defs}PASS_MAX_DAYS 90\n`);
});

test('the last commented example wins when there are several', () => {
  const text = '#Port 22\nA b\n#Port 2222\nC d\n';
  assert.equal(set(text, 'Port', '22'), '#Port 22\nA b\n#Port 2222\nPort 22\nC d\n');
});

test('keys match case-insensitively by default and the line keeps its own spelling and indentation', () => {
  const text = 'a 1\n   permitrootlogin yes\nb 2\n';
  assert.equal(set(text, 'PermitRootLogin', 'no'), 'a 1\n   permitrootlogin no\nb 2\n');
});

test('with caseSensitive a key in another case is a different key', () => {
  const text = 'umask 1\n';
  assert.equal(set(text, 'UMASK', '027', { caseSensitive: true }), 'umask 1\nUMASK 027\n');
  assert.equal(set(text, 'UMASK', '027'), 'umask 027\n');
});

test('an existing line keeps its separator, such as the tabs of login.defs', () => {
  const text = 'PASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\n';
  assert.equal(set(text, 'PASS_MAX_DAYS', '90'), 'PASS_MAX_DAYS\t90\nPASS_MIN_DAYS\t0\n');
  assert.equal(set('UID_MIN\t\t\t 1000\n', 'UID_MIN', '2000'), 'UID_MIN\t\t\t 2000\n');
});

test('key=value and key = value lines are read and their separator kept', () => {
  assert.equal(set('a=1\nb=2\n', 'b', '3', { separator: '=' }), 'a=1\nb=3\n');
  assert.equal(set('a = 1\n', 'a', '2', { separator: ' = ' }), 'a = 2\n');
  assert.equal(set('a=1\n', 'a', '2'), 'a=2\n');
  assert.deepEqual(editKeyValue('a = 1\n', { key: 'a', value: '1', separator: '=' }).found, ['1']);
});

test('new lines use the separator given', () => {
  assert.equal(set('x=1\n', 'y', '2', { separator: '=' }), 'x=1\ny=2\n');
  assert.equal(set('', 'y', '2', { separator: ' = ' }), 'y = 2\n');
  assert.equal(set('', 'y', '2', { separator: '\t' }), 'y\t2\n');
});

test('a key written without a value gets the separator and the value', () => {
  assert.equal(set('Banner\nX y\n', 'Banner', '/etc/issue.net'), 'Banner /etc/issue.net\nX y\n');
});

test('a key that is a prefix of another key does not match it', () => {
  const text = 'PortX 1\nPorts 2\nPort.x 3\n';
  assert.equal(set(text, 'Port', '22'), `${text}Port 22\n`);
});

test('regular expression characters in a key are literal', () => {
  assert.equal(set('aXb 1\n', 'a.b', '2'), 'aXb 1\na.b 2\n');
  assert.equal(set('a.b 1\n', 'a.b', '2'), 'a.b 2\n');
});

test('later active duplicates are removed so the first line is the only one', () => {
  const text = 'PermitRootLogin yes\nA b\npermitrootlogin without-password\n  PermitRootLogin no\n';
  const r = editKeyValue(text, { key: 'PermitRootLogin', value: 'no' });
  assert.equal(r.text, 'PermitRootLogin no\nA b\n');
  assert.deepEqual(r.found, ['yes', 'without-password', 'no']);
});

test('duplicates are removed even when the first value is already right', () => {
  assert.equal(set('X 1\nX 2\n', 'X', '1'), 'X 1\n');
});

test('a missing key goes before the first Match block, above the comment that introduces it', () => {
  const text = 'Port 22\n\n# Per-user settings\nMatch User bob\n\tX11Forwarding yes\n';
  assert.equal(
    set(text, 'X11Forwarding', 'no'),
    'Port 22\n\nX11Forwarding no\n# Per-user settings\nMatch User bob\n\tX11Forwarding yes\n',
  );
});

test('lines inside Match blocks are never changed or removed', () => {
  const text = 'PasswordAuthentication yes\nMatch Address 10.0.0.0/8\n  PasswordAuthentication yes\n';
  assert.equal(
    set(text, 'PasswordAuthentication', 'no'),
    'PasswordAuthentication no\nMatch Address 10.0.0.0/8\n  PasswordAuthentication yes\n',
  );
  assert.equal(
    editKeyValue(text, { key: 'PasswordAuthentication' }).text,
    'Match Address 10.0.0.0/8\n  PasswordAuthentication yes\n',
  );
});

test('a commented example after a Match line is not used for insertion', () => {
  const text = 'A 1\nMatch User x\n#Banner none\n';
  assert.equal(set(text, 'Banner', '/etc/issue'), 'A 1\nBanner /etc/issue\nMatch User x\n#Banner none\n');
});

test('the Match key itself is managed like any other key', () => {
  assert.equal(set('Match all\nX 1\n', 'Match', 'none'), 'Match none\nX 1\n');
});

test('absent removes every active line of the key and keeps its comments', () => {
  const text = '#Banner none\nBanner /a\nX 1\n  banner /b\n';
  const r = editKeyValue(text, { key: 'Banner' });
  assert.equal(r.text, '#Banner none\nX 1\n');
  assert.deepEqual(r.found, ['/a', '/b']);
});

test('absent leaves text without the key exactly as it was', () => {
  const text = '#Banner none\nX 1';
  assert.equal(editKeyValue(text, { key: 'Banner' }).text, text);
});

test('CRLF line endings are kept on edited lines and used for inserted ones', () => {
  assert.equal(set('A 1\r\nB 2\r\n', 'A', '3'), 'A 3\r\nB 2\r\n');
  assert.equal(set('A 1\r\nB 2\r\n', 'C', '3'), 'A 1\r\nB 2\r\nC 3\r\n');
  assert.equal(set('A 1\r\n#C x\r\nB 2\r\n', 'C', '3'), 'A 1\r\n#C x\r\nC 3\r\nB 2\r\n');
});

test('a file without a final newline keeps it missing when its last line is edited', () => {
  assert.equal(set('A 1\nB 2', 'B', '3'), 'A 1\nB 3');
});

test('appending to a file without a final newline ends both lines properly', () => {
  assert.equal(set('A 1\nB 2', 'C', '3'), 'A 1\nB 2\nC 3\n');
  assert.equal(set('#C x', 'C', '3'), '#C x\nC 3\n');
});

test('an empty file gets the line and a final newline', () => {
  assert.equal(set('', 'A', '1'), 'A 1\n');
});

test('trailing whitespace after a value does not make an equal value differ', () => {
  assert.equal(set('A 1  \n', 'A', '1'), 'A 1  \n');
});

test('blank lines, tabs and indentation elsewhere are untouched', () => {
  const text = '\n\t\n  # c\n\tA\t1\n\n';
  assert.equal(set(text, 'A', '2'), '\n\t\n  # c\n\tA\t2\n\n');
});

// --- provider: validate ---

const ok: KeyValueProps = { path: SSHD, key: 'PermitRootLogin', value: 'no', verify: VERIFY_SSHD };

test('valid props give no problems', () => {
  assert.deepEqual(keyValueProvider.validate(`${SSHD}:PermitRootLogin`, ok), []);
  assert.deepEqual(
    keyValueProvider.validate('/etc/login.defs:PASS_MAX_DAYS', {
      path: '/etc/login.defs',
      key: 'PASS_MAX_DAYS',
      ensure: 'absent',
      separator: '\t',
      caseSensitive: true,
      mode: 0o644,
    }),
    [],
  );
});

test('hostile or malformed props are all refused before anything runs', () => {
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    ['etc/x:K', { path: 'etc/x', key: 'K', value: 'v' }, 'path'],
    ['/etc/../x:K', { path: '/etc/../x', key: 'K', value: 'v' }, 'path'],
    ['/etc/x\n:K', { path: '/etc/x\n', key: 'K', value: 'v' }, 'path'],
    ['/etc/\0x:K', { path: '/etc/\0x', key: 'K', value: 'v' }, 'path'],
    ['/etc/x:K K', { path: '/etc/x', key: 'K K', value: 'v' }, 'key'],
    ['/etc/x:K=', { path: '/etc/x', key: 'K=', value: 'v' }, 'key'],
    ['/etc/x:K\n', { path: '/etc/x', key: 'K\n', value: 'v' }, 'key'],
    ['/etc/x:#K', { path: '/etc/x', key: '#K', value: 'v' }, 'key'],
    ['/etc/x:', { path: '/etc/x', key: '', value: 'v' }, 'key'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'no\nPermitRootLogin yes' }, 'value'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'a\0b' }, 'value'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: ' padded' }, 'value'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 3 }, 'value'],
    ['/etc/x:K', { path: '/etc/x', key: 'K' }, 'value'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', ensure: 'gone' }, 'ensure'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', separator: '' }, 'separator'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', separator: '\n' }, 'separator'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', separator: '#' }, 'separator'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', separator: 'a b' }, 'separator'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', caseSensitive: 'no' }, 'caseSensitive'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', mode: 0o20000 }, 'mode'],
    ['/etc/x:K', { path: '/etc/x', key: 'K', value: 'v', verify: 'sshd -t' }, 'verify'],
    ['/etc/y:K', { path: '/etc/x', key: 'K', value: 'v' }, undefined],
  ];
  for (const [name, props, property] of cases) {
    const problems = keyValueProvider.validate(name, props as unknown as KeyValueProps);
    assert.equal(problems.length, 1, `${JSON.stringify(props)} -> ${JSON.stringify(problems)}`);
    assert.equal(problems[0]?.property, property);
    assert.equal(problems[0]?.code, 'BULWARK_RESOURCE_INVALID');
    assert.equal(problems[0]?.at, `keyValue[${name}]`);
  }
});

test('mode is an octal mode: 0o600 or a string such as 0644, never a decimal number like 644', () => {
  const props = (mode: unknown) =>
    ({ path: '/etc/x', key: 'K', value: 'v', mode }) as unknown as KeyValueProps;
  for (const mode of [0o600, '0644', '600']) {
    assert.deepEqual(keyValueProvider.validate('/etc/x:K', props(mode)), [], String(mode));
  }
  const decimal = keyValueProvider.validate('/etc/x:K', props(644));
  assert.deepEqual(
    decimal.map((p) => p.property),
    ['mode'],
  );
  assert.match(decimal[0]?.message ?? '', /644 is a decimal number \(octal 1204\)/);
});

test('every problem is reported at once', () => {
  const problems = keyValueProvider.validate('rel:a b', {
    path: 'rel',
    key: 'a b',
    value: 'x\ny',
  } as KeyValueProps);
  assert.deepEqual(problems.map((p) => p.property).sort(), ['key', 'path', 'value']);
});

// --- provider: probe, read, diff ---

const fileState = (content: string, mode = 0o644): KeyValueState => ({
  file: {
    kind: 'file',
    content: Buffer.from(content),
    stat: { type: 'file', mode, uid: 0, gid: 0, owner: 'root', group: 'root', size: content.length },
  },
});

test('the probe asks for the file in one op', () => {
  assert.deepEqual(keyValueProvider.probe(`${SSHD}:PermitRootLogin`, ok), {
    file: { kind: 'file', path: SSHD },
  });
});

test('read turns a probe result into the file state', () => {
  const state = keyValueProvider.read(
    `${SSHD}:PermitRootLogin`,
    ok,
    { file: { exitCode: 0, stdout: Buffer.from('A 1\n'), stderr: Buffer.from('8180 0 0 4 root root\n') } },
    FACTS,
  );
  assert.equal(state.file.kind, 'file');
  assert.equal(state.file.kind === 'file' && state.file.stat.mode, 0o600);
});

test('diff reports the key with its old and new value and a line diff', () => {
  const changes = keyValueProvider.diff(
    `${SSHD}:X11Forwarding`,
    { ...ok, key: 'X11Forwarding' },
    fileState(SSHD_EXCERPT),
    FACTS,
  );
  assert.equal(changes.length, 1);
  assert.equal(changes[0]?.property, 'X11Forwarding');
  assert.equal(changes[0]?.from, 'yes');
  assert.equal(changes[0]?.to, 'no');
  const lines = changes[0]?.diff?.split('\n') ?? [];
  assert.deepEqual(
    lines.filter((l) => /^[-+]/.test(l)),
    [`--- ${SSHD}`, `+++ ${SSHD}`, '-X11Forwarding yes', '+X11Forwarding no'],
  );
});

test('diff is empty when the key already has the value', () => {
  assert.deepEqual(
    keyValueProvider.diff('n', { ...ok, key: 'UsePAM', value: 'yes' }, fileState(SSHD_EXCERPT), FACTS),
    [],
  );
});

test('diff of a missing file shows it created, or nothing when the key is to be absent', () => {
  const missing: KeyValueState = { file: { kind: 'missing' } };
  const changes = keyValueProvider.diff('n', ok, missing, FACTS);
  assert.equal(changes[0]?.from, null);
  assert.equal(changes[0]?.to, 'no');
  assert.match(changes[0]?.diff ?? '', /^--- \/dev\/null\n/);
  assert.deepEqual(
    keyValueProvider.diff('n', { path: SSHD, key: 'X', ensure: 'absent' }, missing, FACTS),
    [],
  );
});

test('diff of absent lists the values removed and a null target', () => {
  const changes = keyValueProvider.diff(
    'n',
    { path: '/f', key: 'A', ensure: 'absent' },
    fileState('A 1\nA 2\n'),
    FACTS,
  );
  assert.equal(changes[0]?.from, '1, 2');
  assert.equal(changes[0]?.to, null);
});

test('diff and apply handle a file that is not valid UTF-8 without changing its other bytes', async () => {
  const bytes = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\nA 1\n')]);
  const state: KeyValueState = {
    file: {
      kind: 'file',
      content: bytes,
      stat: { type: 'file', mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 0 },
    },
  };
  const props: KeyValueProps = { path: '/f', key: 'A', value: 'é' };
  assert.equal(keyValueProvider.diff('/f:A', props, state, FACTS)[0]?.to, 'é');
  let written: Buffer | undefined;
  const transport = stubTransport({
    writeFile: async (_p: string, data: string | Uint8Array) => {
      written = Buffer.from(data);
      return {};
    },
  });
  await keyValueProvider.apply('/f:A', props, state, [], applyContext(transport, FACTS));
  assert.deepEqual(
    written,
    Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\nA é\n')]),
  );
});

test('diff of a symlink or directory asks for a regular file and apply refuses to replace it', async () => {
  const state: KeyValueState = {
    file: {
      kind: 'other',
      stat: { type: 'symlink', mode: 0o777, uid: 0, gid: 0, owner: 'root', group: 'root', size: 3 },
    },
  };
  assert.deepEqual(keyValueProvider.diff('n', ok, state, FACTS), [
    { property: 'type', from: 'symlink', to: 'file' },
  ]);
  await assert.rejects(
    keyValueProvider.apply('n', ok, state, [], applyContext(stubTransport(), FACTS)),
    (e: unknown) =>
      isBulwarkError(e, 'BULWARK_APPLY_FAILED') &&
      e.message === '/etc/ssh/sshd_config is a symlink; manage its target or remove the link first',
  );
});

// --- real hosts ---

async function sshdHost(t: { after(fn: () => unknown): void }) {
  const host = await useTestHost(t);
  // sshd -t needs its privilege separation directory, which a running sshd has (systemd's RuntimeDirectory).
  await host.sh('mkdir -p /run/sshd');
  return host;
}

test('hardening sshd_config on a real host edits three keys, passes sshd -t, keeps comments and is idempotent', async (t) => {
  const host = await sshdHost(t);
  const original = await sh(host, `cat ${SSHD}`);
  const settings: [string, string][] = [
    ['PermitRootLogin', 'no'],
    ['PasswordAuthentication', 'no'],
    ['X11Forwarding', 'no'],
  ];
  for (const [key, value] of settings) {
    const props: KeyValueProps = { path: SSHD, key, value, verify: VERIFY_SSHD };
    assert.deepEqual(keyValueProvider.validate(`${SSHD}:${key}`, props), []);
    const r = await convergeOne(host.transport, keyValueProvider, `${SSHD}:${key}`, props);
    assert.equal(r.before.length, 1, key);
    assert.deepEqual(r.after, [], key);
  }
  const after = await sh(host, `cat ${SSHD}`);
  const lines = after.split('\n');
  assert.ok(lines.includes('#PermitRootLogin prohibit-password'));
  assert.equal(lines[lines.indexOf('#PermitRootLogin prohibit-password') + 1], 'PermitRootLogin no');
  assert.equal(lines[lines.indexOf('#PasswordAuthentication yes') + 1], 'PasswordAuthentication no');
  assert.ok(lines.includes('X11Forwarding no') && !lines.includes('X11Forwarding yes'));
  // Every comment and other line is still there, in order.
  const comments = (s: string) => s.split('\n').filter((l) => l.startsWith('#'));
  assert.deepEqual(comments(after), comments(original));
  assert.equal(after.split('\n').length, original.split('\n').length + 2);
  // sshd itself agrees on the effective values.
  const effective = await sh(
    host,
    '/usr/sbin/sshd -T -f /etc/ssh/sshd_config -C user=bob,host=h,addr=127.0.0.1',
  );
  assert.match(effective, /^permitrootlogin no$/m);
  assert.match(effective, /^passwordauthentication no$/m);
  assert.match(effective, /^x11forwarding no$/m);
  // Mode, owner and a backup of each replaced version.
  assert.equal((await sh(host, `stat -c '%a %U %G' ${SSHD}`)).trim(), '644 root root');
  const backups = (await sh(host, 'ls /var/backups/bulwark')).trim().split('\n');
  assert.equal(backups.length, 3);
  assert.ok(backups.every((b) => b.startsWith('_etc_ssh_sshd_config.')));
  const firstBackup = backups.sort()[0] ?? '';
  assert.equal(await sh(host, `cat /var/backups/bulwark/${firstBackup}`), original);
});

test('a value sshd rejects fails its verify and leaves sshd_config byte-identical', async (t) => {
  const host = await sshdHost(t);
  const before = await sh(host, `sha256sum ${SSHD}`);
  const props: KeyValueProps = { path: SSHD, key: 'PermitRootLogin', value: 'maybe', verify: VERIFY_SSHD };
  await assert.rejects(
    convergeOne(host.transport, keyValueProvider, `${SSHD}:PermitRootLogin`, props),
    (e: unknown) => isBulwarkError(e, 'BULWARK_VERIFY_FAILED'),
  );
  assert.equal(await sh(host, `sha256sum ${SSHD}`), before);
  assert.equal((await sh(host, 'ls -A /etc/ssh | grep -c bulwark || true')).trim(), '0');
});

test('PASS_MAX_DAYS in login.defs is changed in place, keeping its tab', async (t) => {
  const host = await useTestHost(t);
  const path = '/etc/login.defs';
  const original = await sh(host, `cat ${path}`);
  const props: KeyValueProps = { path, key: 'PASS_MAX_DAYS', value: '90', caseSensitive: true };
  const r = await convergeOne(host.transport, keyValueProvider, `${path}:PASS_MAX_DAYS`, props);
  assert.equal(r.before[0]?.from, '99999');
  assert.equal(r.before[0]?.to, '90');
  assert.deepEqual(r.after, []);
  assert.equal(
    await sh(host, `cat ${path}`),
    original.replace('PASS_MAX_DAYS\t99999\n', 'PASS_MAX_DAYS\t90\n'),
  );
});

test('an existing file keeps its mode, owner and group when a key is set', async (t) => {
  const host = await useTestHost(t);
  await sh(
    host,
    "printf 'a=1\\n' > /etc/kv.conf && chown root:nogroup /etc/kv.conf && chmod 640 /etc/kv.conf",
  );
  const props: KeyValueProps = { path: '/etc/kv.conf', key: 'b', value: '2', separator: '=' };
  const r = await convergeOne(host.transport, keyValueProvider, '/etc/kv.conf:b', props);
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, 'cat /etc/kv.conf'), 'a=1\nb=2\n');
  assert.equal((await sh(host, "stat -c '%a %U %G' /etc/kv.conf")).trim(), '640 root nogroup');
});

test('a missing file is created with a mode given as an octal string', async (t) => {
  const host = await useTestHost(t);
  const props: KeyValueProps = { path: '/etc/str.conf', key: 'Key', value: 'v', mode: '0640' };
  const r = await convergeOne(host.transport, keyValueProvider, '/etc/str.conf:Key', props);
  assert.deepEqual(r.after, []);
  assert.equal((await sh(host, "stat -c '%a %U' /etc/str.conf")).trim(), '640 root');
});

test('a missing file is created with the mode given, and absent on a missing file is up to date', async (t) => {
  const host = await useTestHost(t);
  const props: KeyValueProps = { path: '/etc/new.conf', key: 'Key', value: 'v', mode: 0o600 };
  const r = await convergeOne(host.transport, keyValueProvider, '/etc/new.conf:Key', props);
  assert.equal(r.before.length, 1);
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, 'cat /etc/new.conf'), 'Key v\n');
  assert.equal((await sh(host, "stat -c '%a %U' /etc/new.conf")).trim(), '600 root');
  const absent = await observe(host.transport, keyValueProvider, '/etc/none.conf:Key', {
    path: '/etc/none.conf',
    key: 'Key',
    ensure: 'absent',
  });
  assert.deepEqual(absent.changes, []);
});

test('absent removes the key from a real file and then reports up to date', async (t) => {
  const host = await sshdHost(t);
  const props: KeyValueProps = { path: SSHD, key: 'X11Forwarding', ensure: 'absent', verify: VERIFY_SSHD };
  const r = await convergeOne(host.transport, keyValueProvider, `${SSHD}:X11Forwarding`, props);
  assert.equal(r.before[0]?.from, 'yes');
  assert.deepEqual(r.after, []);
  const text = await sh(host, `cat ${SSHD}`);
  assert.doesNotMatch(text, /^X11Forwarding/m);
  assert.match(text, /^#\tX11Forwarding no$/m);
});

test('a symlinked config file is refused instead of being replaced by a regular file', async (t) => {
  const host = await useTestHost(t);
  await sh(host, "printf 'A 1\\n' > /etc/real.conf && ln -s real.conf /etc/link.conf");
  const props: KeyValueProps = { path: '/etc/link.conf', key: 'A', value: '2' };
  await assert.rejects(
    convergeOne(host.transport, keyValueProvider, '/etc/link.conf:A', props),
    (e: unknown) => isBulwarkError(e, 'BULWARK_APPLY_FAILED'),
  );
  assert.equal((await sh(host, 'readlink /etc/link.conf; cat /etc/real.conf')).trim(), 'real.conf\nA 1');
});
