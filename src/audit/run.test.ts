import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCookbook } from '../dsl/compile.js';
import { isBulwarkError } from '../errors.js';
import { defineCookbook } from '../dsl/cookbook.js';
import { converge } from '../engine/converge.js';
import { createTestHost, type TestHost } from '../testing/host.js';
import { compileProfile } from './compile.js';
import { defineProfile } from './profile.js';
import { audit, summarizeAudit } from './run.js';
import { subject, type AuditResource, type AuditResult } from './types.js';

async function host(t: { after: (fn: () => Promise<void>) => void }): Promise<TestHost> {
  const h = await createTestHost();
  t.after(() => h.destroy());
  return h;
}

/** A minimal observer defined by the test: a file's existence and content. */
function textFile(path: string): AuditResource<{ exists: boolean; content: string }> {
  return {
    type: 'testFile',
    key: `testFile:${path}`,
    label: `file ${path}`,
    probe: () => ({ f: { kind: 'file', path } }),
    read: (r) => {
      const f = r['f'];
      if (f === undefined) throw new Error('not probed');
      return { exists: f.exitCode === 0, content: f.stdout.toString('utf8') };
    },
  };
}

function unreadable(): AuditResource<number> {
  return {
    type: 'broken',
    key: 'broken',
    label: 'broken thing',
    probe: () => ({ x: { kind: 'exec', argv: ['true'] } }),
    read: () => {
      throw new Error('cannot observe the broken thing');
    },
  };
}

const byAddress = (results: readonly AuditResult[]) => new Map(results.map((r) => [r.address, r]));

test('controls pass, fail, skip and error, in one round trip, with expected and actual values', async (t) => {
  const h = await host(t);
  await h.sh('printf "PermitRootLogin yes\\n" > /etc/test.conf');
  const conf = textFile('/etc/test.conf');
  const motd = textFile('/etc/motd');
  const profile = defineProfile({
    name: 'p',
    controls: (control) => {
      control('passes', { title: 'motd exists', impact: 'low' }, (c) =>
        c.expect(subject(motd, 'exists', (o) => o.exists)).toBe(true),
      );
      control('fails', { impact: 'critical' }, (c) => {
        c.expect(subject(conf, 'content', (o) => o.content)).not.toMatch(/PermitRootLogin yes/);
        c.expect(subject(conf, 'exists', (o) => o.exists)).toBe(true);
      });
      control('skipped', {}, (c) => {
        c.onlyIf((facts) => facts.osId === 'windows', 'not a Windows host');
        c.expect(subject(conf, 'exists', (o) => o.exists)).toBe(true);
      });
      control('skipped-by-subject', {}, (c) => {
        c.onlyIf(
          subject(textFile('/nonexistent'), 'exists', (o) => o.exists),
          'no such file',
        );
        c.expect(subject(conf, 'exists', (o) => o.exists)).toBe(false);
      });
      control('throws', {}, () => {
        throw new Error('oops');
      });
      control('unobservable', { bucket: 'patch' }, (c) =>
        c.expect(subject(unreadable(), 'x', () => 1)).toBe(1),
      );
      control('select-throws', {}, (c) =>
        c
          .expect(
            subject(conf, 'field', (): number => {
              throw new Error('no field');
            }),
          )
          .toBe(1),
      );
      control('empty', {}, () => undefined);
    },
  });
  const report = await audit({ profiles: [compileProfile(profile)], cookbooks: [] }, h.transport);
  assert.equal(report.hosts[0]?.roundTrips, 1);
  const r = byAddress(report.results);
  assert.equal(r.get('control[passes]')?.status, 'passed');
  const failed = r.get('control[fails]');
  assert.equal(failed?.status, 'failed');
  assert.equal(failed?.severity, 'critical');
  assert.deepEqual(
    failed?.checks.map((c) => c.status),
    ['failed', 'passed'],
  );
  assert.match(
    failed?.message ?? '',
    /file \/etc\/test.conf content not to match .*: expected not matches \/PermitRootLogin yes\/, got "PermitRootLogin yes\\n"/,
  );
  assert.deepEqual(
    [r.get('control[skipped]')?.status, r.get('control[skipped]')?.message],
    ['skipped', 'not a Windows host'],
  );
  assert.equal(r.get('control[skipped-by-subject]')?.status, 'skipped');
  assert.match(r.get('control[throws]')?.message ?? '', /the control threw: oops/);
  assert.equal(r.get('control[unobservable]')?.status, 'error');
  assert.match(r.get('control[unobservable]')?.message ?? '', /cannot observe the broken thing/);
  assert.match(r.get('control[select-throws]')?.message ?? '', /no field/);
  assert.equal(r.get('control[empty]')?.status, 'skipped');
  assert.deepEqual(
    [report.summary.passed, report.summary.failed, report.summary.skipped, report.summary.errors],
    [1, 1, 3, 3],
  );
  assert.equal(report.summary.byBucket.patch.errors, 1);
  assert.equal(report.summary.bySeverity.critical.failed, 1);
});

test('waivers: a waived failure counts as waived, an expired one counts again, run: false skips, unknown ids are reported', async (t) => {
  const h = await host(t);
  const missing = textFile('/nonexistent');
  const fail = (c: Parameters<Parameters<typeof defineProfile>[0]['controls']>[0], id: string): void =>
    c(id, {}, (x) => x.expect(subject(missing, 'exists', (o) => o.exists)).toBe(true));
  const profile = compileProfile(
    defineProfile({
      name: 'w',
      controls: (c) => {
        fail(c, 'waived');
        fail(c, 'expired');
        fail(c, 'not-run');
      },
    }),
  );
  const waivers = new Map([
    ['waived', { justification: 'accepted risk', approver: 'ciso', expires: '2099-01-01', run: true }],
    ['expired', { justification: 'was accepted', expires: '2020-01-01', run: true }],
    ['not-run', { justification: 'does not apply', run: false }],
    ['ghost', { justification: 'typo', run: true }],
  ]);
  const report = await audit({ profiles: [profile], cookbooks: [] }, h.transport, { waivers });
  const r = byAddress(report.results);
  assert.equal(r.get('control[waived]')?.status, 'failed');
  assert.deepEqual(r.get('control[waived]')?.waiver, {
    justification: 'accepted risk',
    approver: 'ciso',
    expires: '2099-01-01',
    expired: false,
  });
  assert.equal(r.get('control[expired]')?.waiver?.expired, true);
  assert.deepEqual(
    [r.get('control[not-run]')?.status, r.get('control[not-run]')?.message],
    ['skipped', 'not run: waived'],
  );
  assert.equal(r.get('control[not-run]')?.waiver?.justification, 'does not apply');
  // A waived failure and a control waived off both count as waived, so the run can exit 0.
  assert.deepEqual([report.summary.waived, report.summary.failed, report.summary.skipped], [2, 1, 0]);
  assert.deepEqual(report.unusedWaivers, ['ghost']);
});

test('audit mode checks every cookbook resource against its desired state, before and after converge', async (t) => {
  const h = await host(t);
  const cookbook = compileCookbook(
    defineCookbook({
      name: 'motd',
      recipe: (r) => {
        r.file('/etc/motd', { content: 'Authorised use only\n', mode: 0o644 });
        r.file('/etc/secret', { content: 'hunter2\n', mode: 0o600, sensitive: true });
        r.directory('/srv/data', { mode: 0o750, onlyIf: ['test', '-d', '/srv'] });
      },
      controls: (control) =>
        control('motd-text', { title: 'the banner is set' }, (c) =>
          c.expect(subject(textFile('/etc/motd'), 'content', (o) => o.content)).toMatch(/Authorised/),
        ),
    }),
  );
  const before = await audit({ profiles: [], cookbooks: [cookbook] }, h.transport);
  const r = byAddress(before.results);
  assert.equal(r.get('file[/etc/motd]')?.status, 'failed');
  assert.match(r.get('file[/etc/motd]')?.message ?? '', /^content: expected \d+ bytes, got \d+ bytes/);
  assert.equal(r.get('file[/etc/secret]')?.status, 'failed');
  assert.ok(!JSON.stringify(r.get('file[/etc/secret]')).includes('hunter2'));
  assert.equal(r.get('control[motd-text]')?.status, 'failed');
  assert.equal(before.hosts[0]?.roundTrips, 1);
  const beforeMotd = (await h.sh('md5sum /etc/motd')).stdout.toString();
  assert.equal(
    (await h.sh('md5sum /etc/motd')).stdout.toString(),
    beforeMotd,
    'audit must not change the host',
  );

  await converge(cookbook, h.transport);
  const after = await audit({ profiles: [], cookbooks: [cookbook] }, h.transport);
  assert.deepEqual(
    after.results.map((x) => [x.address, x.status]),
    [
      ['file[/etc/motd]', 'passed'],
      ['file[/etc/secret]', 'passed'],
      ['directory[/srv/data]', 'passed'],
      ['control[motd-text]', 'passed'],
    ],
  );
  assert.deepEqual(summarizeAudit(after.results).passed, 4);
});

test('an unreachable target makes every result an error and records the host error', async () => {
  const profile = compileProfile(
    defineProfile({
      name: 'x',
      controls: (c) =>
        c('a', {}, (t) => t.expect(subject(textFile('/etc/motd'), 'exists', (o) => o.exists)).toBe(true)),
    }),
  );
  const { ChrootTransport } = await import('../transports/chroot.js');
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/bulwark-fake-root-');
  // Looks like a root to the transport, but nothing in it can run.
  mkdirSync(`${dir}/bin`);
  mkdirSync(`${dir}/etc`);
  mkdirSync(`${dir}/usr/bin`, { recursive: true });
  writeFileSync(`${dir}/bin/sh`, '');
  writeFileSync(`${dir}/etc/passwd`, '');
  writeFileSync(`${dir}/usr/bin/stat`, '');
  try {
    const report = await audit({ profiles: [profile], cookbooks: [] }, new ChrootTransport(dir));
    assert.equal(report.results[0]?.status, 'error');
    assert.ok(report.hosts[0]?.error !== undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: false on a cookbook resource address skips that resource; a control id in two sources is an error', async (t) => {
  const h = await host(t);
  const cookbook = compileCookbook(
    defineCookbook({
      name: 'cb',
      recipe: (r) => void r.file('/etc/motd', { content: 'x\n' }),
      controls: (control) =>
        control('same-id', {}, (c) =>
          c.expect(subject(textFile('/etc/motd'), 'exists', (o) => o.exists)).toBe(true),
        ),
    }),
  );
  const waivers = new Map([['file[/etc/motd]', { justification: 'managed elsewhere', run: false }]]);
  const report = await audit({ profiles: [], cookbooks: [cookbook] }, h.transport, { waivers });
  assert.deepEqual(
    report.results.map((x) => [x.address, x.status, x.message]),
    [
      ['file[/etc/motd]', 'skipped', 'not run: waived'],
      ['control[same-id]', 'passed', ''],
    ],
  );
  assert.equal(report.summary.waived, 1);
  const profile = compileProfile(
    defineProfile({ name: 'p', controls: (control) => control('same-id', {}, () => undefined) }),
  );
  await assert.rejects(
    audit({ profiles: [profile], cookbooks: [cookbook] }, h.transport),
    (e) =>
      isBulwarkError(e, 'BULWARK_CONTROL_DUPLICATE') &&
      /same-id is declared by both p and cb/.test(e.message),
  );
});
