import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import { useTestHost } from '../testing/host.js';
import { convergeOne, observe } from '../testing/provider.js';
import type { FileStat } from '../transports/transport.js';
import { fileProvider, type FileProps, type FileState } from './file.js';
import { FACTS, probeResult, recordingContext, sh } from './test-helpers.js';

const LINK_REFUSED = (path: string) => `${path} is a symlink; manage its target or remove the link first`;

const stat = (fields: Partial<FileStat> = {}): FileStat => ({
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  owner: 'root',
  group: 'root',
  size: 0,
  ...fields,
});

const properties = (name: string, props: FileProps): (string | undefined)[] =>
  fileProvider.validate(name, props).map((p) => p.property);

// --- validate ---

test('file validate accepts a full declaration, with the mode as a number or an octal string', () => {
  assert.deepEqual(
    fileProvider.validate('/etc/sudoers.d/ops', {
      content: 'ops ALL=(ALL) ALL\n',
      mode: 0o440,
      owner: 'root',
      group: '0',
      verify: ['/usr/sbin/visudo', '-c', '-f', '%{path}'],
      backup: false,
    }),
    [],
  );
  assert.deepEqual(fileProvider.validate('/etc/x', { mode: '0644', ensure: 'absent' }), []);
});

test('file validate refuses relative, unnormalised, directory-like and multi-line paths', () => {
  for (const name of ['etc/motd', '/etc/../x', '/etc//x', '/etc/x/', '/', '/etc/x\n', '/etc/$(id)\0']) {
    assert.deepEqual(properties(name, { content: 'x' }), ['path'], JSON.stringify(name));
  }
  assert.match(fileProvider.validate('etc/motd', {})[0]?.message ?? '', /relative/);
});

test('file validate wants verify to be argv that checks the new content through %{path}', () => {
  for (const verify of [
    ['/usr/sbin/visudo', '-c'],
    '/usr/sbin/visudo -c -f %{path}',
    [],
    ['', '%{path}'],
    ['/bin/true', 7],
  ]) {
    assert.deepEqual(
      properties('/etc/x', { content: 'x', verify: verify as unknown as string[] }),
      ['verify'],
      JSON.stringify(verify),
    );
  }
});

test('file validate refuses a decimal mode, bad accounts and ill-typed props, all at once', () => {
  const props = {
    mode: 644,
    owner: 'root; reboot',
    group: 'Wheel',
    content: 3,
    ensure: 'gone',
    backup: 'yes',
  } as unknown as FileProps;
  assert.deepEqual(properties('/etc/x', props).sort(), [
    'backup',
    'content',
    'ensure',
    'group',
    'mode',
    'owner',
  ]);
  assert.match(fileProvider.validate('/etc/x', { mode: 644 })[0]?.message ?? '', /decimal number/);
});

// --- read and diff ---

test('file read treats a missing path as absent and refuses to guess when the probe failed', () => {
  assert.deepEqual(fileProvider.read('/x', {}, { file: probeResult('', 3) }, FACTS), {
    stat: null,
    content: null,
  });
  const link = fileProvider.read(
    '/x',
    { content: 'a' },
    { file: probeResult('', 0, 'a1ff 0 0 5 root root') },
    FACTS,
  );
  assert.equal(link.stat?.type, 'symlink');
  assert.equal(link.content, null);
  assert.throws(
    () => fileProvider.read('/x', {}, { file: probeResult('', 1, 'Permission denied') }, FACTS),
    (e: unknown) => isBulwarkError(e, 'BULWARK_PROBE_FAILED'),
  );
});

test('file diff of a symlink reports only the type change, whatever else is asked', () => {
  const link: FileState = { stat: stat({ type: 'symlink', mode: 0o777 }), content: null };
  assert.deepEqual(fileProvider.diff('/etc/x', { content: 'a\n', mode: 0o600, owner: 'bin' }, link, FACTS), [
    { property: 'type', from: 'symlink', to: 'file' },
  ]);
  assert.deepEqual(fileProvider.diff('/etc/x', { ensure: 'absent' }, link, FACTS), [
    { property: 'ensure', from: 'present', to: 'absent' },
  ]);
});

test('file diff shows a content change as a unified diff with the path in its header', () => {
  const state: FileState = { stat: stat(), content: Buffer.from('a\nb\n') };
  const [change, ...rest] = fileProvider.diff('/etc/x', { content: 'a\nc\n' }, state, FACTS);
  assert.deepEqual(rest, []);
  assert.equal(change?.from, '4 bytes');
  assert.equal(change?.diff, '--- /etc/x\n+++ /etc/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n');
  const created = fileProvider.diff('/etc/x', { content: 'new\n' }, { stat: null, content: null }, FACTS);
  assert.deepEqual(
    created.map((c) => [c.property, c.diff]),
    [
      ['ensure', undefined],
      ['content', '--- /dev/null\n+++ /etc/x\n@@ -0,0 +1 @@\n+new\n'],
    ],
  );
});

test('file apply refuses a symlink before running or writing anything', async () => {
  const link: FileState = { stat: stat({ type: 'symlink', mode: 0o777 }), content: null };
  const { ctx, runs, writes } = recordingContext(FACTS);
  const changes = fileProvider.diff('/etc/x', { content: 'a' }, link, FACTS);
  await assert.rejects(
    fileProvider.apply('/etc/x', { content: 'a' }, link, changes, ctx),
    (e: unknown) => isBulwarkError(e, 'BULWARK_APPLY_FAILED') && e.message === LINK_REFUSED('/etc/x'),
  );
  assert.deepEqual([runs, writes], [[], []]);
});

test('file apply creates a new file 0644 root:root unless told otherwise', async () => {
  const { ctx, writes } = recordingContext(FACTS);
  const missing: FileState = { stat: null, content: null };
  await fileProvider.apply('/etc/x', {}, missing, fileProvider.diff('/etc/x', {}, missing, FACTS), ctx);
  await fileProvider.apply(
    '/etc/y',
    { mode: '0600' },
    missing,
    [{ property: 'ensure', from: null, to: null }],
    ctx,
  );
  assert.deepEqual(writes, [
    { path: '/etc/x', data: '', mode: 0o644, backupDir: undefined },
    { path: '/etc/y', data: '', mode: 0o600, backupDir: undefined },
  ]);
});

// --- real hosts ---

test('a new file is created with its content, 0644 root:root, and the second converge changes nothing', async (t) => {
  const host = await useTestHost(t);
  const r = await convergeOne(host.transport, fileProvider, '/etc/bulwark-motd', { content: 'hello\n' });
  assert.deepEqual(
    r.before.map((c) => c.property),
    ['ensure', 'content'],
  );
  assert.deepEqual(r.after, []);
  assert.equal(
    await sh(host, "stat -c '%a %U %G' /etc/bulwark-motd; cat /etc/bulwark-motd"),
    '644 root root\nhello\n',
  );
  assert.deepEqual(
    (await convergeOne(host.transport, fileProvider, '/etc/bulwark-motd', { content: 'hello\n' })).before,
    [],
  );
});

test('replacing content keeps the mode and owner of the old file and a backup of it', async (t) => {
  const host = await useTestHost(t);
  await sh(host, "printf 'old\\n' > /etc/app.conf && chmod 640 /etc/app.conf && chgrp nogroup /etc/app.conf");
  const r = await convergeOne(host.transport, fileProvider, '/etc/app.conf', { content: 'new\n' });
  assert.deepEqual(
    r.before.map((c) => c.property),
    ['content'],
  );
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, "stat -c '%a %G' /etc/app.conf; cat /etc/app.conf"), '640 nogroup\nnew\n');
  const backup = (await sh(host, 'ls /var/backups/bulwark')).trim();
  assert.match(backup, /^_etc_app\.conf\./);
  assert.equal(await sh(host, `cat /var/backups/bulwark/${backup}`), 'old\n');
});

test('a symlink is never replaced: content and mode are refused and the link and its target stay', async (t) => {
  const host = await useTestHost(t);
  await sh(
    host,
    "printf 'target\\n' > /etc/real.conf && chmod 600 /etc/real.conf && ln -s real.conf /etc/link.conf",
  );
  for (const props of [{ content: 'new\n' }, { mode: 0o644 }, {}] as FileProps[]) {
    const seen = await observe(host.transport, fileProvider, '/etc/link.conf', props);
    assert.deepEqual(
      seen.changes,
      [{ property: 'type', from: 'symlink', to: 'file' }],
      JSON.stringify(props),
    );
    await assert.rejects(
      convergeOne(host.transport, fileProvider, '/etc/link.conf', props),
      (e: unknown) =>
        isBulwarkError(e, 'BULWARK_APPLY_FAILED') && e.message === LINK_REFUSED('/etc/link.conf'),
    );
  }
  assert.equal(
    await sh(host, 'readlink /etc/link.conf; stat -c %a /etc/real.conf; cat /etc/real.conf'),
    'real.conf\n600\ntarget\n',
  );
});

test('ensure absent removes a symlink itself, not its target', async (t) => {
  const host = await useTestHost(t);
  await sh(host, "printf 'target\\n' > /etc/real.conf && ln -s real.conf /etc/link.conf");
  const r = await convergeOne(host.transport, fileProvider, '/etc/link.conf', { ensure: 'absent' });
  assert.deepEqual(r.after, []);
  assert.equal(
    await sh(host, 'test ! -e /etc/link.conf && test ! -L /etc/link.conf && cat /etc/real.conf'),
    'target\n',
  );
});

test('a verify command sees the new content through %{path}: passing installs it, failing keeps the old file', async (t) => {
  const host = await useTestHost(t);
  await sh(host, "printf 'ok\\n' > /etc/checked.conf");
  const verify = ['/bin/sh', '-c', '! grep -q bad "$1"', 'verify', '%{path}'];
  const good: FileProps = { content: 'good\n', verify };
  assert.deepEqual(fileProvider.validate('/etc/checked.conf', good), []);
  const r = await convergeOne(host.transport, fileProvider, '/etc/checked.conf', good);
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, 'cat /etc/checked.conf'), 'good\n');
  await assert.rejects(
    convergeOne(host.transport, fileProvider, '/etc/checked.conf', { content: 'bad\n', verify }),
    (e: unknown) => isBulwarkError(e, 'BULWARK_VERIFY_FAILED'),
  );
  assert.equal(await sh(host, 'cat /etc/checked.conf; ls -A /etc | grep -c bulwark || true'), 'good\n0\n');
});

test('mode, owner and group alone are changed in place without rewriting the file', async (t) => {
  const host = await useTestHost(t);
  await sh(host, "printf 'keep\\n' > /etc/own.conf && chmod 666 /etc/own.conf");
  const props: FileProps = { mode: '0640', owner: 'bin', group: '0' };
  const r = await convergeOne(host.transport, fileProvider, '/etc/own.conf', props);
  assert.deepEqual(
    r.before.map((c) => `${c.property}:${c.from}->${c.to}`),
    ['mode:0666->0640', 'owner:root->bin'],
  );
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, "stat -c '%a %U %G' /etc/own.conf; cat /etc/own.conf"), '640 bin root\nkeep\n');
  assert.equal((await sh(host, 'ls -A /var/backups/bulwark 2>/dev/null | wc -l')).trim(), '0');
});
