// The batched apply: recorded steps run as one script on a real test host; each resource's observation is checked
// again on the host before its steps run, with the digest the engine computed from the probe.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BulwarkError } from '../errors.js';
import type { ProbeOp } from '../resources/types.js';
import { useTestHost, type TestHost } from '../testing/host.js';
import {
  batchTimeoutMs,
  groupError,
  groupWarnings,
  predictedStatLine,
  recordingContext,
  runBatch,
  type BatchGroup,
  type BatchOutcome,
  type Step,
} from './apply.js';
import { observationDigest, resultsFor, runProbe } from './probe.js';

const FACTS = {
  hostname: 'h',
  osId: 'debian',
  osVersion: '12',
  osCodename: 'bookworm',
  arch: 'x86_64',
  init: 'sysv' as const,
  liveKernel: false,
};

function step(argv: readonly string[], extra: Partial<Step> = {}): Step {
  return {
    argv,
    okExitCodes: [0],
    failure: (r) => new BulwarkError('BULWARK_APPLY_FAILED', `${argv[0] ?? ''} exited ${r.exitCode}`),
    ...extra,
  };
}

/** Runs a batch on the test host through the engine's own `runBatch`. */
function batch(
  host: TestHost,
  groups: readonly BatchGroup[],
  options: { final?: boolean; reprobe?: ReadonlyMap<string, ProbeOp> } = {},
): Promise<BatchOutcome> {
  return runBatch(host.transport, groups, {
    final: options.final ?? true,
    reprobe: options.reprobe ?? new Map(),
  });
}

// Every kind of observation: commands (output, exit codes, a missing program), stat and content of regular, empty,
// binary, missing, symlinked and directory paths, and kernel files.
const OPS: [string, ProbeOp][] = [
  ['0:r:echo', { kind: 'exec', argv: ['printf', 'a b\\n\\0c'] }],
  ['0:r:fails', { kind: 'exec', argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeoutSec: 10 }],
  ['0:r:missing-program', { kind: 'exec', argv: ['/nonexistent/bulwark'] }],
  ['0:r:passwd', { kind: 'file', path: '/etc/passwd' }],
  ['0:r:binary', { kind: 'file', path: '/root/bin file' }],
  ['0:r:empty', { kind: 'file', path: '/root/empty' }],
  ['0:r:absent', { kind: 'file', path: '/root/absent' }],
  ['0:r:link', { kind: 'file', path: '/root/link' }],
  ['0:r:dir', { kind: 'file', path: '/etc' }],
  ['0:r:stat', { kind: 'stat', path: '/etc/hostname' }],
  ['0:r:stat-absent', { kind: 'stat', path: '/root/absent' }],
  ['0:r:kernel', { kind: 'file', path: '/proc/sys/kernel/ostype' }],
  ['0:r:kernel-absent', { kind: 'file', path: '/proc/sys/kernel/bulwark-none' }],
];

test('the host computes the same observation digest as the engine, for every kind of op', async (t) => {
  const host = await useTestHost(t);
  await host.sh(
    "printf '\\000\\001\\377 x\\n' > '/root/bin file'; : > /root/empty; ln -s /etc/hostname /root/link",
  );
  const { results } = await runProbe(host.transport, new Map(OPS));
  const digest = observationDigest(OPS, results);
  const same = await batch(host, [{ id: 'r0', kind: 'resource', check: { ops: OPS, digest }, steps: [] }]);
  assert.equal(same.groups.get('r0'), 'ok');

  // Change one byte of one file: the check fails, the batch stops, and the fresh observation comes back.
  await host.sh("printf '\\000\\001\\376 x\\n' > '/root/bin file'");
  const stale = await batch(
    host,
    [
      { id: 'r0', kind: 'resource', check: { ops: OPS, digest }, steps: [step(['touch', '/root/ran'])] },
      { id: 'r1', kind: 'resource', steps: [step(['touch', '/root/ran-too'])] },
    ],
    { reprobe: new Map(OPS) },
  );
  assert.equal(stale.groups.get('r0'), 'stale');
  assert.equal(stale.groups.has('r1'), false);
  assert.equal((await host.sh('ls /root/ran /root/ran-too 2>/dev/null | wc -l')).stdout.toString(), '0\n');
  assert.ok(stale.reprobe !== undefined);
  const fresh = resultsFor(new Map(OPS), stale.reprobe);
  assert.deepEqual([...(fresh.get('0:r:binary')?.stdout ?? [])], [0, 1, 0o376, 0x20, 0x78, 0x0a]);
  assert.notEqual(observationDigest(OPS, fresh), digest);
});

test('steps get hostile arguments and binary stdin byte for byte, never through a shell word', async (t) => {
  const host = await useTestHost(t);
  const hostile = [
    "it's",
    '$(touch /root/pwned)',
    '`touch /root/pwned`',
    'a\nb',
    ' lead',
    '*',
    '-n',
    '\\',
    '',
  ];
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const input = Buffer.concat([every, Buffer.from('\nBULWARK_STDIN\nBULWARK_STDIN'), every]);
  const outcome = await batch(host, [
    {
      id: 'r0',
      kind: 'resource',
      steps: [
        step(['sh', '-c', 'for a do printf "%s|" "$a"; done > /root/args', 'sh', ...hostile]),
        step(['sh', '-c', 'cat > /root/stdin'], { stdin: input }),
      ],
    },
  ]);
  assert.equal(outcome.groups.get('r0'), 'ok');
  assert.equal(
    (await host.transport.readFile('/root/args'))?.toString(),
    hostile.map((a) => `${a}|`).join(''),
  );
  assert.deepEqual(await host.transport.readFile('/root/stdin'), input);
  assert.equal(await host.transport.stat('/root/pwned'), null);
});

test('a failing step stops its resource and the batch; delayed notifications still run at the end', async (t) => {
  const host = await useTestHost(t);
  const groups: BatchGroup[] = [
    { id: 'r0', kind: 'resource', steps: [step(['touch', '/root/one'])], stopOnFailure: true },
    {
      id: 'r1',
      kind: 'resource',
      steps: [step(['sh', '-c', 'echo broken >&2; exit 7']), step(['touch', '/root/never'])],
      stopOnFailure: true,
    },
    { id: 'r2', kind: 'resource', steps: [step(['touch', '/root/after'])], stopOnFailure: true },
    { id: 'n0d', kind: 'delayed', steps: [step(['touch', '/root/notified'])], after: ['r0'] },
    { id: 'n1d', kind: 'delayed', steps: [step(['touch', '/root/not-triggered'])], after: ['r1'] },
  ];
  const outcome = await batch(host, groups);
  assert.deepEqual(Object.fromEntries(outcome.groups), { r0: 'ok', r1: 'failed', n0d: 'ok' });
  const error = groupError(groups[1] as BatchGroup, outcome);
  assert.match(error.message, /^sh exited 7$/);
  assert.equal(outcome.steps.get('r1.0')?.stderr.toString(), 'broken\n');
  const present = await host.sh(
    'cd /root; for f in one never after notified not-triggered; do [ -e $f ] && echo $f; done',
  );
  assert.equal(present.stdout.toString(), 'one\nnotified\n');
});

test('a batch that ends before the run does holds its delayed notifications unless it stopped at a failure', async (t) => {
  const host = await useTestHost(t);
  const delayed: BatchGroup = {
    id: 'n0d',
    kind: 'delayed',
    steps: [step(['touch', '/root/notified'])],
    after: [],
  };
  const ok = await batch(host, [{ id: 'r0', kind: 'resource', steps: [step(['true'])] }, delayed], {
    final: false,
  });
  assert.equal(ok.groups.has('n0d'), false);
  assert.equal(await host.transport.stat('/root/notified'), null);
  const failed = await batch(
    host,
    [{ id: 'r0', kind: 'resource', steps: [step(['false'])], stopOnFailure: true }, delayed],
    { final: false },
  );
  assert.equal(failed.groups.get('n0d'), 'ok');
  assert.notEqual(await host.transport.stat('/root/notified'), null);
});

test('exit codes, timeouts and soft warnings of steps', async (t) => {
  const host = await useTestHost(t);
  const groups: BatchGroup[] = [
    { id: 'r0', kind: 'resource', steps: [step(['sh', '-c', 'exit 3'], { okExitCodes: [0, 3] })] },
    {
      id: 'r1',
      kind: 'resource',
      steps: [step(['test', '-e', '/root/none'], { warning: 'it did not create /root/none' })],
    },
    { id: 'r2', kind: 'resource', steps: [step(['sleep', '5'], { timeoutSec: 0.3 })] },
  ];
  const t0 = performance.now();
  const outcome = await batch(host, groups);
  assert.ok(performance.now() - t0 < 4000, 'the timeout cut the sleep short');
  assert.deepEqual(Object.fromEntries(outcome.groups), { r0: 'ok', r1: 'ok', r2: 'failed' });
  assert.deepEqual(groupWarnings(groups[1] as BatchGroup, outcome), ['it did not create /root/none']);
  assert.equal(outcome.steps.get('r2.0')?.timedOut, true);
});

test('the recording context records commands and file writes, and refuses questions to the host', async () => {
  const transport = {
    target: 'test',
    sharesHostKernel: true,
    roundTrips: 0,
    exec: () => Promise.reject(new Error('no host')),
    script: () => Promise.reject(new Error('no host')),
    readFile: () => Promise.reject(new Error('no host')),
    writeFile: () => Promise.reject(new Error('no host')),
    stat: () => Promise.reject(new Error('no host')),
    close: () => Promise.resolve(),
  };
  const { ctx, recording } = recordingContext({
    transport,
    facts: FACTS,
    backupDir: '/b',
    warn: () => undefined,
  });
  await ctx.run(['apt-get', 'install', 'x'], { timeoutMs: 1500, okExitCodes: [0, 100] });
  await ctx.transport.writeFile('/etc/x', 'content', { mode: 0o640, owner: 'root', group: 'adm' });
  assert.equal(recording.steps.length, 2);
  assert.deepEqual(recording.steps[0]?.okExitCodes, [0, 100]);
  assert.equal(recording.steps[0]?.timeoutSec, 1.5);
  assert.deepEqual(
    recording.writes.map((w) => [w.path, Buffer.from(w.data).toString()]),
    [['/etc/x', 'content']],
  );
  await assert.rejects(ctx.transport.stat('/etc/x'));
  assert.equal(recording.refused, 'stat');
});

test('the stat line after a write is predicted only where it can be known', () => {
  const write = (owner?: string, group?: string) => ({
    path: '/etc/x',
    data: Buffer.from('12345'),
    options: {
      mode: 0o600,
      ...(owner === undefined ? {} : { owner }),
      ...(group === undefined ? {} : { group }),
    },
  });
  assert.equal(predictedStatLine(write(), undefined), '8180 0 0 5 root root');
  assert.equal(predictedStatLine(write('sshd', 'adm'), '81a4 101 4 99 sshd adm'), '8180 101 4 5 sshd adm');
  assert.equal(predictedStatLine(write('www-data', 'root'), '81a4 101 0 99 sshd root'), undefined);
  assert.equal(predictedStatLine(write(), 'a1ff 0 0 11 root root'), undefined, 'a symlink is never replaced');
});

test('a check of a resource that observes nothing is a valid script and always holds', async (t) => {
  const host = await useTestHost(t);
  const digest = observationDigest([], new Map());
  const outcome = await batch(host, [
    { id: 'r0', kind: 'resource', steps: [step(['true'])] },
    { id: 'r1', kind: 'resource', check: { ops: [], digest }, steps: [step(['touch', '/root/r1'])] },
  ]);
  assert.deepEqual(Object.fromEntries(outcome.groups), { r0: 'ok', r1: 'ok' });
  assert.notEqual(await host.transport.stat('/root/r1'), null);
});

test('a batch may run as long as its steps could one by one, so long apt runs are never cut short', () => {
  const groups: BatchGroup[] = [
    {
      id: 'r0',
      kind: 'resource',
      steps: [step(['apt-get', 'install', 'x'], { timeoutSec: 1800 }), step(['true'])],
    },
    { id: 'n0d', kind: 'delayed', steps: [step(['service', 'ssh', 'reload'])] },
  ];
  // 1800 s, then 600 s each for the two steps with no timeout of their own, and a minute of slack.
  assert.equal(batchTimeoutMs(groups), (1800 + 600 + 600 + 60) * 1000);
});

test('random hostile argv words and stdin reach 40 steps of one batch exactly (property test)', async (t) => {
  const host = await useTestHost(t);
  // A deterministic generator, so a failure can be replayed.
  let seed = 20261126;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = [
    "'",
    '"',
    '$(',
    '`',
    '\\',
    '\n',
    ' ',
    '*',
    '?',
    '~',
    '-',
    ';',
    '|',
    '&',
    '#',
    '%{path}',
    'é',
    '\t',
  ];
  const word = (): string =>
    Array.from({ length: next(6) }, () =>
      next(3) === 0 ? (pieces[next(pieces.length)] ?? '') : String.fromCharCode(33 + next(90)),
    ).join('');
  const steps: Step[] = [];
  const expected: string[] = [];
  for (let k = 0; k < 40; k++) {
    const args = Array.from({ length: 1 + next(4) }, word);
    const input = Buffer.from(Array.from({ length: next(300) }, () => next(256)));
    steps.push(
      step(
        ['sh', '-c', 'for a do printf "%s|" "$a"; done > "/root/a$0"; cat > "/root/i$0"', String(k), ...args],
        {
          stdin: input,
        },
      ),
    );
    expected.push(args.map((a) => `${a}|`).join(''), input.toString('base64'));
  }
  const outcome = await batch(host, [{ id: 'r0', kind: 'resource', steps }]);
  assert.equal(outcome.groups.get('r0'), 'ok');
  const got: string[] = [];
  for (let k = 0; k < 40; k++) {
    got.push(
      (await host.transport.readFile(`/root/a${k}`))?.toString() ?? '',
      (await host.transport.readFile(`/root/i${k}`))?.toString('base64') ?? '',
    );
  }
  assert.deepEqual(got, expected);
});
