import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unifiedDiff } from './text-diff.js';

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

test('unifiedDiff shows a changed line ending as a visible \\r', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\r\nb\n'), '@@ -1,2 +1,2 @@\n-a\n+a\\r\n b\n');
});

test('unifiedDiff of texts too large to align replaces the differing middle wholesale', () => {
  const before = Array.from({ length: 2100 }, (_, i) => `a${i}`);
  const after = Array.from({ length: 2100 }, (_, i) => `b${i}`);
  const d = unifiedDiff(['same', ...before, 'end'].join('\n'), ['same', ...after, 'end'].join('\n'));
  const lines = d.split('\n');
  assert.equal(lines[0], '@@ -1,2102 +1,2102 @@');
  assert.equal(lines.filter((l) => l.startsWith('-')).length, 2100);
  assert.equal(lines.filter((l) => l.startsWith('+')).length, 2100);
  assert.equal(lines.indexOf('+b0'), lines.indexOf('-a2099') + 1, 'every removal comes before the additions');
});
