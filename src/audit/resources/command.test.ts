import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { command } from './command.js';
import { observeSubjects } from './testing.js';

test('commands need a non-empty argv and a sensible timeout', () => {
  assert.throws(() => command([]), /non-empty argv/);
  assert.throws(() => command('ls -l' as never), /non-empty argv/);
  assert.throws(() => command(['ls'], { timeoutSec: 0 }), /timeoutSec/);
  assert.throws(() => command(['ls'], { timeoutSec: 1.5 }), /timeoutSec/);
});

test('the same argv and timeout share one observation, and labels quote odd words', () => {
  assert.equal(command(['id', '-u']).stdout.resource.key, command(['id', '-u']).exitStatus.resource.key);
  assert.notEqual(
    command(['id', '-u']).stdout.resource.key,
    command(['id', '-u'], { timeoutSec: 5 }).stdout.resource.key,
  );
  assert.equal(command(['echo', 'a b']).stdout.label, 'command echo "a b" stdout');
});

test('commands run on a test host report exit status, output and timeouts, and argv is never a shell', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const ok = command(['/bin/sh', '-c', 'echo out; echo err >&2; exit 3']);
  const literal = command(['echo', '$(id -u); touch /tmp/pwned']);
  const slow = command(['sleep', '10'], { timeoutSec: 1 });
  const missing = command(['no-such-program']);
  const started = Date.now();
  const o = await observeSubjects(host.transport, [
    ok.stdout,
    literal.stdout,
    slow.timedOut,
    missing.exitStatus,
  ]);
  assert.ok(Date.now() - started < 8000);
  assert.equal(o.value(ok.exitStatus), 3);
  assert.equal(o.value(ok.stdout), 'out\n');
  assert.equal(o.value(ok.stderr), 'err\n');
  assert.equal(o.value(ok.timedOut), false);
  assert.equal(o.value(literal.stdout), '$(id -u); touch /tmp/pwned\n');
  assert.equal((await host.sh('test -e /tmp/pwned')).exitCode, 1);
  assert.equal(o.value(slow.timedOut), true);
  assert.equal(o.value(slow.exitStatus), 124);
  assert.equal(o.value(missing.exitStatus), 127);
});
