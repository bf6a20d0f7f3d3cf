import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import { useTestHost } from '../testing/host.js';
import { applyContext, convergeOne, observe } from '../testing/provider.js';
import { FACTS, sh } from './test-helpers.js';
import { commandArgv, executeProvider, type ExecuteProps } from './execute.js';

test('valid props give no problems', () => {
  assert.deepEqual(
    executeProvider.validate('build-cache', {
      command: ['/bin/sh', '-c', 'echo "$1" > /x', 'sh', 'a b; rm -rf /'],
      creates: '/var/cache/x',
      cwd: '/tmp/',
      environment: { LANG: 'C', _X1: 'a\nb' },
      timeoutSeconds: 0.5,
      returns: [0, 2],
      user: 'www-data',
    }),
    [],
  );
});

test('hostile or malformed props are all refused before anything runs', () => {
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    ['', { command: ['true'] }, undefined],
    ['a\nb', { command: ['true'] }, undefined],
    ['x', { command: 'rm -rf /' }, 'command'],
    ['x', { command: [] }, 'command'],
    ['x', { command: ['rm -rf /'] }, 'command'],
    ['x', { command: ['echo', 'a\0b'] }, 'command'],
    ['x', { command: [''] }, 'command'],
    ['x', { command: ['A=1', 'true'] }, 'command'],
    ['x', { command: ['-x'] }, 'command'],
    ['x', { command: ['true', 3] }, 'command'],
    ['x', { command: ['true'], creates: 'relative/file' }, 'creates'],
    ['x', { command: ['true'], creates: '/a/../b' }, 'creates'],
    ['x', { command: ['true'], creates: '/a\nb' }, 'creates'],
    ['x', { command: ['true'], cwd: 'tmp' }, 'cwd'],
    ['x', { command: ['true'], environment: { 'A B': '1' } }, 'environment'],
    ['x', { command: ['true'], environment: { 'X;rm': '1' } }, 'environment'],
    ['x', { command: ['true'], environment: { '1X': '1' } }, 'environment'],
    ['x', { command: ['true'], environment: { X: 1 } }, 'environment'],
    ['x', { command: ['true'], environment: { X: 'a\0b' } }, 'environment'],
    ['x', { command: ['true'], environment: ['X=1'] }, 'environment'],
    ['x', { command: ['true'], timeoutSeconds: 0 }, 'timeoutSeconds'],
    ['x', { command: ['true'], timeoutSeconds: Infinity }, 'timeoutSeconds'],
    ['x', { command: ['true'], returns: [] }, 'returns'],
    ['x', { command: ['true'], returns: [256] }, 'returns'],
    ['x', { command: ['true'], returns: [1.5] }, 'returns'],
    ['x', { command: ['true'], user: 'root; id' }, 'user'],
    ['x', { command: ['true'], user: '-u' }, 'user'],
    ['x', { command: ['true'], user: '$(id)' }, 'user'],
    ['x', { command: ['true'], user: '' }, 'user'],
  ];
  for (const [name, props, property] of cases) {
    const problems = executeProvider.validate(name, props as unknown as ExecuteProps);
    assert.equal(
      problems.length,
      1,
      `${JSON.stringify(name)} ${JSON.stringify(props)} -> ${JSON.stringify(problems)}`,
    );
    assert.equal(problems[0]?.property, property);
    assert.equal(problems[0]?.code, 'BULWARK_RESOURCE_INVALID');
  }
});

test('the command is wrapped in env for cwd and environment, and in runuser for a user', () => {
  assert.deepEqual(commandArgv({ command: ['id', '-u'] }), ['id', '-u']);
  assert.deepEqual(commandArgv({ command: ['pwd'], cwd: '/srv' }), ['env', '-C', '/srv', '--', 'pwd']);
  assert.deepEqual(commandArgv({ command: ['x'], environment: { A: '1 2' }, user: 'nobody' }), [
    'runuser',
    '-u',
    'nobody',
    '--',
    'env',
    '--',
    'A=1 2',
    'x',
  ]);
});

test('the probe stats creates, and asks for nothing without it', () => {
  assert.deepEqual(executeProvider.probe('x', { command: ['true'], creates: '/done' }), {
    creates: { kind: 'stat', path: '/done' },
  });
  assert.deepEqual(executeProvider.probe('x', { command: ['true'] }), {});
});

test('read and diff: an existing creates path means up to date, otherwise the command is shown', () => {
  const props: ExecuteProps = { command: ['/bin/sh', '-c', 'touch /done'], creates: '/done' };
  const exists = executeProvider.read(
    'x',
    props,
    { creates: { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) } },
    FACTS,
  );
  assert.deepEqual(executeProvider.diff('x', props, exists, FACTS), []);
  const missing = executeProvider.read(
    'x',
    props,
    { creates: { exitCode: 3, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) } },
    FACTS,
  );
  assert.deepEqual(executeProvider.diff('x', props, missing, FACTS), [
    { property: 'run', from: null, to: "/bin/sh -c 'touch /done'" },
  ]);
  const always = executeProvider.read('x', { command: ['true'] }, {}, FACTS);
  assert.equal(executeProvider.diff('x', { command: ['true'] }, always, FACTS).length, 1);
});

test('lint warns only when there is neither creates nor a guard', () => {
  assert.equal(
    executeProvider.lint?.('reload', { command: ['true'] }, false),
    'execute[reload] runs on every converge: add creates, onlyIf or notIf so it is idempotent',
  );
  assert.equal(executeProvider.lint?.('reload', { command: ['true'] }, true), undefined);
  assert.equal(executeProvider.lint?.('reload', { command: ['true'], creates: '/x' }, false), undefined);
});

// --- real hosts ---

test('a command with creates runs once and is then up to date', async (t) => {
  const host = await useTestHost(t);
  const props: ExecuteProps = {
    command: ['/bin/sh', '-c', 'echo ran >> /var/log/ran.log && touch /var/lib/done'],
    creates: '/var/lib/done',
  };
  const r = await convergeOne(host.transport, executeProvider, 'make-done', props);
  assert.equal(r.before.length, 1);
  assert.deepEqual(r.after, []);
  assert.deepEqual(r.warnings, []);
  const again = await convergeOne(host.transport, executeProvider, 'make-done', props);
  assert.deepEqual(again.before, []);
  assert.equal(await sh(host, 'cat /var/log/ran.log'), 'ran\n');
});

test('the run action runs the command even when creates exists', async (t) => {
  const host = await useTestHost(t);
  await sh(host, 'touch /done');
  const props: ExecuteProps = { command: ['/bin/sh', '-c', 'echo x >> /count'], creates: '/done' };
  const o = await observe(host.transport, executeProvider, 'count', props);
  assert.deepEqual(o.changes, []);
  await executeProvider.actions?.['run']?.('count', props, applyContext(host.transport, o.facts));
  assert.equal(await sh(host, 'cat /count'), 'x\n');
});

test('a command that does not create its creates path runs but warns', async (t) => {
  const host = await useTestHost(t);
  const props: ExecuteProps = { command: ['true'], creates: '/never' };
  const r = await convergeOne(host.transport, executeProvider, 'forgetful', props);
  assert.equal(r.after.length, 1);
  assert.match(r.warnings[0] ?? '', /did not create \/never/);
});

test('a failing command fails with its exit code and the tail of its stderr', async (t) => {
  const host = await useTestHost(t);
  const props: ExecuteProps = { command: ['/bin/sh', '-c', 'echo noise; echo "it broke" >&2; exit 3'] };
  await assert.rejects(
    convergeOne(host.transport, executeProvider, 'broken', props),
    (e: unknown) =>
      isBulwarkError(e, 'BULWARK_APPLY_FAILED') &&
      /execute\[broken\].*exited 3, expected 0: it broke$/.test(e.message),
  );
});

test('an exit code listed in returns counts as success', async (t) => {
  const host = await useTestHost(t);
  const props: ExecuteProps = {
    command: ['/bin/sh', '-c', 'touch /ok; exit 2'],
    returns: [0, 2],
    creates: '/ok',
  };
  const r = await convergeOne(host.transport, executeProvider, 'two', props);
  assert.deepEqual(r.after, []);
});

test('a command that runs too long is killed and reported as a timeout', async (t) => {
  const host = await useTestHost(t);
  const started = Date.now();
  await assert.rejects(
    convergeOne(host.transport, executeProvider, 'slow', { command: ['sleep', '30'], timeoutSeconds: 0.5 }),
    (e: unknown) => isBulwarkError(e, 'BULWARK_COMMAND_TIMEOUT') && /timeoutSeconds/.test(e.message),
  );
  assert.ok(Date.now() - started < 10_000);
});

test('cwd, environment and user reach the command, and no shell expands the values', async (t) => {
  const host = await useTestHost(t);
  await sh(host, 'mkdir -p /srv/work && chmod 777 /srv/work');
  const props: ExecuteProps = {
    command: [
      '/bin/sh',
      '-c',
      'printf "%s|%s|%s|%s" "$(pwd)" "$(id -un)" "$GREETING" "$1" > out',
      'sh',
      '$(id); `x`',
    ],
    cwd: '/srv/work',
    environment: { GREETING: 'hi $HOME; rm -rf /' },
    user: 'nobody',
    creates: '/srv/work/out',
  };
  assert.deepEqual(executeProvider.validate('env', props), []);
  const r = await convergeOne(host.transport, executeProvider, 'env', props);
  assert.deepEqual(r.after, []);
  assert.equal(await sh(host, 'cat /srv/work/out'), '/srv/work|nobody|hi $HOME; rm -rf /|$(id); `x`');
  assert.equal((await sh(host, 'stat -c %U /srv/work/out')).trim(), 'nobody');
});
