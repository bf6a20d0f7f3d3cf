/**
 * The batched probe: the script and its parser on their own, then whole probes of real files, commands and facts
 * on this machine, a plain chroot and a namespaced test host, each in exactly one round trip.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';
import type { ProbeOp, ProbeResult } from '../resources/types.js';
import { createTestHost } from '../testing/host.js';
import { ChrootTransport } from '../transports/chroot.js';
import { LocalTransport } from '../transports/local.js';
import { quote } from '../transports/quote.js';
import { parseStat } from '../transports/shell-transport.js';
import type { Transport } from '../transports/transport.js';
import { buildProbeScript, parseProbeOutput, resultsFor, runProbe } from './probe.js';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function result(exitCode: number, stdout: string | Buffer, stderr: string | Buffer = ''): ProbeResult {
  return { exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) };
}

const b64 = (b: string | Buffer): string => Buffer.from(b).toString('base64');
const nulRecords = (records: readonly string[]): string => b64(records.map((r) => `${r}\0`).join(''));

test('parseProbeOutput reads exec, stat, content and kernel-file records, whatever bytes they carry', () => {
  const content = Buffer.concat([ALL_BYTES, Buffer.from('\nend')]);
  const output = [
    `R 124 ${b64('partial')} ${b64('timeout')} r2:exec with spaces`,
    `R 1 - ${b64('grüße ✓\n')} guard:3:onlyIf`,
    `M ${nulRecords(['81a4 0 0 18 root root /etc/a file', '41ed 0 0 4096 root root /new\nline'])}`,
    `C ${nulRecords([`${content.length} /etc/a file`, '3 /etc/b'])} ${b64(Buffer.concat([content, Buffer.from('xyz')]))}`,
    'V 0 r5:live',
    '|1',
    '|2 3',
    '.',
    'V 3 r6:gone',
    '.',
  ].join('\n');
  const out = parseProbeOutput(`${output}\n`);
  assert.deepEqual(out.execs.get('r2:exec with spaces'), result(124, 'partial', 'timeout'));
  assert.deepEqual(out.execs.get('guard:3:onlyIf'), result(1, '', 'grüße ✓\n'));
  assert.equal(out.stats.get('/etc/a file'), '81a4 0 0 18 root root');
  assert.equal(out.stats.get('/new\nline'), '41ed 0 0 4096 root root');
  assert.deepEqual(out.contents.get('/etc/a file'), content);
  assert.deepEqual(out.contents.get('/etc/b'), Buffer.from('xyz'));
  assert.deepEqual(out.kernel.get('r5:live'), Buffer.from('1\n2 3\n'));
  assert.equal(out.kernel.get('r6:gone'), null);
});

test('resultsFor maps records to ops: missing paths are exit 3, stat lines go to stderr', () => {
  const out = parseProbeOutput(
    [`M ${nulRecords(['81a4 0 0 2 root root /etc/x'])}`, `C ${nulRecords(['2 /etc/x'])} ${b64('hi')}`].join(
      '\n',
    ),
  );
  const results = resultsFor(
    new Map<string, ProbeOp>([
      ['s', { kind: 'stat', path: '/etc/x' }],
      ['f', { kind: 'file', path: '/etc/x' }],
      ['m', { kind: 'file', path: '/etc/missing' }],
    ]),
    out,
  );
  assert.deepEqual(results.get('s'), result(0, '', '81a4 0 0 2 root root'));
  assert.deepEqual(results.get('f'), result(0, 'hi', '81a4 0 0 2 root root'));
  assert.deepEqual(results.get('m'), result(3, ''));
  assert.throws(
    () => resultsFor(new Map([['x', { kind: 'exec', argv: ['true'] }]]), out),
    (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_PROBE_FAILED',
  );
});

test('parseProbeOutput refuses a line that is not a probe record, and contents that changed size', () => {
  for (const bad of ['r0:file 0 aGVsbG8=\n', `C ${nulRecords(['5 /etc/x'])} ${b64('hi')}\n`]) {
    assert.throws(
      () => parseProbeOutput(bad),
      (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_PROBE_FAILED',
    );
  }
});

test('buildProbeScript quotes every path, id and argv word and refuses a NUL byte', () => {
  const ops = new Map<string, ProbeOp>([
    ['r0:a', { kind: 'stat', path: "/tmp/it's $(touch x)" }],
    ['r0:b', { kind: 'file', path: '/etc/motd' }],
    ['r0:c', { kind: 'exec', argv: ['printf', '%s', '; touch x'], timeoutSec: 5 }],
    ['r0:d', { kind: 'file', path: '/proc/sys/net/ipv4/ip_forward' }],
  ]);
  const lines = buildProbeScript(ops).trimEnd().split('\n');
  assert.deepEqual(lines.slice(-5), [
    `X r0:c 5 printf %s ${quote('; touch x')}`,
    'V r0:d /proc/sys/net/ipv4/ip_forward',
    `M ${quote("/tmp/it's $(touch x)")} /etc/motd /proc/sys/net/ipv4/ip_forward`,
    'C /etc/motd',
    'Z',
  ]);
  assert.throws(
    () => buildProbeScript(new Map([['r0:a', { kind: 'file', path: '/etc/\0motd' }]])),
    (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_UNSAFE_VALUE',
  );
});

test('a built probe script run by /bin/sh parses back into the results of its ops', () => {
  const ops = new Map<string, ProbeOp>([
    ['echo', { kind: 'exec', argv: ['printf', '%s', 'a b\nc'] }],
    ['fail', { kind: 'exec', argv: ['sh', '-c', 'printf oops >&2; exit 5'] }],
    ['root', { kind: 'stat', path: '/' }],
    ['none', { kind: 'file', path: '/nonexistent/bulwark' }],
    ['release', { kind: 'file', path: '/etc/os-release' }],
  ]);
  const r = spawnSync('/bin/sh', ['-c', buildProbeScript(ops)], { env: { PATH: '/usr/bin:/bin' } });
  assert.equal(r.status, 0, r.stderr.toString());
  const parsed = resultsFor(ops, parseProbeOutput(r.stdout.toString('utf8')));
  assert.deepEqual([...parsed.keys()], ['echo', 'fail', 'root', 'none', 'release']);
  assert.deepEqual(parsed.get('echo'), result(0, 'a b\nc'));
  assert.deepEqual(parsed.get('fail'), result(5, '', 'oops'));
  assert.equal(parseStat(parsed.get('root')?.stderr.toString('utf8') ?? '').type, 'directory');
  assert.deepEqual(parsed.get('none'), result(3, ''));
  // /etc/os-release is a symlink on Debian: its stat is the link's, its content the target's.
  assert.deepEqual(parsed.get('release')?.stdout, readFileSync('/etc/os-release'));
});

// Whole probes against real targets -------------------------------------------------------------------------------

interface Target {
  readonly transport: Transport;
  /** Runs a command on the target and fails the test unless it exits 0. */
  ok(argv: readonly string[], stdin?: string | Uint8Array): Promise<void>;
  /** A fresh directory on the target, removed after the test. */
  readonly dir: string;
}

async function target(t: TestContext, transport: Transport): Promise<Target> {
  const dir = `/tmp/bulwark-probe-${randomBytes(6).toString('hex')}`;
  const ok = async (argv: readonly string[], stdin?: string | Uint8Array): Promise<void> => {
    const r = await transport.exec(argv, stdin === undefined ? {} : { stdin });
    assert.equal(r.exitCode, 0, `${argv.join(' ')}: ${r.stderr.toString()}`);
  };
  await ok(['mkdir', dir]);
  t.after(() => transport.exec(['rm', '-rf', '--', dir]).then(() => undefined));
  return { transport, ok, dir };
}

async function local(t: TestContext): Promise<Target> {
  return target(t, new LocalTransport());
}

async function namespaced(t: TestContext): Promise<Target & { netns: string }> {
  const host = await createTestHost();
  t.after(() => host.destroy());
  return { ...(await target(t, host.transport)), netns: host.netns };
}

async function chroot(t: TestContext): Promise<Target> {
  const host = await createTestHost();
  t.after(() => host.destroy());
  return target(t, new ChrootTransport(host.root));
}

const TARGETS: readonly [string, (t: TestContext) => Promise<Target>][] = [
  ['this machine', local],
  ['a plain chroot', chroot],
  ['a test host', namespaced],
];

for (const [where, open] of TARGETS) {
  test(`runProbe on ${where} stats and reads hostile file names and exact bytes in one round trip`, async (t) => {
    const { transport, ok, dir } = await open(t);
    const files: Record<string, string | Buffer> = {
      space: `${dir}/with space.txt`,
      quotes: `${dir}/it's "quoted" $(touch bulwark-pwned) ;`,
      newlineName: `${dir}/new\nline`,
      dash: `${dir}/-rf`,
    };
    const contents: Record<string, Buffer> = {
      space: Buffer.from('a b\n'),
      quotes: Buffer.from('line one\nline two\n\n\nno newline at the end'),
      newlineName: ALL_BYTES,
      dash: Buffer.concat([ALL_BYTES, Buffer.from(ALL_BYTES).reverse(), randomBytes(200_000)]),
    };
    for (const [k, path] of Object.entries(files))
      await ok(['sh', '-c', 'cat > "$1"', 'sh', String(path)], contents[k]);
    await ok(['chown', 'daemon:adm', String(files['space'])]);
    await ok(['chmod', '4751', String(files['space'])]);
    await ok(['ln', '-s', '/nonexistent/target', `${dir}/dangling`]);
    await ok(['mkdir', `${dir}/sub dir`]);

    const ops = new Map<string, ProbeOp>();
    for (const [k, path] of Object.entries(files)) {
      ops.set(`file:${k}`, { kind: 'file', path: String(path) });
      ops.set(`stat:${k}`, { kind: 'stat', path: String(path) });
    }
    ops.set('file:missing', { kind: 'file', path: `${dir}/missing file` });
    ops.set('stat:missing', { kind: 'stat', path: `${dir}/missing/deeper` });
    ops.set('stat:dangling', { kind: 'stat', path: `${dir}/dangling` });
    ops.set('file:dir', { kind: 'file', path: `${dir}/sub dir` });

    const before = transport.roundTrips;
    const { results } = await runProbe(transport, ops);
    assert.equal(transport.roundTrips - before, 1, 'the probe took more than one round trip');

    for (const k of Object.keys(files)) {
      const file = results.get(`file:${k}`);
      assert.equal(file?.exitCode, 0, k);
      assert.ok(file?.stdout.equals(contents[k] ?? Buffer.alloc(0)), `${k}: the content changed on the way`);
      assert.equal(parseStat(file?.stderr.toString('utf8') ?? '').size, contents[k]?.length);
      assert.equal(results.get(`stat:${k}`)?.exitCode, 0);
    }
    assert.deepEqual(parseStat(results.get('stat:space')?.stderr.toString('utf8') ?? ''), {
      type: 'file',
      mode: 0o4751,
      uid: 1,
      gid: 4,
      owner: 'daemon',
      group: 'adm',
      size: 4,
    });
    assert.deepEqual(results.get('file:missing'), result(3, ''));
    assert.equal(results.get('stat:missing')?.exitCode, 3);
    assert.equal(parseStat(results.get('stat:dangling')?.stderr.toString('utf8') ?? '').type, 'symlink');
    assert.equal(results.get('file:dir')?.exitCode, 0);
    assert.equal(results.get('file:dir')?.stdout.length, 0);
    assert.equal(parseStat(results.get('file:dir')?.stderr.toString('utf8') ?? '').type, 'directory');
    // A name run by a shell would have made bulwark-pwned in the working directory commands start in.
    assert.equal(
      (await transport.exec(['test', '-e', 'bulwark-pwned'])).exitCode,
      1,
      'a file name was executed',
    );
  });

  test(`runProbe on ${where} runs exec ops with argv verbatim, exit codes, stderr and a timeout`, async (t) => {
    const { transport, dir } = await open(t);
    const ops = new Map<string, ProbeOp>([
      ['literal', { kind: 'exec', argv: ['printf', '%s\\0', `$(touch ${dir}/pwned)`, "it's", 'a\nb', ''] }],
      ['fails', { kind: 'exec', argv: ['sh', '-c', 'printf out; printf "err\\n" >&2; exit 4'] }],
      ['stdin', { kind: 'exec', argv: ['cat'] }],
      ['missing', { kind: 'exec', argv: ['/nonexistent/bulwark-program'] }],
      ['slow', { kind: 'exec', argv: ['sleep', '5'], timeoutSec: 1 }],
      ['quick', { kind: 'exec', argv: ['sh', '-c', 'echo in time'], timeoutSec: 5 }],
      ['binary', { kind: 'exec', argv: ['head', '-c', '256', '/dev/urandom'] }],
    ]);
    const before = transport.roundTrips;
    const started = performance.now();
    const { results } = await runProbe(transport, ops);
    const took = performance.now() - started;
    assert.equal(transport.roundTrips - before, 1);
    assert.deepEqual(results.get('literal'), result(0, `$(touch ${dir}/pwned)\0it's\0a\nb\0\0`));
    assert.deepEqual(results.get('fails'), result(4, 'out', 'err\n'));
    assert.deepEqual(
      results.get('stdin'),
      result(0, ''),
      'an exec op read the probe script or hung on stdin',
    );
    assert.equal(results.get('missing')?.exitCode, 127);
    assert.equal(results.get('slow')?.exitCode, 124);
    assert.deepEqual(results.get('quick'), result(0, 'in time\n'));
    assert.equal(results.get('binary')?.stdout.length, 256);
    assert.ok(took < 4500, `the probe took ${took} ms: the timed out op was not stopped after 1 s`);
    assert.equal(
      (await transport.exec(['test', '-e', `${dir}/pwned`])).exitCode,
      1,
      'an argv word was executed',
    );
  });

  test(`runProbe on ${where} runs an exec op as a program, never as a builtin of the probe shell`, async (t) => {
    const { transport, ok, dir } = await open(t);
    await ok(['mkdir', `${dir}/victim`]);
    await ok(['touch', `${dir}/victim/keep`]);
    // As shell builtins these would end the probe early or point its cleanup (rm -rf "$T") at another directory.
    const ops = new Map<string, ProbeOp>([
      ['export', { kind: 'exec', argv: ['export', `T=${dir}/victim`] }],
      ['cd', { kind: 'exec', argv: ['cd', '/'] }],
      ['exit', { kind: 'exec', argv: ['exit', '7'] }],
      ['after', { kind: 'exec', argv: ['echo', 'still here'] }],
    ]);
    const outcome = await runProbe(transport, ops).then(
      (o) => ({ results: o.results, error: undefined }),
      (e: unknown) => ({ results: undefined, error: e }),
    );
    assert.equal(
      (await transport.exec(['test', '-e', `${dir}/victim/keep`])).exitCode,
      0,
      'the probe deleted a directory',
    );
    assert.equal(outcome.error, undefined, `the probe failed: ${String(outcome.error)}`);
    assert.deepEqual(outcome.results?.get('after'), result(0, 'still here\n'));
    for (const id of ['export', 'cd', 'exit']) assert.equal(outcome.results?.get(id)?.exitCode, 127, id);
  });

  test(`runProbe on ${where} returns a result for op ids holding spaces and other characters`, async (t) => {
    const { transport } = await open(t);
    const ids = ['r0:plain', 'r1:with space', "r2:it's", 'r3:tab\there', 'r4:ünï'];
    const ops = new Map<string, ProbeOp>(ids.map((id) => [id, { kind: 'exec', argv: ['printf', '%s', id] }]));
    const { results } = await runProbe(transport, ops);
    for (const id of ids) assert.deepEqual(results.get(id), result(0, id), id);
  });

  test(`runProbe on ${where} handles thousands of ops in one round trip`, async (t) => {
    const { transport, dir } = await open(t);
    const ops = new Map<string, ProbeOp>();
    for (let i = 0; i < 3000; i++) {
      ops.set(`r${i}:config-file-content`, {
        kind: 'file',
        path: `${dir}/etc/some/fairly/long/path/to/config-${i}.conf`,
      });
    }
    const before = transport.roundTrips;
    const { results } = await runProbe(transport, ops);
    assert.equal(transport.roundTrips - before, 1);
    assert.equal(results.get('r2999:config-file-content')?.exitCode, 3);
  });
}

test('runProbe facts on this machine: its os-release, hostname and kernel, which is live', async () => {
  const transport = new LocalTransport();
  const before = transport.roundTrips;
  const { facts } = await runProbe(transport, new Map());
  assert.equal(transport.roundTrips - before, 1);
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  assert.equal(facts.osId, /^ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? '');
  assert.equal(facts.hostname, hostname());
  assert.equal(facts.arch, spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout.trim());
  assert.equal(facts.init, existsSync('/run/systemd/system') ? 'systemd' : 'sysv');
  assert.equal(facts.liveKernel, true);
});

test('runProbe facts on a test host: Debian bookworm, sysv init, its own hostname, no live kernel', async (t) => {
  const { transport, netns } = await namespaced(t);
  const before = transport.roundTrips;
  const { facts } = await runProbe(transport, new Map([['x', { kind: 'stat', path: '/etc' }]]));
  assert.equal(transport.roundTrips - before, 1);
  assert.deepEqual(facts, {
    hostname: netns,
    arch: spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout.trim(),
    osId: 'debian',
    osVersion: '12',
    osCodename: 'bookworm',
    init: 'sysv',
    liveKernel: false,
  });
});

test('runProbe facts through a plain chroot: the root is Debian bookworm and the kernel is not live', async (t) => {
  const { transport } = await chroot(t);
  const before = transport.roundTrips;
  const { facts } = await runProbe(transport, new Map());
  assert.equal(transport.roundTrips - before, 1);
  assert.equal(facts.osId, 'debian');
  assert.equal(facts.osCodename, 'bookworm');
  assert.equal(facts.liveKernel, false);
  // No /proc in the root: hostname and architecture come from uname instead, the same as this machine's.
  assert.equal(existsSync(join(transport.target.slice('chroot:'.length), 'proc/sys/kernel/arch')), false);
  assert.equal(facts.hostname, hostname());
  assert.equal(facts.arch, spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout.trim());
});

test('mergeable commands sharing a script run in one process and return exactly what each would alone', async () => {
  const script = `case $1 in
  a) printf 'x|y\\n\\n' ;;
  b) printf '\\303\\274|'; echo noise >&2; exit 3 ;;
  c) ;;
  *) printf '%s' "$1" ;;
esac`;
  const args = ['a', 'b', 'c', "it's $(x) | `y`"];
  const op = (arg: string, mergeable: boolean): ProbeOp => ({
    kind: 'exec',
    argv: ['/bin/sh', '-c', script, 'sh', arg],
    timeoutSec: 10,
    mergeable,
  });
  const merged = new Map(args.map((a, i) => [`m${i}`, op(a, true)]));
  const alone = new Map(args.map((a, i) => [`m${i}`, op(a, false)]));
  const script1 = buildProbeScript(merged);
  assert.equal(script1.match(/^X /gm)?.length, 1, 'one merged command');
  const transport = new LocalTransport();
  const together = await runProbe(transport, merged);
  const separate = await runProbe(transport, alone);
  for (const id of merged.keys()) {
    const a = together.results.get(id);
    const b = separate.results.get(id);
    assert.deepEqual([a?.exitCode, a?.stdout], [b?.exitCode, b?.stdout], id);
  }
  assert.deepEqual(together.results.get('m1')?.stdout, Buffer.from('ü|'));
  assert.equal(together.results.get('m3')?.stdout.toString(), "it's $(x) | `y`");
});

test('a merged run that times out fails each of its commands with the timeout', async () => {
  const ops = new Map<string, ProbeOp>(
    ['1', '2'].map((a) => [
      `t${a}`,
      { kind: 'exec', argv: ['/bin/sh', '-c', 'sleep 5', 'sh', a], timeoutSec: 0.5, mergeable: true },
    ]),
  );
  const { results } = await runProbe(new LocalTransport(), ops);
  assert.deepEqual([results.get('t1')?.exitCode, results.get('t2')?.exitCode], [124, 124]);
});
