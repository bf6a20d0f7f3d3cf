import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { directory, file, readFileResult } from './file.js';
import { observeSubjects } from './testing.js';

const stat = (line: string, content = ''): { exitCode: number; stdout: Buffer; stderr: Buffer } => ({
  exitCode: 0,
  stdout: Buffer.from(content),
  stderr: Buffer.from(line),
});

test('a probed regular file exposes its stat and content, and a missing one only exists: false', () => {
  const o = readFileResult(stat('81a0 0 42 12 root shadow', 'a\nb\n'));
  assert.ok(o.exists);
  assert.equal(o.stat.type, 'file');
  assert.equal(o.stat.mode, 0o640);
  assert.equal(o.content, 'a\nb\n');
  assert.deepEqual(readFileResult({ exitCode: 3, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }), {
    exists: false,
  });
});

test('directories and symlinks have no content', () => {
  const d = readFileResult(stat('41ed 0 0 4096 root root'));
  assert.ok(d.exists && d.stat.type === 'directory' && d.content === undefined);
  const l = readFileResult(stat('a1ff 0 0 21 root root', 'target content'));
  assert.ok(l.exists && l.stat.type === 'symlink' && l.content === undefined);
});

test('modes are shown in octal, and missing paths show (none)', () => {
  const mode = file('/etc/shadow').mode;
  assert.equal(mode.format?.(0o640), '0640');
  assert.equal(mode.format?.(0o4755), '4755');
  assert.equal(mode.format?.(undefined), '(none)');
  assert.equal(mode.label, 'file /etc/shadow mode');
});

test('lines and linesMatching split the content and ignore a global flag', () => {
  const f = file('/etc/x');
  const o = readFileResult(
    stat('81a4 0 0 5 root root', 'PermitRootLogin no\n# PermitRootLogin yes\r\nPort 22\n'),
  );
  assert.deepEqual(f.lines.select(o as never), ['PermitRootLogin no', '# PermitRootLogin yes', 'Port 22']);
  const m = f.linesMatching(/^PermitRootLogin/g);
  assert.deepEqual(m.select(o as never), ['PermitRootLogin no']);
  assert.deepEqual(m.select(o as never), ['PermitRootLogin no']);
  assert.deepEqual(f.linesMatching('Port').select(o as never), ['Port 22']);
});

test('relative paths and paths with line breaks are refused at once', () => {
  assert.throws(() => file('etc/passwd'), /absolute path/);
  assert.throws(() => directory('/tmp\n/etc'), /line break/);
  assert.throws(() => file('/x').linesMatching('('), /regular expression/);
});

test('files, directories and symlinks of a test host are observed as they really are', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const r = await host.sh(
    'printf "one\\ntwo\\n" > /etc/bw-test && chown root:shadow /etc/bw-test && chmod 0640 /etc/bw-test && ' +
      'mkdir -p /srv/bw && chmod 1777 /srv/bw && ln -s /etc/bw-test /srv/bw/link && useradd -u 1234 carol && ' +
      'touch /srv/bw/carol && chown carol /srv/bw/carol',
  );
  assert.equal(r.exitCode, 0, r.stderr.toString());
  const f = file('/etc/bw-test');
  const d = directory('/srv/bw');
  const l = file('/srv/bw/link');
  const c = file('/srv/bw/carol');
  const gone = file('/etc/no-such-file');
  const o = await observeSubjects(host.transport, [f.exists, d.exists, l.exists, c.exists, gone.exists]);
  assert.equal(o.value(f.exists), true);
  assert.equal(o.value(f.type), 'file');
  assert.equal(o.value(f.mode), 0o640);
  assert.equal(o.value(f.owner), 'root');
  assert.equal(o.value(f.group), 'shadow');
  assert.equal(o.value(f.gid), 42);
  assert.equal(o.value(f.size), 8);
  assert.equal(o.value(f.content), 'one\ntwo\n');
  assert.deepEqual(o.value(f.linesMatching(/^t/)), ['two']);
  assert.equal(o.value(d.type), 'directory');
  assert.equal(o.value(d.mode), 0o1777);
  assert.equal(o.value(l.type), 'symlink');
  assert.equal(o.value(l.content), undefined);
  assert.equal(o.value(c.owner), 'carol');
  assert.equal(o.value(c.uid), 1234);
  assert.equal(o.value(gone.exists), false);
  assert.equal(o.value(gone.mode), undefined);
  assert.deepEqual(o.value(gone.lines), []);
});
