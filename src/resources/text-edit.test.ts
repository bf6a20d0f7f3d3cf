import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import {
  checkPath,
  checkWriteProps,
  decodeText,
  encodeText,
  fromEncoding,
  insertLine,
  intoEncoding,
  joinLines,
  readFileState,
  splitLines,
  unifiedDiff,
} from './text-edit.js';

test('splitLines keeps each line ending so joinLines gives the text back exactly', () => {
  for (const text of ['', 'a', 'a\n', 'a\nb', 'a\r\nb\n', '\n\n', 'x\r\n\r\ny', 'a\rb\n']) {
    assert.equal(joinLines(splitLines(text)), text);
  }
  assert.deepEqual(splitLines('a\r\nb'), [
    { text: 'a', eol: '\r\n' },
    { text: 'b', eol: '' },
  ]);
});

test('a lone carriage return inside a line is kept as part of the line', () => {
  assert.deepEqual(splitLines('a\rb\n'), [{ text: 'a\rb', eol: '\n' }]);
});

test('insertLine gives a last line without ending one before appending, and uses the file line ending', () => {
  assert.equal(joinLines(insertLine(splitLines('a\nb'), 2, 'c')), 'a\nb\nc\n');
  assert.equal(joinLines(insertLine(splitLines('a\r\nb\r\n'), 1, 'c')), 'a\r\nc\r\nb\r\n');
  assert.equal(joinLines(insertLine([], 0, 'c')), 'c\n');
});

test('decodeText round-trips bytes that are not valid UTF-8', () => {
  const bytes = Buffer.from([0x23, 0x20, 0xe9, 0x0a, 0x41, 0x0a]);
  const d = decodeText(bytes);
  assert.equal(d.encoding, 'latin1');
  assert.deepEqual(encodeText(d.text, d.encoding), bytes);
  const u = decodeText(Buffer.from('# café\n'));
  assert.equal(u.encoding, 'utf8');
  assert.equal(u.text, '# café\n');
});

test('values move into and out of a latin1-decoded file as UTF-8 bytes', () => {
  const inside = intoEncoding('café', 'latin1');
  assert.deepEqual(Buffer.from(inside, 'latin1'), Buffer.from('café', 'utf8'));
  assert.equal(fromEncoding(inside, 'latin1'), 'café');
  assert.equal(intoEncoding('café', 'utf8'), 'café');
});

test('unifiedDiff is empty for equal texts', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n'), '');
});

test('unifiedDiff shows one changed line with three lines of context and a header', () => {
  const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
  const after = before.replace('5\n', 'five\n');
  assert.equal(
    unifiedDiff(before, after, { path: '/etc/x' }),
    [
      '--- /etc/x',
      '+++ /etc/x',
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-5',
      '+five',
      ' 6',
      ' 7',
      ' 8',
      '',
    ].join('\n'),
  );
});

test('unifiedDiff splits far-apart changes into separate hunks', () => {
  const lines = Array.from({ length: 30 }, (_, i) => `l${i}`);
  const after = [...lines];
  after[2] = 'X';
  after[25] = 'Y';
  const d = unifiedDiff(lines.join('\n') + '\n', after.join('\n') + '\n');
  assert.deepEqual(
    d.split('\n').filter((l) => l.startsWith('@@')),
    ['@@ -1,6 +1,6 @@', '@@ -23,7 +23,7 @@'],
  );
});

test('unifiedDiff numbers an insertion into an empty or new file from zero', () => {
  assert.equal(
    unifiedDiff('', 'a\n', { path: '/f', created: true }),
    '--- /dev/null\n+++ /f\n@@ -0,0 +1 @@\n+a\n',
  );
});

test('unifiedDiff shows a removed line and marks a missing final newline', () => {
  assert.equal(unifiedDiff('a\nb\nc', 'a\nc'), '@@ -1,3 +1,2 @@\n a\n-b\n c\n\\ No newline at end of file\n');
});

test('readFileState tells a missing path, a regular file and something else apart', () => {
  const stat = (s: string): Buffer => Buffer.from(s);
  assert.deepEqual(readFileState('/f', { exitCode: 3, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }), {
    kind: 'missing',
  });
  const file = readFileState('/f', {
    exitCode: 0,
    stdout: Buffer.from('x\n'),
    stderr: stat('81a4 0 42 2 root shadow'),
  });
  assert.equal(file.kind, 'file');
  assert.equal(file.kind === 'file' && file.stat.mode, 0o644);
  assert.equal(file.kind === 'file' && file.stat.group, 'shadow');
  assert.equal(file.kind === 'file' && file.content.toString(), 'x\n');
  const link = readFileState('/f', {
    exitCode: 0,
    stdout: Buffer.alloc(0),
    stderr: stat('a1ff 0 0 5 root root'),
  });
  assert.equal(link.kind, 'other');
  assert.throws(
    () => readFileState('/f', { exitCode: 1, stdout: Buffer.alloc(0), stderr: stat('Permission denied') }),
    (e: unknown) => isBulwarkError(e, 'BULWARK_PROBE_FAILED'),
  );
});

test('checkPath refuses relative, unnormalised, directory-like and multi-line paths', () => {
  assert.deepEqual(checkPath('r', 'path', '/etc/ssh/sshd_config'), []);
  for (const bad of ['etc/x', '/etc/../x', '/etc//x', '/etc/x/', '/', '/etc/x\n', '/etc/\0x', '', 42]) {
    assert.equal(checkPath('r', 'path', bad).length, 1, JSON.stringify(bad));
  }
});

test('checkWriteProps refuses bad modes and verify commands that do not look at the new content', () => {
  assert.deepEqual(
    checkWriteProps('r', { mode: 0o600, verify: ['/usr/sbin/sshd', '-t', '-f', '%{path}'] }),
    [],
  );
  assert.equal(checkWriteProps('r', { mode: -1 }).length, 1);
  assert.equal(checkWriteProps('r', { mode: 0o10000 }).length, 1);
  assert.equal(checkWriteProps('r', { mode: '644' }).length, 1);
  assert.equal(checkWriteProps('r', { verify: [] }).length, 1);
  assert.equal(checkWriteProps('r', { verify: '/usr/sbin/sshd -t' }).length, 1);
  assert.equal(checkWriteProps('r', { verify: ['/usr/sbin/sshd', '-t'] }).length, 1);
  assert.equal(checkWriteProps('r', { verify: ['x', '%{path}\0'] }).length, 1);
});
