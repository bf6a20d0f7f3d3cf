import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCookbook } from '../dsl/compile.js';
import { defineCookbook, notify, type Recipe } from '../dsl/cookbook.js';
import { createTestHost, type TestHost } from '../testing/host.js';
import { converge } from './converge.js';
import type { ResourceResult } from './report.js';

async function host(t: { after: (fn: () => Promise<void>) => void }): Promise<TestHost> {
  const h = await createTestHost();
  t.after(() => h.destroy());
  return h;
}

function cookbook(recipe: (r: Recipe) => void) {
  return compileCookbook(defineCookbook({ name: 'engine-test', recipe }));
}

const byAddress = (results: readonly ResourceResult[]) => new Map(results.map((r) => [r.address, r]));

test('a no-op converge is one round trip and reports every resource up to date', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    r.directory('/etc/bw');
    r.file('/etc/bw/a', { content: 'a\n', mode: 0o600 });
    r.file('/etc/bw/b', { content: 'b\n' });
  });
  const first = await converge(c, h.transport);
  assert.equal(first.summary.changed, 3);
  const second = await converge(c, h.transport);
  assert.deepEqual(second.summary, { changed: 0, upToDate: 3, failed: 0, ignoredFailures: 0, skipped: 0 });
  assert.equal(second.roundTrips, 1);
  assert.equal((await h.sh('stat -c %a /etc/bw/a; cat /etc/bw/a')).stdout.toString(), '600\na\n');
});

test('a dry run reports the changes and changes nothing', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => void r.file('/etc/motd', { content: 'planned\n' }));
  const before = (await h.sh('md5sum /etc/motd')).stdout.toString();
  const plan = await converge(c, h.transport, { dryRun: true });
  assert.equal(plan.dryRun, true);
  const motd = plan.resources[0];
  assert.ok(motd?.status === 'changed' && motd.planned);
  assert.match(motd.changes.find((ch) => ch.property === 'content')?.diff ?? '', /^\+planned$/m);
  assert.equal((await h.sh('md5sum /etc/motd')).stdout.toString(), before);
  assert.equal(plan.roundTrips, 1);
});

test('delayed notifications run once at the end; immediate ones run before the next resource', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    const log = (what: string) => ['/bin/sh', '-c', `echo ${what} >> /root/notified`];
    const delayed = r.execute('delayed', { command: log('delayed'), creates: '/' });
    const immediate = r.execute('immediate', { command: log('immediate'), creates: '/' });
    r.file('/etc/one', { content: '1\n', notifies: notify(delayed, 'run') });
    r.file('/etc/two', {
      content: '2\n',
      notifies: [notify(delayed, 'run'), notify(immediate, 'run', 'immediate')],
    });
    // Observed after the immediate notification ran: the file it wrote is there to be read back.
    r.file('/etc/three', { content: '3\n', onlyIf: ['grep', '-q', 'immediate', '/root/notified'] });
  });
  const report = await converge(c, h.transport);
  assert.equal((await h.sh('cat /root/notified')).stdout.toString(), 'immediate\ndelayed\n');
  assert.deepEqual(
    report.notifications.map((n) => [n.target, n.timing, n.by.length, n.status]),
    [
      ['execute[immediate]', 'immediate', 1, 'ran'],
      ['execute[delayed]', 'delayed', 2, 'ran'],
    ],
  );
  assert.equal(byAddress(report.resources).get('file[/etc/three]')?.status, 'changed');
  const again = await converge(c, h.transport);
  assert.equal(again.notifications.length, 0);
  assert.equal(again.summary.changed, 0);
});

test('guards skip resources with a reason: commands and functions of the facts', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    r.file('/etc/only-if-false', { content: 'x', onlyIf: ['test', '-e', '/nonexistent'] });
    r.file('/etc/not-if-true', { content: 'x', notIf: ['true'] });
    r.file('/etc/on-debian', {
      content: 'x',
      onlyIf: (facts) => facts.osId === 'debian' && facts.osCodename === 'bookworm',
    });
    r.file('/etc/not-on-debian', { content: 'x', notIf: (facts) => facts.osId === 'debian' });
  });
  const report = await converge(c, h.transport);
  const r = byAddress(report.resources);
  assert.match(
    (r.get('file[/etc/only-if-false]') as { reason: string }).reason,
    /onlyIf \(test -e \/nonexistent\) is false/,
  );
  assert.equal(r.get('file[/etc/not-if-true]')?.status, 'skipped');
  assert.equal(r.get('file[/etc/on-debian]')?.status, 'changed');
  assert.equal(r.get('file[/etc/not-on-debian]')?.status, 'skipped');
  assert.equal(
    (await h.sh('ls /etc/only-if-false /etc/not-if-true 2>&1; echo $?')).stdout
      .toString()
      .trim()
      .split('\n')
      .pop(),
    '2',
  );
});

test('a failure stops the run by default, skips the rest and still runs delayed notifications', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    const after = r.execute('after', { command: ['touch', '/root/notified'], creates: '/' });
    r.file('/etc/first', { content: '1\n', notifies: notify(after, 'run') });
    r.file('/nonexistent-dir/file', { content: 'x' });
    r.file('/etc/never', { content: 'x' });
  });
  const report = await converge(c, h.transport);
  const r = byAddress(report.resources);
  assert.equal(r.get('file[/nonexistent-dir/file]')?.status, 'failed');
  assert.deepEqual(r.get('file[/etc/never]'), {
    address: 'file[/etc/never]',
    status: 'skipped',
    reason: 'an earlier resource failed',
  });
  assert.equal(report.summary.failed, 1);
  assert.equal((await h.sh('test -e /root/notified && test ! -e /etc/never')).exitCode, 0);

  const going = await converge(c, h.transport, { continueOnFailure: true });
  assert.equal(byAddress(going.resources).get('file[/etc/never]')?.status, 'changed');
});

test('ignoreFailure records the failure and goes on as if it had not failed', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    r.execute('fails', { command: ['false'], ignoreFailure: true });
    r.file('/etc/after', { content: 'x' });
  });
  const report = await converge(c, h.transport);
  const failed = report.resources[0];
  assert.ok(failed?.status === 'failed' && failed.ignored);
  assert.equal(report.summary.failed, 0);
  assert.equal(report.summary.ignoredFailures, 1);
  assert.equal(report.resources[1]?.status, 'changed');
});

test('sensitive resources never show their values, diffs or error details', async (t) => {
  const h = await host(t);
  const secret = 'hunter2-very-secret';
  const c = cookbook((r) => {
    r.file('/etc/secret', { content: `${secret}\n`, mode: 0o600, sensitive: true });
    r.file('/etc/secret-fail', {
      content: `${secret}\n`,
      sensitive: true,
      verify: ['/bin/sh', '-c', `echo ${secret} >&2; exit 1`, 'verify', '%{path}'],
    });
  });
  const report = await converge(c, h.transport, { continueOnFailure: true });
  const text = JSON.stringify(report);
  assert.ok(!text.includes(secret), 'the secret leaked into the report');
  const changed = report.resources[0];
  assert.ok(changed?.status === 'changed');
  assert.ok(
    changed.changes.every((ch) => ch.diff === undefined && (ch.to === null || ch.to === '(sensitive)')),
  );
  assert.equal(report.resources[1]?.status, 'failed');
  assert.equal((await h.sh('cat /etc/secret')).stdout.toString(), `${secret}\n`);
});

test('a resource is observed again after an earlier one changed the host', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    r.execute('make-marker', { command: ['touch', '/root/marker'], creates: '/root/marker' });
    // At the first observation /root/marker did not exist; this guard must see it after the execute ran.
    r.file('/etc/after-marker', { content: 'x', onlyIf: ['test', '-e', '/root/marker'] });
  });
  const report = await converge(c, h.transport);
  assert.deepEqual(
    report.resources.map((r) => r.status),
    ['changed', 'changed'],
  );
  // observe; one batch: the execute (and its check that `creates` now exists), then the file's guard is found
  // changed, so the batch stops there and observes the file anew; one more batch writes it.
  assert.equal(report.roundTrips, 3);
});

test('a failing verify keeps the old file byte for byte', async (t) => {
  const h = await host(t);
  await h.sh('printf "old\\n" > /etc/verified');
  const c = cookbook(
    (r) => void r.file('/etc/verified', { content: 'new\n', verify: ['grep', '-q', 'never', '%{path}'] }),
  );
  const report = await converge(c, h.transport);
  const r = report.resources[0];
  assert.ok(r?.status === 'failed');
  assert.equal(r.error.code, 'BULWARK_VERIFY_FAILED');
  assert.equal(
    (await h.sh('cat /etc/verified; ls -a /etc | grep -c bulwark || true')).stdout.toString(),
    'old\n0\n',
  );
});

test('replacing a file keeps a backup of the old content', async (t) => {
  const h = await host(t);
  await h.sh('printf "before\\n" > /etc/backed');
  const c = cookbook((r) => void r.file('/etc/backed', { content: 'after\n' }));
  await converge(c, h.transport, { backupDir: '/var/backups/bw-test' });
  const r = await h.sh('cat /etc/backed /var/backups/bw-test/_etc_backed.*');
  assert.equal(r.stdout.toString(), 'after\nbefore\n');
});

test('many changes are applied in one round trip after the one that observes', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    r.directory('/etc/many');
    for (let i = 0; i < 10; i++) r.file(`/etc/many/f${i}`, { content: `${i}\n`, mode: 0o640 });
    r.execute('marker', { command: ['touch', '/etc/many/marker'], creates: '/etc/many/marker' });
  });
  const batches: (readonly string[])[] = [];
  const report = await converge(c, h.transport, { onApply: (a) => batches.push(a) });
  assert.equal(report.summary.changed, 12);
  assert.equal(report.roundTrips, 2);
  assert.deepEqual(
    batches.map((b) => [b.length, b[0], b.at(-1)]),
    [[12, 'directory[/etc/many]', 'execute[marker]']],
  );
  const r = await h.sh('cd /etc/many && stat -c "%n %a" f0 f9 marker && cat f0 f9');
  assert.equal(r.stdout.toString(), 'f0 640\nf9 640\nmarker 644\n0\n9\n');
  assert.equal((await converge(c, h.transport)).roundTrips, 1);
});

test('several edits of one file go in one batch, each checked against the file the one before wrote', async (t) => {
  const h = await host(t);
  await h.sh('printf "# settings\\nA 1\\n" > /etc/kv.conf && chmod 640 /etc/kv.conf');
  const c = cookbook((r) => {
    r.keyValue('/etc/kv.conf', { key: 'A', value: '2' });
    r.keyValue('/etc/kv.conf', { key: 'B', value: '3' });
    r.keyValue('/etc/kv.conf', { key: 'C', value: '4' });
  });
  const report = await converge(c, h.transport);
  assert.equal(report.summary.changed, 3);
  assert.equal(report.roundTrips, 2);
  const r = await h.sh('stat -c %a /etc/kv.conf && cat /etc/kv.conf');
  assert.equal(r.stdout.toString(), '640\n# settings\nA 2\nB 3\nC 4\n');
  assert.equal((await converge(c, h.transport)).summary.changed, 0);
});

test('a change made by someone else between observing and applying is seen before anything acts on it', async (t) => {
  const h = await host(t);
  await h.sh('printf "A 1\\n" > /etc/raced.conf');
  const c = cookbook((r) => {
    // Stands in for another administrator (or process) editing the file after bulwark observed it.
    r.execute('someone else', { command: ['sh', '-c', 'printf "A 1\\nZ 9\\n" > /etc/raced.conf'] });
    r.keyValue('/etc/raced.conf', { key: 'A', value: '2' });
  });
  const report = await converge(c, h.transport);
  assert.equal(report.summary.changed, 2);
  // The edit was planned against "A 1" alone; its check found the file changed, so it was observed anew: the
  // other change is kept, not overwritten by a plan made from stale content.
  assert.equal((await h.sh('cat /etc/raced.conf')).stdout.toString(), 'A 2\nZ 9\n');
  assert.equal(report.roundTrips, 3);
});

test('with continueOnFailure, a failure in the batch fails only its resource and the rest still apply', async (t) => {
  const h = await host(t);
  const c = cookbook((r) => {
    r.file('/etc/before', { content: 'a\n' });
    r.execute('broken', { command: ['sh', '-c', 'echo nope >&2; exit 4'] });
    r.file('/etc/after', { content: 'b\n' });
  });
  const report = await converge(c, h.transport, { continueOnFailure: true });
  assert.deepEqual(
    report.resources.map((r) => r.status),
    ['changed', 'failed', 'changed'],
  );
  const failed = report.resources[1];
  assert.ok(failed?.status === 'failed');
  assert.match(failed.error.message, /exited 4, expected 0: nope/);
  assert.equal(report.roundTrips, 2);
  assert.equal((await h.sh('cat /etc/before /etc/after')).stdout.toString(), 'a\nb\n');
});
