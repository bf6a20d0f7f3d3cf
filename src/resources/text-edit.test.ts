import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import {
  checkEditedFileProps,
  decodeText,
  editChanges,
  encodeText,
  fromEncoding,
  insertLine,
  intoEncoding,
  joinLines,
  notRegularFile,
  planEdit,
  readFileState,
  splitLines,
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

test('checkEditedFileProps checks path, ensure, mode and verify, with modes written in octal', () => {
  assert.deepEqual(
    checkEditedFileProps('r', {
      path: '/etc/x',
      mode: 0o600,
      verify: ['/usr/sbin/sshd', '-t', '-f', '%{path}'],
    }),
    [],
  );
  assert.deepEqual(checkEditedFileProps('r', { path: '/etc/x', mode: '0644', ensure: 'absent' }), []);
  assert.deepEqual(checkEditedFileProps('r', { path: '/etc/x', mode: '644' }), []);
  for (const mode of [-1, 0o10000, 644, 1.5, '0o644', 'rw-r--r--']) {
    const found = checkEditedFileProps('r', { path: '/etc/x', mode });
    assert.deepEqual(
      found.map((p) => p.property),
      ['mode'],
      JSON.stringify(mode),
    );
  }
  assert.match(checkEditedFileProps('r', { path: '/etc/x', mode: 644 })[0]?.message ?? '', /decimal/);
  assert.deepEqual(
    checkEditedFileProps('r', { path: 'x', ensure: 'gone', verify: ['/usr/sbin/sshd', '-t'] })
      .map((p) => p.property)
      .sort(),
    ['ensure', 'path', 'verify'],
  );
});

test('notRegularFile says what is at the path and what to do instead', () => {
  const link = notRegularFile('/etc/x', 'symlink');
  assert.equal(link.code, 'BULWARK_APPLY_FAILED');
  assert.equal(link.message, '/etc/x is a symlink; manage its target or remove the link first');
  assert.match(notRegularFile('/etc/x', 'directory').message, /is a directory, not a regular file/);
  assert.match(notRegularFile('/etc/x', 'other').message, /fifo, socket or device/);
});

const stat = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, owner: 'root', group: 'root', size: 0 };
const upper = (text: string) => ({ text: text.toUpperCase(), seen: text === '' ? [] : [text.trim()] });

test('planEdit edits the text in the file encoding and is null when nothing is to be written', () => {
  const file = { kind: 'file' as const, stat, content: Buffer.from('ab\n') };
  const plan = planEdit(file, true, upper);
  assert.deepEqual(plan, { before: 'ab\n', after: 'AB\n', seen: ['ab'], content: Buffer.from('AB\n') });
  assert.equal(planEdit({ ...file, content: Buffer.from('AB\n') }, true, upper), null);
  assert.equal(planEdit({ kind: 'missing' }, false, upper), null);
  assert.equal(planEdit({ kind: 'other', stat: { ...stat, type: 'symlink' } }, true, upper), null);
  const created = planEdit({ kind: 'missing' }, true, () => ({ text: 'new\n', seen: [] }));
  assert.deepEqual(created?.content, Buffer.from('new\n'));
});

test('editChanges reports a type change, nothing, or one change with the file diff', () => {
  const link = { kind: 'other' as const, stat: { ...stat, type: 'symlink' as const } };
  const describe = () => ({ property: 'line', from: null, to: 'x' });
  assert.deepEqual(editChanges('/f', link, null, describe), [
    { property: 'type', from: 'symlink', to: 'file' },
  ]);
  assert.deepEqual(editChanges('/f', { kind: 'file', stat, content: Buffer.from('') }, null, describe), []);
  const plan = { before: '', after: 'x\n', seen: [], content: Buffer.from('x\n') };
  assert.deepEqual(editChanges('/f', { kind: 'missing' }, plan, describe), [
    { property: 'line', from: null, to: 'x', diff: '--- /dev/null\n+++ /f\n@@ -0,0 +1 @@\n+x\n' },
  ]);
});
