/**
 * The contract every transport (local, chroot, SSH) must pass, as one node:test suite any implementation can run:
 * `transportContract('local', async () => ({ transport: new LocalTransport(), cleanup: async () => {} }))`.
 * Every test works in its own scratch directory under /tmp on the target and removes it afterwards.
 * Test-only: imports node:test, the transport interface and Node built-ins.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BulwarkError, type ErrorCode } from '../errors.js';
import type { ExecResult, Transport } from './transport.js';

/** A transport under test and how to release everything made for it. */
export interface TransportUnderTest {
  readonly transport: Transport;
  readonly cleanup: () => Promise<void>;
}

/** One test's transport and its scratch directory on the target, with small helpers that run there. */
interface Scratch {
  readonly transport: Transport;
  /** Absolute path of an empty directory on the target, removed after the test. */
  readonly dir: string;
  /** Runs argv and fails the test unless it exits 0; returns stdout. */
  ok(argv: readonly string[], stdin?: string | Uint8Array): Promise<Buffer>;
  /** Creates a file with exactly these bytes without going through writeFile. */
  put(path: string, data: string | Uint8Array): Promise<void>;
  /** The names in a directory, sorted. */
  list(path: string): Promise<string[]>;
  /** The inode number of a path. */
  inode(path: string): Promise<string>;
}

function describeResult(r: ExecResult): string {
  return `${r.argv.join(' ')} exited ${r.exitCode} (signal ${r.signal}): ${r.stderr.toString('utf8').trim()}`;
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BulwarkError, `${what}: expected a BulwarkError, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: wrong error code (${e.message})`);
    return true;
  });
}

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text !== '') found.push(...text.split(/\s+/).map(Number));
    } catch {
      // the task ended while we looked
    }
  }
  return found;
}

function mentions(pid: number, marker: string): boolean {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) return true;
  } catch {
    return false;
  }
  return childrenOf(pid).some((c) => mentions(c, marker));
}

/**
 * Waits for `p` at most `ms`; when it does not settle in time, kills the process groups this test process started
 * whose command lines mention `marker` (and only those), so a hanging command cannot keep the run alive.
 */
async function within<T>(p: Promise<T>, ms: number, marker: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  const first = await Promise.race([
    p.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    late,
  ]);
  clearTimeout(timer);
  if (first === 'late') {
    for (const child of childrenOf(process.pid)) {
      if (mentions(child, marker)) {
        try {
          process.kill(-child, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await p.catch(() => undefined);
    assert.fail(`${what} did not finish within ${ms} ms; its processes were killed`);
  }
  return p;
}

// Reports 0 when the process whose pid is in file $1 is gone (or a zombie nobody reaps), 1 while it still runs.
const GONE_SCRIPT = `p=$(cat "$1")
if [ -r "/proc/$p/stat" ]; then
  s=$(sed 's/^.*) //' "/proc/$p/stat")
  case $s in Z*|X*) exit 0 ;; *) exit 1 ;; esac
fi
if kill -0 "$p" 2>/dev/null; then exit 1; fi
exit 0`;

// Prints every name in directory $1, hidden ones included, each followed by NUL (names may hold newlines).
const LIST_SCRIPT = `for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
  if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\\0' "\${f##*/}"; fi
done`;

/** A deterministic byte pattern, so binary tests can be reproduced. */
function bytes(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Registers the transport contract tests for one implementation; `make` opens a fresh transport per test. */
export function transportContract(name: string, make: () => Promise<TransportUnderTest>): void {
  async function open(t: TestContext): Promise<Scratch> {
    const { transport, cleanup } = await make();
    const dir = `/tmp/bulwark-contract-${randomBytes(6).toString('hex')}`;
    t.after(async () => {
      try {
        await transport.exec(['rm', '-rf', '--', dir]);
      } catch {
        // the test closed the transport; cleanup removes what is left with the target
      }
      await cleanup();
    });
    const ok = async (argv: readonly string[], stdin?: string | Uint8Array): Promise<Buffer> => {
      const r = await transport.exec(argv, stdin === undefined ? {} : { stdin });
      assert.equal(r.exitCode, 0, describeResult(r));
      return r.stdout;
    };
    await ok(['mkdir', '-m', '0755', '--', dir]);
    return {
      transport,
      dir,
      ok,
      put: async (path, data) => {
        await ok(['sh', '-c', 'cat > "$1"', 'sh', path], data);
      },
      list: async (path) =>
        (await ok(['sh', '-c', LIST_SCRIPT, 'sh', path]))
          .toString('utf8')
          .split('\0')
          .filter((l) => l !== '')
          .sort(),
      inode: async (path) => (await ok(['stat', '-c', '%i', '--', path])).toString('utf8').trim(),
    };
  }

  describe(`${name} transport contract`, { concurrency: 8 }, () => {
    // exec ----------------------------------------------------------------------------------------------------

    test('exec returns stdout, stderr and the exit code, and a non-zero exit is a value, not an exception', async (t) => {
      const { transport } = await open(t);
      const r = await transport.exec(['sh', '-c', 'printf "out\\nput"; printf err >&2; exit 7']);
      assert.equal(r.exitCode, 7);
      assert.equal(r.signal, null);
      assert.equal(r.timedOut, false);
      assert.equal(r.stdout.toString('utf8'), 'out\nput');
      assert.equal(r.stderr.toString('utf8'), 'err');
      assert.deepEqual(r.argv, ['sh', '-c', 'printf "out\\nput"; printf err >&2; exit 7']);
      assert.ok(r.durationMs >= 0);
      const good = await transport.exec(['true']);
      assert.equal(good.exitCode, 0);
      assert.equal(good.stdout.length, 0);
    });

    test('exec hands every argv word over verbatim, with no shell in between', async (t) => {
      const { transport, dir, list } = await open(t);
      const words = [
        'two words',
        "it's",
        '"double"',
        `; touch ${dir}/pwned`,
        `$(touch ${dir}/pwned)`,
        `\`touch ${dir}/pwned\``,
        '| cat /etc/passwd',
        '*',
        '~',
        '$HOME',
        '\\',
        'line\nbreak',
        '\ttab',
        '',
        '-rf',
        'grüße ✓ 😀',
      ];
      const r = await transport.exec(['printf', '%s\\0', ...words]);
      assert.equal(r.exitCode, 0, describeResult(r));
      assert.deepEqual(r.stdout, Buffer.from(words.map((w) => `${w}\0`).join(''), 'utf8'));
      assert.deepEqual(await list(dir), [], 'a word was run by a shell');
    });

    test('exec refuses an empty argv and a NUL byte in a word without making a round trip', async (t) => {
      const { transport } = await open(t);
      const before = transport.roundTrips;
      await rejectsWith(transport.exec([]), 'BULWARK_USAGE', 'empty argv');
      await rejectsWith(transport.exec(['echo', 'a\0b']), 'BULWARK_UNSAFE_VALUE', 'NUL in argv');
      assert.equal(transport.roundTrips, before);
    });

    test('exec reports a program that does not exist as exit code 127, the way a shell does', async (t) => {
      const { transport } = await open(t);
      const r = await transport.exec(['/nonexistent/bulwark-no-such-program', 'x']);
      assert.equal(r.exitCode, 127, describeResult(r));
    });

    test('exec delivers stdin byte for byte and closes it', async (t) => {
      const { transport } = await open(t);
      const data = Buffer.concat([ALL_BYTES, bytes(1024 * 1024, 7), Buffer.from('no newline at the end')]);
      const r = await transport.exec(['cat'], { stdin: data });
      assert.equal(r.exitCode, 0, describeResult(r));
      assert.ok(r.stdout.equals(data), 'cat echoed different bytes');
      const text = await transport.exec(['cat'], { stdin: 'grüße\n' });
      assert.equal(text.stdout.toString('utf8'), 'grüße\n');
    });

    test('exec without stdin gives the command an immediate end of input', async (t) => {
      const { transport } = await open(t);
      const r = await transport.exec(['cat'], { timeoutMs: 10_000 });
      assert.equal(r.timedOut, false);
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout.length, 0);
    });

    test('exec kills a command that runs past timeoutMs and reports timedOut', async (t) => {
      const { transport } = await open(t);
      const r = await transport.exec(['sleep', '30'], { timeoutMs: 300 });
      assert.equal(r.timedOut, true);
      assert.equal(r.exitCode, null);
      assert.ok(r.durationMs < 10_000, `the timeout took ${r.durationMs} ms`);
      const fast = await transport.exec(['true'], { timeoutMs: 10_000 });
      assert.equal(fast.timedOut, false);
    });

    test('exec on timeout kills the command children too', async (t) => {
      const { transport, dir } = await open(t);
      const pidFile = `${dir}/child.pid`;
      // The background sleep keeps stdout open: if it survived, the call would not return until it ended.
      const r = await transport.script('sleep 30 & echo $! > "$1"; wait', [pidFile], { timeoutMs: 1000 });
      assert.equal(r.timedOut, true);
      assert.ok(r.durationMs < 10_000, `the timeout took ${r.durationMs} ms`);
      const pid = (await transport.readFile(pidFile))?.toString('utf8').trim();
      assert.match(pid ?? '', /^\d+$/, 'the script did not record its child');
      let gone: ExecResult | undefined;
      for (let i = 0; i < 50; i++) {
        gone = await transport.script(GONE_SCRIPT, [pidFile]);
        if (gone.exitCode === 0) break;
        await sleep(100);
      }
      assert.equal(gone?.exitCode, 0, `the child ${pid} still runs after the timeout`);
    });

    test('exec stops a command when its AbortSignal fires', async (t) => {
      const { transport } = await open(t);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const r = await transport.exec(['sleep', '30'], { signal: controller.signal });
      assert.equal(r.exitCode, null);
      assert.equal(r.signal, 'SIGKILL');
      assert.equal(r.timedOut, false);
      assert.ok(r.durationMs < 10_000);
    });

    test('exec runs in a clean environment: PATH and LANG set, the caller variables not passed through', async (t) => {
      const { transport } = await open(t);
      const secret = `BULWARK_CONTRACT_SECRET_${randomBytes(4).toString('hex').toUpperCase()}`;
      process.env[secret] = 'leaked';
      t.after(() => {
        Reflect.deleteProperty(process.env, secret);
      });
      const r = await transport.exec(['env'], { env: { BULWARK_EXTRA: 'a b; $(c)' } });
      assert.equal(r.exitCode, 0, describeResult(r));
      const env = new Map(
        r.stdout
          .toString('utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      assert.ok((env.get('PATH') ?? '').split(':').includes('/usr/bin'), `PATH is ${env.get('PATH')}`);
      assert.ok((env.get('PATH') ?? '').split(':').includes('/usr/sbin'), `PATH is ${env.get('PATH')}`);
      assert.equal(env.get('LANG'), 'C.UTF-8');
      assert.equal(env.has(secret), false, 'a variable of the caller reached the command');
      assert.equal(env.get('BULWARK_EXTRA'), 'a b; $(c)');
    });

    // script --------------------------------------------------------------------------------------------------

    test('script passes its args as positional parameters, verbatim', async (t) => {
      const { transport, dir, list } = await open(t);
      const args = ['a b', '', "it's", `$(touch ${dir}/pwned)`, 'new\nline', '-n', '*', '%{path}'];
      const r = await transport.script(`printf '%s\\0' "$#" "$@"`, args);
      assert.equal(r.exitCode, 0, describeResult(r));
      assert.deepEqual(r.stdout.toString('utf8').split('\0').slice(0, -1), [String(args.length), ...args]);
      assert.deepEqual(await list(dir), []);
      const code = await transport.script('exit "$1"', ['5']);
      assert.equal(code.exitCode, 5);
      const piped = await transport.script('tr a-z A-Z', [], { stdin: 'shout' });
      assert.equal(piped.stdout.toString('utf8'), 'SHOUT');
    });

    // readFile ------------------------------------------------------------------------------------------------

    test('readFile returns the exact bytes of a file: binary, empty, and without a trailing newline', async (t) => {
      const { transport, dir, put } = await open(t);
      const binary = Buffer.concat([ALL_BYTES, bytes(300_000, 3), ALL_BYTES]);
      await put(`${dir}/binary`, binary);
      await put(`${dir}/plain`, 'no newline');
      await put(`${dir}/empty`, '');
      assert.deepEqual(await transport.readFile(`${dir}/binary`), binary);
      assert.deepEqual(await transport.readFile(`${dir}/plain`), Buffer.from('no newline'));
      assert.deepEqual(await transport.readFile(`${dir}/empty`), Buffer.alloc(0));
    });

    test('readFile of a missing file returns null', async (t) => {
      const { transport, dir } = await open(t);
      assert.equal(await transport.readFile(`${dir}/missing`), null);
      assert.equal(await transport.readFile(`${dir}/missing/deeper`), null);
    });

    test('readFile handles names with spaces, quotes, newlines and a leading dash', async (t) => {
      const { transport, dir, put } = await open(t);
      const path = `${dir}/-x it's "q" $(id) \nnl`;
      await put(path, 'hostile name');
      assert.deepEqual(await transport.readFile(path), Buffer.from('hostile name'));
    });

    test('readFile of a directory is an error, not content', async (t) => {
      const { transport, dir } = await open(t);
      await rejectsWith(transport.readFile(dir), 'BULWARK_TRANSPORT', 'readFile of a directory');
    });

    // stat ----------------------------------------------------------------------------------------------------

    test('stat reports type, mode, owner, group and size of a file', async (t) => {
      const { transport, dir, put, ok } = await open(t);
      await put(`${dir}/f`, 'twelve bytes');
      await ok(['chown', 'daemon:adm', `${dir}/f`]);
      await ok(['chmod', '0640', `${dir}/f`]);
      assert.deepEqual(await transport.stat(`${dir}/f`), {
        type: 'file',
        mode: 0o640,
        uid: 1,
        gid: 4,
        owner: 'daemon',
        group: 'adm',
        size: 12,
      });
    });

    test('stat reports a directory, a symlink without following it, and other file types', async (t) => {
      const { transport, dir, ok, put } = await open(t);
      await ok(['mkdir', '-m', '0750', `${dir}/d`]);
      await put(`${dir}/target`, 'x');
      await ok(['ln', '-s', 'target', `${dir}/link`]);
      await ok(['ln', '-s', '/nonexistent/bulwark', `${dir}/dangling`]);
      await ok(['mkfifo', `${dir}/fifo`]);
      const d = await transport.stat(`${dir}/d`);
      assert.equal(d?.type, 'directory');
      assert.equal(d?.mode, 0o750);
      assert.equal(d?.owner, 'root');
      const link = await transport.stat(`${dir}/link`);
      assert.equal(link?.type, 'symlink');
      assert.equal(link?.size, 'target'.length);
      assert.equal((await transport.stat(`${dir}/dangling`))?.type, 'symlink');
      assert.equal((await transport.stat(`${dir}/fifo`))?.type, 'other');
    });

    test('stat of a missing path returns null', async (t) => {
      const { transport, dir } = await open(t);
      assert.equal(await transport.stat(`${dir}/missing`), null);
      assert.equal(await transport.stat(`${dir}/missing/deeper`), null);
    });

    test('stat reports setuid, setgid and sticky bits and numeric owners without a name', async (t) => {
      const { transport, dir, ok, put } = await open(t);
      await put(`${dir}/suid`, '');
      await ok(['chmod', '4755', `${dir}/suid`]);
      await put(`${dir}/sgid`, '');
      await ok(['chmod', '2711', `${dir}/sgid`]);
      await ok(['mkdir', `${dir}/sticky`]);
      await ok(['chmod', '1777', `${dir}/sticky`]);
      await put(`${dir}/nobody`, '');
      await ok(['chown', '4242:4243', `${dir}/nobody`]);
      assert.equal((await transport.stat(`${dir}/suid`))?.mode, 0o4755);
      assert.equal((await transport.stat(`${dir}/sgid`))?.mode, 0o2711);
      assert.equal((await transport.stat(`${dir}/sticky`))?.mode, 0o1777);
      const nobody = await transport.stat(`${dir}/nobody`);
      assert.equal(nobody?.uid, 4242);
      assert.equal(nobody?.gid, 4243);
      assert.equal(nobody?.owner, '4242');
      assert.equal(nobody?.group, '4243');
    });

    // writeFile -----------------------------------------------------------------------------------------------

    test('writeFile creates a file with the given mode, owner and group', async (t) => {
      const { transport, dir, list } = await open(t);
      const result = await transport.writeFile(`${dir}/new`, 'hello\n', {
        mode: 0o640,
        owner: 'daemon',
        group: 'adm',
      });
      assert.deepEqual(result, {});
      assert.deepEqual(await transport.readFile(`${dir}/new`), Buffer.from('hello\n'));
      const s = await transport.stat(`${dir}/new`);
      assert.deepEqual(
        { type: s?.type, mode: s?.mode, owner: s?.owner, group: s?.group },
        { type: 'file', mode: 0o640, owner: 'daemon', group: 'adm' },
      );
      await transport.writeFile(`${dir}/suid`, '#!/bin/sh\n', { mode: 0o4755 });
      const suid = await transport.stat(`${dir}/suid`);
      assert.equal(suid?.mode, 0o4755, 'setuid must survive the chown');
      assert.equal(suid?.owner, 'root');
      assert.equal(suid?.group, 'root');
      await transport.writeFile(`${dir}/numeric`, '', { mode: 0o600, owner: '4242', group: '4243' });
      assert.equal((await transport.stat(`${dir}/numeric`))?.uid, 4242);
      assert.deepEqual(await list(dir), ['new', 'numeric', 'suid']);
    });

    test('writeFile writes binary data, strings and empty content exactly', async (t) => {
      const { transport, dir, ok } = await open(t);
      const binary = Buffer.concat([ALL_BYTES, bytes(2 * 1024 * 1024, 11), ALL_BYTES]);
      await transport.writeFile(`${dir}/bin`, binary, { mode: 0o644 });
      assert.ok((await ok(['cat', `${dir}/bin`])).equals(binary), 'the binary content changed on the way');
      await transport.writeFile(`${dir}/text`, 'grüße ✓ no newline', { mode: 0o644 });
      assert.deepEqual(await ok(['cat', `${dir}/text`]), Buffer.from('grüße ✓ no newline', 'utf8'));
      await transport.writeFile(`${dir}/empty`, new Uint8Array(0), { mode: 0o644 });
      assert.equal((await transport.stat(`${dir}/empty`))?.size, 0);
    });

    test('writeFile replaces a file with a new inode and leaves the old inode untouched', async (t) => {
      const { transport, dir, put, ok, inode } = await open(t);
      const path = `${dir}/f`;
      await put(path, 'old content');
      await ok(['chown', 'daemon:daemon', path]);
      await ok(['chmod', '0666', path]);
      await ok(['ln', path, `${dir}/hold`]);
      const before = await inode(path);
      await transport.writeFile(path, 'new content', { mode: 0o600 });
      assert.notEqual(await inode(path), before, 'the file was rewritten in place');
      assert.deepEqual(await transport.readFile(`${dir}/hold`), Buffer.from('old content'));
      assert.deepEqual(await transport.readFile(path), Buffer.from('new content'));
      const s = await transport.stat(path);
      assert.deepEqual({ mode: s?.mode, owner: s?.owner }, { mode: 0o600, owner: 'root' });
    });

    test('writeFile never lets a reader see a partial file', async (t) => {
      const { transport, dir, put, ok } = await open(t);
      const path = `${dir}/f`;
      const a = Buffer.alloc(512 * 1024, 'a');
      const b = bytes(768 * 1024, 5);
      const sum = async (data: Buffer): Promise<string> =>
        (await ok(['cksum'], data)).toString('utf8').trim();
      const allowed = new Set([await sum(a), await sum(b)]);
      await transport.writeFile(path, a, { mode: 0o644 });
      const reader = transport.script(
        ': > "$3"; while [ ! -e "$2" ]; do cksum < "$1" || echo unreadable; done | sort | uniq -c',
        [path, `${dir}/stop`, `${dir}/started`],
        { timeoutMs: 120_000 },
      );
      for (let i = 0; i < 100 && (await transport.stat(`${dir}/started`)) === null; i++) await sleep(20);
      for (let i = 0; i < 10; i++) await transport.writeFile(path, i % 2 === 0 ? b : a, { mode: 0o644 });
      await put(`${dir}/stop`, '');
      const r = await reader;
      assert.equal(r.exitCode, 0, describeResult(r));
      const seen = r.stdout
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.trim().replace(/^\d+ /, ''));
      assert.ok(seen.length > 0, 'the reader never read the file');
      for (const s of seen)
        assert.ok(allowed.has(s), `a reader saw content that was neither old nor new: ${s}`);
    });

    test('writeFile keeps the replaced content in backupDir and returns its path', async (t) => {
      const { transport, dir, put, ok, list } = await open(t);
      const path = `${dir}/conf`;
      const backupDir = `${dir}/backups/nested`;
      await put(path, 'first\n');
      await ok(['chmod', '0604', path]);
      const first = await transport.writeFile(path, 'second\n', { mode: 0o644, backupDir });
      assert.ok(first.backupPath?.startsWith(`${backupDir}/`), `backup path ${first.backupPath}`);
      assert.deepEqual(await transport.readFile(first.backupPath ?? ''), Buffer.from('first\n'));
      assert.equal((await transport.stat(first.backupPath ?? ''))?.mode, 0o604, 'the backup lost its mode');
      const second = await transport.writeFile(path, 'third\n', { mode: 0o644, backupDir });
      assert.notEqual(second.backupPath, first.backupPath);
      assert.deepEqual(await transport.readFile(second.backupPath ?? ''), Buffer.from('second\n'));
      assert.deepEqual(await transport.readFile(first.backupPath ?? ''), Buffer.from('first\n'));
      assert.deepEqual(await transport.readFile(path), Buffer.from('third\n'));
      assert.equal((await list(backupDir)).length, 2);
      assert.deepEqual(await transport.writeFile(`${dir}/fresh`, 'x', { mode: 0o644, backupDir }), {});
      assert.deepEqual(await transport.writeFile(path, 'fourth\n', { mode: 0o644 }), {});
      assert.equal(
        (await list(backupDir)).length,
        2,
        'a backup was taken without backupDir or of a new file',
      );
    });

    test('writeFile installs the new content when the verify command succeeds', async (t) => {
      const { transport, dir, put } = await open(t);
      const path = `${dir}/conf`;
      await put(path, 'old\n');
      await transport.writeFile(path, 'good=1\n', {
        mode: 0o644,
        verify: ['grep', '-q', '^good=', '%{path}'],
      });
      assert.deepEqual(await transport.readFile(path), Buffer.from('good=1\n'));
    });

    test('writeFile keeps the old file byte-identical and throws BULWARK_VERIFY_FAILED when verify fails', async (t) => {
      const { transport, dir, put, list, inode } = await open(t);
      const path = `${dir}/conf`;
      const old = Buffer.concat([Buffer.from('old\n'), ALL_BYTES]);
      await put(path, old);
      const before = await inode(path);
      await rejectsWith(
        transport.writeFile(path, 'bad=1\n', {
          mode: 0o644,
          backupDir: `${dir}/backups`,
          verify: ['grep', '-q', '^good=', '%{path}'],
        }),
        'BULWARK_VERIFY_FAILED',
        'failing verify',
      );
      assert.deepEqual(await transport.readFile(path), old);
      assert.equal(await inode(path), before);
      await rejectsWith(
        transport.writeFile(path, 'x', { mode: 0o644, verify: ['/nonexistent/bulwark-verify', '%{path}'] }),
        'BULWARK_VERIFY_FAILED',
        'missing verify program',
      );
      assert.deepEqual(await transport.readFile(path), old);
      assert.deepEqual(await list(dir), ['conf'], 'a temporary file or backup was left behind');
    });

    test('writeFile verify sees the new content at %{path}, also inside a longer word', async (t) => {
      const { transport, dir, put } = await open(t);
      const path = `${dir}/conf`;
      await put(path, 'old content\n');
      await put(`${dir}/expected`, 'new content\n');
      await transport.writeFile(path, 'new content\n', {
        mode: 0o644,
        verify: [
          'sh',
          '-c',
          'cmp -s -- "$1" "$2" && [ "$1" != "$3" ]',
          'sh',
          '%{path}',
          `${dir}/expected`,
          path,
        ],
      });
      await transport.writeFile(path, 'new content\n', {
        mode: 0o644,
        verify: [
          'sh',
          '-c',
          'case $1 in --file=/*) cmp -s -- "${1#--file=}" "$2" ;; *) exit 1 ;; esac',
          'sh',
          '--file=%{path}',
          `${dir}/expected`,
        ],
      });
      assert.deepEqual(await transport.readFile(path), Buffer.from('new content\n'));
    });

    test('writeFile works for a file name holding %{path} with a verify command', async (t) => {
      const { transport, dir } = await open(t);
      const path = `${dir}/odd%{path}name`;
      await within(
        transport.writeFile(path, 'x\n', { mode: 0o644, verify: ['test', '-s', '%{path}'] }),
        5_000,
        dir,
        'writeFile of a name holding %{path}',
      );
      assert.deepEqual(await transport.readFile(path), Buffer.from('x\n'));
    });

    test('writeFile into a missing directory fails with a BulwarkError and creates nothing', async (t) => {
      const { transport, dir, list } = await open(t);
      await rejectsWith(
        transport.writeFile(`${dir}/missing/f`, 'x', { mode: 0o644 }),
        'BULWARK_TRANSPORT',
        'missing directory',
      );
      assert.deepEqual(await list(dir), []);
    });

    test('writeFile over a directory fails and leaves the directory as it was', async (t) => {
      const { transport, dir, ok, list } = await open(t);
      await ok(['mkdir', `${dir}/d`]);
      await assert.rejects(transport.writeFile(`${dir}/d`, 'x', { mode: 0o644 }), BulwarkError);
      assert.equal((await transport.stat(`${dir}/d`))?.type, 'directory');
      assert.deepEqual(await list(`${dir}/d`), [], 'a file was dropped into the directory');
    });

    test('writeFile leaves no temporary files behind after success or failure', async (t) => {
      const { transport, dir, list } = await open(t);
      const path = `${dir}/f`;
      await transport.writeFile(path, 'one', { mode: 0o644 });
      await transport.writeFile(path, 'two', { mode: 0o644 });
      assert.deepEqual(await list(dir), ['f']);
      await rejectsWith(
        transport.writeFile(path, 'three', { mode: 0o644, owner: 'bulwark-no-such-user' }),
        'BULWARK_TRANSPORT',
        'unknown owner',
      );
      await rejectsWith(
        transport.writeFile(path, 'four', { mode: 0o644, owner: `$(touch ${dir}/pwned)` }),
        'BULWARK_TRANSPORT',
        'hostile owner',
      );
      await rejectsWith(
        transport.writeFile(path, 'five', { mode: 0o644, verify: ['false'] }),
        'BULWARK_VERIFY_FAILED',
        'failing verify',
      );
      assert.deepEqual(await list(dir), ['f']);
      assert.deepEqual(await transport.readFile(path), Buffer.from('two'));
    });

    test('writeFile handles a path with spaces, quotes, newlines and shell syntax in it', async (t) => {
      const { transport, dir, list, ok } = await open(t);
      const name = `-it's "a" $(touch pwned) ;\nname`;
      await transport.writeFile(`${dir}/${name}`, 'ok', { mode: 0o644, backupDir: `${dir}/b k` });
      const r = await transport.writeFile(`${dir}/${name}`, 'ok2', { mode: 0o644, backupDir: `${dir}/b k` });
      assert.deepEqual(await transport.readFile(`${dir}/${name}`), Buffer.from('ok2'));
      assert.deepEqual(await ok(['cat', r.backupPath ?? '']), Buffer.from('ok'));
      assert.deepEqual(await list(dir), ['b k', name].sort());
    });

    // bookkeeping ---------------------------------------------------------------------------------------------

    test('roundTrips counts exactly one per call', async (t) => {
      const { transport, dir } = await open(t);
      const calls: [string, () => Promise<unknown>][] = [
        ['exec', () => transport.exec(['true'])],
        ['failing exec', () => transport.exec(['false'])],
        ['script', () => transport.script('exit 0', ['a', 'b'])],
        ['writeFile', () => transport.writeFile(`${dir}/f`, 'x', { mode: 0o644, backupDir: `${dir}/b` })],
        [
          'writeFile with backup and verify',
          () =>
            transport.writeFile(`${dir}/f`, 'y', { mode: 0o644, backupDir: `${dir}/b`, verify: ['true'] }),
        ],
        [
          'failing writeFile',
          () => transport.writeFile(`${dir}/f`, 'z', { mode: 0o644, verify: ['false'] }).catch(() => null),
        ],
        ['readFile', () => transport.readFile(`${dir}/f`)],
        ['readFile of a missing file', () => transport.readFile(`${dir}/missing`)],
        ['stat', () => transport.stat(`${dir}/f`)],
        ['stat of a missing file', () => transport.stat(`${dir}/missing`)],
      ];
      for (const [what, call] of calls) {
        const before = transport.roundTrips;
        await call();
        assert.equal(
          transport.roundTrips - before,
          1,
          `${what} made ${transport.roundTrips - before} round trips`,
        );
      }
    });

    test('after close every call fails with BULWARK_TRANSPORT and makes no round trip', async (t) => {
      const { transport, cleanup } = await make();
      t.after(cleanup);
      assert.equal((await transport.exec(['true'])).exitCode, 0);
      await transport.close();
      const before = transport.roundTrips;
      await rejectsWith(transport.exec(['true']), 'BULWARK_TRANSPORT', 'exec');
      await rejectsWith(transport.script('exit 0', []), 'BULWARK_TRANSPORT', 'script');
      await rejectsWith(transport.readFile('/etc/hostname'), 'BULWARK_TRANSPORT', 'readFile');
      await rejectsWith(transport.stat('/etc/hostname'), 'BULWARK_TRANSPORT', 'stat');
      await rejectsWith(
        transport.writeFile('/tmp/bulwark-contract-closed', 'x', { mode: 0o644 }),
        'BULWARK_TRANSPORT',
        'writeFile',
      );
      assert.equal(transport.roundTrips, before);
    });
  });
}
