// End-to-end tests of `bulwark audit` and `bulwark converge --audit`: the real CLI, run inside test hosts'
// namespaces against `chroot:ROOT`, as a user would run it. Fixture profiles are in test/fixtures/profiles, waiver
// files in test/fixtures/waivers.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { XMLParser } from 'fast-xml-parser';
import type { AuditReport, AuditResult, AuditStatus } from '../audit/types.js';
import { useTestHost, type TestHost } from '../testing/host.js';

const CLI = resolve('bin/bulwark.js');
const HARDENING = resolve('examples/hardening.ts');
const profile = (name: string): string => resolve(`test/fixtures/profiles/${name}.ts`);
const waivers = (name: string): string => resolve(`test/fixtures/waivers/${name}.yaml`);

interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time of the whole process, Node start included. */
  readonly ms: number;
  /** stdout parsed as JSON, when it is JSON. */
  readonly json: unknown;
}

/** Runs the CLI inside the host's namespaces (where `chroot:ROOT` reaches the host), or on this machine. */
function bulwark(host: TestHost | undefined, args: readonly string[]): Promise<CliRun> {
  const argv = [...(host?.enter ?? []), process.execPath, CLI, ...args];
  const started = performance.now();
  const child = spawn(argv[0] ?? '', argv.slice(1), {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => stdout.push(b));
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  return new Promise((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      const out = Buffer.concat(stdout).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(out);
      } catch {
        // not JSON output
      }
      resolveRun({
        status,
        stdout: out,
        stderr: Buffer.concat(stderr).toString('utf8'),
        ms: performance.now() - started,
        json,
      });
    });
  });
}

/** `bulwark audit ARGS --target chroot:ROOT`. */
function audit(host: TestHost, args: readonly string[]): Promise<CliRun> {
  return bulwark(host, ['audit', ...args, '--target', `chroot:${host.root}`]);
}

/** `bulwark converge examples/hardening.ts --target chroot:ROOT ARGS`. */
function convergeHardening(host: TestHost, args: readonly string[] = []): Promise<CliRun> {
  return bulwark(host, ['converge', HARDENING, '--target', `chroot:${host.root}`, ...args]);
}

function explain(r: CliRun): string {
  return `exit ${r.status}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 4000)}`;
}

/** The audit report a run printed with --json; fails the test when there is none. */
function reportOf(r: CliRun): AuditReport {
  const report = r.json as Partial<AuditReport> | undefined;
  assert.equal(report?.kind, 'bulwark.audit', `expected an audit report on stdout\n${explain(r)}`);
  return report as AuditReport;
}

/** Each result's status, by address. */
function statuses(report: AuditReport): Record<string, AuditStatus> {
  return Object.fromEntries(report.results.map((r) => [r.address, r.status]));
}

/** Addresses of the results with a status, in report order. */
function withStatus(report: AuditReport, status: AuditStatus): string[] {
  return report.results.filter((r) => r.status === status).map((r) => r.address);
}

function result(report: AuditReport, address: string): AuditResult {
  const found = report.results.find((r) => r.address === address);
  assert.ok(found, `no result for ${address}`);
  return found;
}

/** Asserts a usage error: exit 1, the code in the --json error object, and `error CODE: ` on stderr. */
function assertUsageError(r: CliRun, code: string, what: string, message?: RegExp): void {
  const error = (r.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  assert.equal(r.status, 1, `${what}: exit code\n${explain(r)}`);
  assert.equal(error?.code, code, `${what}: ${error?.message}`);
  assert.match(r.stderr, new RegExp(`^error ${code}: `), `${what}: stderr`);
  if (message !== undefined) assert.match(error?.message ?? '', message, what);
}

/** A manifest of every path in the root: type, mode, owner, size, link target and content hash. */
function manifest(root: string): string {
  const script = `cd "$1" && find . -xdev \\( -path ./proc -o -path ./dev \\) -prune -o -printf '%y %m %U %G %s %p %l\\n' | sort &&
    find . -xdev \\( -path ./proc -o -path ./dev \\) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum`;
  const r = spawnSync('/bin/sh', ['-c', script, 'sh', root], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** A temporary directory removed after the test. */
function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs a shell script in the host and fails the test when it fails. */
async function sh(host: TestHost, script: string): Promise<string> {
  const r = await host.sh(script);
  assert.equal(r.exitCode, 0, `${script}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

// examples/hardening.ts writes /etc/modprobe.d/bulwark-filesystems.conf, but the minbase test root has no
// /etc/modprobe.d (kmod is not installed) and the file resource does not create parent directories, so the first
// converge of a fresh host fails there (see the subtest "converges into a fresh test host in one run").
const MODPROBE_WORKAROUND = 'mkdir -p /etc/modprobe.d';

/** What the everything profile's own controls need besides the hardening. */
const EVERYTHING_SETUP = [
  'useradd -M -s /usr/sbin/nologin -G adm auditor',
  'mkdir -p /srv/audit-demo',
  'chown auditor:adm /srv/audit-demo',
  'chmod 750 /srv/audit-demo',
  "printf 'ForwardAgent no\\nHost *.internal\\n    ForwardAgent yes\\n' >/etc/ssh/ssh_config.d/10-bulwark.conf",
].join(' && ');

const EVERYTHING_SKIPPED = [
  'control[ev-kparam-skip-01]',
  'control[ev-kmod-skip-01]',
  'control[ev-skip-01]',
  'control[ev-skip-02]',
  'control[ev-skip-03]',
];

/** Every control of the everything profile, in declaration order. */
const EVERYTHING_IDS = [
  'ev-port-01',
  'ev-port-02',
  'ev-pkg-01',
  'ev-pkg-02',
  'ev-pkgs-01',
  'ev-svc-01',
  'ev-svc-02',
  'ev-file-01',
  'ev-file-02',
  'ev-file-03',
  'ev-file-04',
  'ev-dir-01',
  'ev-dir-02',
  'ev-dir-03',
  'ev-cmd-01',
  'ev-cmd-02',
  'ev-cmd-03',
  'ev-sshd-01',
  'ev-sshd-02',
  'ev-sshd-03',
  'ev-ssh-01',
  'ev-ssh-02',
  'ev-kparam-01',
  'ev-kparam-02',
  'ev-kparam-skip-01',
  'ev-kmod-01',
  'ev-kmod-skip-01',
  'ev-logindefs-01',
  'ev-logindefs-02',
  'ev-user-01',
  'ev-user-02',
  'ev-user-03',
  'ev-users-01',
  'ev-group-01',
  'ev-groups-01',
  'ev-proc-01',
  'ev-mount-01',
  'ev-mount-02',
  'ev-os-01',
  'ev-patch-01',
  'ev-skip-01',
  'ev-skip-02',
  'ev-skip-03',
].map((id) => `control[${id}]`);

/** The expected status of every everything control: `failing` fail, the guarded ones skip, the rest pass. */
function everythingExpected(failing: readonly string[]): Record<string, AuditStatus> {
  return Object.fromEntries(
    EVERYTHING_IDS.map((a) => [
      a,
      EVERYTHING_SKIPPED.includes(a) ? 'skipped' : failing.includes(a) ? 'failed' : 'passed',
    ]),
  );
}

const BASELINE_IDS = [
  ...['svc-01', 'svc-02', 'svc-03', 'svc-04'],
  ...Array.from({ length: 10 }, (_, i) => `ssh-${String(i + 1).padStart(2, '0')}`),
  ...Array.from({ length: 10 }, (_, i) => `kernel-${String(i + 1).padStart(2, '0')}`),
  'kernel-20',
  ...Array.from({ length: 12 }, (_, i) => `acct-${String(i + 1).padStart(2, '0')}`),
  'banner-01',
  'os-01',
  'patch-01',
].map((id) => `control[${id}]`);

/** Audits the host against the bundled baseline and returns the addresses that did not pass. */
async function baselineNotPassed(
  host: TestHost,
): Promise<{ run: CliRun; report: AuditReport; notPassed: string[] }> {
  const run = await audit(host, ['--json']);
  const report = reportOf(run);
  assert.deepEqual(
    report.results.map((r) => r.address),
    BASELINE_IDS,
    'the baseline reports every control, in order',
  );
  return {
    run,
    report,
    notPassed: report.results.filter((r) => r.status !== 'passed').map((r) => r.address),
  };
}

test('one host, from fresh to converged with examples/hardening.ts: cookbook audit before and after, the baseline, every audit resource, and broken one way at a time', async (t) => {
  const h = await useTestHost(t);

  await t.test(
    'before converge, auditing the cookbook exits 100 and lists every resource out of its desired state',
    async () => {
      const dir = tempDir(t);
      const run = await bulwark(h, [
        'audit',
        HARDENING,
        '--target',
        `chroot:${h.root}`,
        '--reporter',
        'cli',
        '--reporter',
        `json:${join(dir, 'before.json')}`,
      ]);
      assert.equal(run.status, 100, explain(run));
      const report = JSON.parse(readFileSync(join(dir, 'before.json'), 'utf8')) as AuditReport;
      assert.deepEqual(report.sources, [{ name: 'hardening', kind: 'cookbook', title: 'hardening' }]);
      const sysctl = [
        'net.ipv4.ip_forward',
        'net.ipv4.conf.all.send_redirects',
        'net.ipv4.conf.all.accept_redirects',
        'net.ipv4.conf.all.accept_source_route',
        'net.ipv4.conf.all.rp_filter',
        'net.ipv4.conf.all.log_martians',
        'net.ipv4.icmp_echo_ignore_broadcasts',
        'net.ipv4.tcp_syncookies',
        'kernel.randomize_va_space',
        'fs.suid_dumpable',
      ];
      // A cookbook fixed to create /etc/modprobe.d first (see below) has one resource more.
      const modprobeDir = report.results.some((r) => r.address === 'directory[/etc/modprobe.d]');
      assert.deepEqual(withStatus(report, 'failed'), [
        'service[vsftpd]',
        'package[vsftpd,telnetd,rsh-server,nis,tftpd-hpa,xinetd]',
        'service[ssh]',
        ...[
          'PermitRootLogin',
          'PasswordAuthentication',
          'PermitEmptyPasswords',
          'X11Forwarding',
          'MaxAuthTries',
          'LoginGraceTime',
          'ClientAliveInterval',
          'AllowAgentForwarding',
        ].map((k) => `keyValue[/etc/ssh/sshd_config:${k}]`),
        'file[/etc/ssh/sshd_config]',
        ...sysctl.map((k) => `sysctl[${k}]`),
        ...['PASS_MAX_DAYS', 'PASS_MIN_DAYS', 'PASS_WARN_AGE', 'UMASK'].map(
          (k) => `keyValue[/etc/login.defs:${k}]`,
        ),
        ...(modprobeDir ? ['directory[/etc/modprobe.d]'] : []),
        'file[/etc/modprobe.d/bulwark-filesystems.conf]',
        'file[/etc/issue.net]',
      ]);
      assert.deepEqual(withStatus(report, 'passed'), [
        'file[/etc/passwd]',
        'file[/etc/group]',
        'file[/etc/shadow]',
        'file[/etc/gshadow]',
      ]);
      const total = report.results.length;
      assert.equal(total, modprobeDir ? 33 : 32);
      assert.equal(report.summary.failed, total - 4);
      assert.equal(report.hosts[0]?.roundTrips, 1, 'an audit observes the host in one round trip');
      // The failing checks say what differs, as a diff of desired and observed state.
      assert.deepEqual(result(report, 'file[/etc/ssh/sshd_config]').checks, [
        { status: 'failed', description: 'mode', expected: '0600', actual: '0644' },
      ]);
      assert.deepEqual(result(report, 'sysctl[net.ipv4.ip_forward]').checks, [
        { status: 'failed', description: 'persisted', expected: '0', actual: '(absent)' },
      ]);
      // ...and the text report on stdout lists them.
      assert.match(run.stdout, /^Audit of 1 host against hardening$/m);
      assert.match(run.stdout, /FAILED {2}keyValue\[\/etc\/ssh\/sshd_config:PermitRootLogin\]/);
      assert.match(run.stdout, /✗ PermitRootLogin: expected no \/ got \(absent\)/);
      assert.match(
        run.stdout,
        new RegExp(`^${total} results: 4 passed, ${total - 4} failed, 0 skipped, 0 errors, 0 waived`, 'm'),
      );
    },
  );

  await t.test(
    'before converge, the everything profile (type-checked) fails exactly the controls that need the hardening or its setup',
    async () => {
      const run = await audit(h, [profile('everything'), '--json']);
      assert.equal(run.status, 100, explain(run));
      const report = reportOf(run);
      const failing = [
        'ev-port-01',
        'ev-pkg-02',
        'ev-pkgs-01',
        'ev-svc-01',
        'ev-svc-02',
        'ev-file-02',
        'ev-file-03',
        'ev-dir-03',
        'ev-cmd-02',
        'ev-sshd-01',
        'ev-sshd-02',
        'ev-ssh-01',
        'ev-ssh-02',
        'ev-kparam-01',
        'ev-kparam-02',
        'ev-kmod-01',
        'ev-logindefs-01',
        'ev-logindefs-02',
        'ev-user-02',
        'ev-users-01',
        'ev-group-01',
        'ev-proc-01',
      ].map((id) => `control[${id}]`);
      assert.deepEqual(statuses(report), everythingExpected(failing));
      assert.match(result(report, 'control[ev-pkg-02]').message, /package vsftpd installed to equal false/);
    },
  );

  const first = await convergeHardening(h, ['--json']);
  await t.test('examples/hardening.ts converges into a fresh test host in one run', () => {
    type Converged = { resources?: { address: string; status: string; error?: { message: string } }[] };
    const resources = (first.json as Converged | undefined)?.resources ?? [];
    assert.deepEqual(
      resources.filter((r) => r.status === 'failed').map((r) => `${r.address}: ${r.error?.message}`),
      [],
    );
    assert.equal(first.status, 0, explain(first));
  });
  if (first.status !== 0) {
    await sh(h, MODPROBE_WORKAROUND);
    const second = await convergeHardening(h);
    assert.equal(second.status, 0, `converge after creating /etc/modprobe.d\n${explain(second)}`);
  }

  await t.test('after converge, auditing the cookbook exits 0 with every resource passed', async () => {
    const run = await audit(h, [HARDENING, '--json']);
    assert.equal(run.status, 0, explain(run));
    const report = reportOf(run);
    assert.ok(report.summary.total >= 32);
    assert.equal(report.summary.passed, report.summary.total);
    assert.deepEqual(withStatus(report, 'failed'), []);
  });

  await t.test(
    'converge --audit --enforce on a good converge exits 0 and prints the audit, as text and as JSON',
    async () => {
      const text = await convergeHardening(h, ['--audit', '--enforce']);
      assert.equal(text.status, 0, explain(text));
      const n = text.stdout.match(/^0 changed, (\d+) up to date, 0 failed/m)?.[1];
      assert.ok(n !== undefined && Number(n) >= 32, 'a no-op converge');
      assert.match(text.stdout, /^Audit of 1 host against hardening$/m);
      assert.match(
        text.stdout,
        new RegExp(`^${n} results: ${n} passed, 0 failed, 0 skipped, 0 errors, 0 waived`, 'm'),
      );
      const json = await convergeHardening(h, ['--audit', '--enforce', '--json']);
      assert.equal(json.status, 0, explain(json));
      const run = json.json as { summary?: { failed?: number }; audit?: AuditReport };
      assert.equal(run.summary?.failed, 0);
      assert.equal(run.audit?.kind, 'bulwark.audit');
      assert.equal(run.audit?.summary.passed, Number(n));
      assert.equal(run.audit?.summary.failed, 0);
    },
  );

  await t.test('the bundled baseline passes: exit 0 and every one of its 40 controls passed', async () => {
    const { run, report, notPassed } = await baselineNotPassed(h);
    assert.equal(run.status, 0, explain(run));
    assert.deepEqual(notPassed, []);
    assert.equal(report.summary.passed, 40);
    assert.deepEqual(report.sources, [
      { name: 'baseline', kind: 'profile', title: 'Bulwark Debian 12 baseline', version: '1.0.0' },
    ]);
  });

  await t.test(
    'every audit resource, on the converged host: each everything control has its expected status, exit 101 for the skips',
    async () => {
      await sh(h, EVERYTHING_SETUP);
      const run = await audit(h, [profile('everything'), '--json']);
      assert.equal(run.status, 101, explain(run));
      const report = reportOf(run);
      assert.deepEqual(statuses(report), everythingExpected([]));
      assert.ok(EVERYTHING_IDS.length >= 30);
      // Every passed control checked something, and every check passed.
      for (const r of report.results.filter((x) => x.status === 'passed')) {
        assert.ok(r.checks.length > 0, r.address);
        assert.ok(
          r.checks.every((c) => c.status === 'passed'),
          r.address,
        );
      }
      assert.equal(
        result(report, 'control[ev-kmod-skip-01]').message,
        'the target runs no kernel of its own',
      );
      assert.equal(result(report, 'control[ev-skip-01]').message, 'nginx is not installed');
      assert.equal(result(report, 'control[ev-skip-03]').message, 'the control declares no checks');
      assert.equal(result(report, 'control[ev-patch-01]').bucket, 'patch');
      assert.equal(result(report, 'control[ev-file-01]').severity, 'critical');
      assert.deepEqual(report.summary.byBucket.patch, {
        passed: 1,
        failed: 0,
        skipped: 0,
        errors: 0,
        waived: 0,
      });
      assert.equal(report.hosts[0]?.roundTrips, 1, 'every resource was observed in one round trip');
      assert.equal(report.hosts[0]?.facts?.liveKernel, false);

      const flat = await audit(h, [profile('everything'), '--json', '--no-distinct-exit']);
      assert.equal(flat.status, 0, `--no-distinct-exit maps 101 to 0\n${explain(flat)}`);
      assert.equal(reportOf(flat).summary.skipped, 5);
    },
  );

  await t.test(
    'breaking the host one way at a time fails exactly the baseline controls concerned',
    async (tt) => {
      await tt.test('PermitRootLogin yes as the first effective sshd setting fails ssh-01 only', async () => {
        await sh(
          h,
          "cp -p /etc/ssh/sshd_config /root/sshd_config.good && sed -i '1i PermitRootLogin yes' /etc/ssh/sshd_config",
        );
        const { run, report, notPassed } = await baselineNotPassed(h);
        await sh(h, 'mv /root/sshd_config.good /etc/ssh/sshd_config');
        assert.equal(run.status, 100, explain(run));
        assert.deepEqual(notPassed, ['control[ssh-01]']);
        assert.deepEqual(result(report, 'control[ssh-01]').checks, [
          {
            status: 'failed',
            description: 'sshdConfig /etc/ssh/sshd_config PermitRootLogin to cmp "no"',
            expected: 'cmp "no"',
            actual: '"yes"',
          },
        ]);
      });
      await tt.test('a world-writable /etc/shadow fails acct-03 only', async () => {
        await sh(h, 'chmod 666 /etc/shadow');
        const { run, report, notPassed } = await baselineNotPassed(h);
        await sh(h, 'chmod 640 /etc/shadow');
        assert.equal(run.status, 100, explain(run));
        assert.deepEqual(notPassed, ['control[acct-03]']);
        assert.match(
          result(report, 'control[acct-03]').message,
          /mode .*no more permissive than 0640.*got 0666/,
        );
      });
      await tt.test(
        'net.ipv4.conf.all.log_martians left at its default (nothing persisted) fails kernel-06 only',
        async () => {
          const conf = '/etc/sysctl.d/99-bulwark-net.ipv4.conf.all.log_martians.conf';
          await sh(h, `mv ${conf} /root/log_martians.conf.good`);
          const { run, report, notPassed } = await baselineNotPassed(h);
          await sh(h, `mv /root/log_martians.conf.good ${conf}`);
          assert.equal(run.status, 100, explain(run));
          assert.deepEqual(notPassed, ['control[kernel-06]']);
          assert.match(
            result(report, 'control[kernel-06]').message,
            /net\.ipv4\.conf\.all\.log_martians .*got \(none\)/,
          );
        },
      );
      await tt.test(
        'vsftpd installed again and listening on 21 fails svc-01, svc-02 and svc-03',
        async () => {
          await sh(
            h,
            'dpkg -i /var/cache/apt/archives/vsftpd_*.deb >/dev/null 2>&1 && service vsftpd start >/dev/null',
          );
          const { run, report, notPassed } = await baselineNotPassed(h);
          await sh(h, 'service vsftpd stop >/dev/null; dpkg --purge vsftpd >/dev/null 2>&1');
          assert.equal(run.status, 100, explain(run));
          assert.deepEqual(notPassed, ['control[svc-01]', 'control[svc-02]', 'control[svc-03]']);
          // Each of svc-01's four checks sees vsftpd: installed, running, listening, and a process.
          const checks = result(report, 'control[svc-01]').checks;
          assert.deepEqual(
            checks.map((c) => c.description.split(' ').slice(0, 2).join(' ')),
            [
              'package vsftpd',
              'service vsftpd',
              'port 21',
              `processes ${checks[3]?.description.split(' ')[1]}`,
            ],
          );
          assert.deepEqual(
            checks.filter((c) => c.status !== 'failed').map((c) => c.description),
            [],
            'the daemon runs as /usr/sbin/vsftpd, so the process check must see it too',
          );
        },
      );
      const { run, notPassed } = await baselineNotPassed(h);
      assert.equal(run.status, 0, `repaired, the host passes the baseline again\n${explain(run)}`);
      assert.deepEqual(notPassed, []);
    },
  );
});

test('waivers: a valid one waives a failure, an expired one does not, an unknown id is a warning, run: false skips the control', async (t) => {
  const h = await useTestHost(t);
  const dir = tempDir(t);
  const run = (waiverFile: string, extra: readonly string[] = ['--json']): Promise<CliRun> =>
    audit(h, [profile('waivable'), '--no-typecheck', '--waivers', waivers(waiverFile), ...extra]);
  const [valid, expired, unknownId, notRun] = await Promise.all([
    run('valid'),
    run('expired', ['--reporter', 'cli', '--reporter', `json:${join(dir, 'expired.json')}`]),
    run('unknown-id', ['--reporter', 'cli', '--reporter', `json:${join(dir, 'unknown.json')}`]),
    run('run-false'),
  ]);

  assert.equal(valid.status, 0, explain(valid));
  const v = reportOf(valid);
  assert.equal(result(v, 'control[banner-01]').status, 'failed', 'a waived failure keeps its status');
  assert.deepEqual(result(v, 'control[banner-01]').waiver, {
    justification: 'The vendor image ships this banner; provisioning replaces it',
    approver: 'alice',
    expires: '2099-12-31',
    expired: false,
  });
  assert.deepEqual(
    [v.summary.passed, v.summary.failed, v.summary.waived, v.summary.skipped, v.summary.errors],
    [2, 0, 1, 0, 0],
  );
  assert.deepEqual(v.unusedWaivers, []);

  assert.equal(expired.status, 100, explain(expired));
  const e = JSON.parse(readFileSync(join(dir, 'expired.json'), 'utf8')) as AuditReport;
  assert.equal(result(e, 'control[banner-01]').waiver?.expired, true);
  assert.deepEqual([e.summary.failed, e.summary.waived], [1, 0]);
  assert.match(expired.stdout, /FAILED {2}control\[banner-01\]/);
  assert.match(expired.stdout, /waiver EXPIRED on 2020-01-01: The vendor image ships this banner/);

  assert.equal(unknownId.status, 0, `an unknown id is only a warning\n${explain(unknownId)}`);
  const u = JSON.parse(readFileSync(join(dir, 'unknown.json'), 'utf8')) as AuditReport;
  assert.deepEqual(u.unusedWaivers, ['no-such-control']);
  assert.equal(u.summary.waived, 1);
  assert.match(unknownId.stdout, /^warning waiver matched no control: no-such-control$/m);

  // docs/audit.md: not run, status skipped, message `not run: waived`, counted as waived (so not exit 101).
  assert.equal(notRun.status, 0, explain(notRun));
  const n = reportOf(notRun);
  const banner = result(n, 'control[banner-01]');
  assert.equal(banner.status, 'skipped');
  assert.equal(banner.message, 'not run: waived');
  assert.deepEqual(banner.checks, []);
  assert.equal(banner.waiver?.approver, 'bob');
  assert.deepEqual([n.summary.passed, n.summary.skipped, n.summary.waived, n.summary.failed], [2, 0, 1, 0]);
});

test('a waiver on a control that errored changes no count: the error still fails the run', async (t) => {
  const h = await useTestHost(t);
  const dir = tempDir(t);
  const xml = join(dir, 'junit.xml');
  const run = await audit(h, [
    profile('erroring'),
    '--no-typecheck',
    '--waivers',
    waivers('error-waived'),
    '--json',
    '--reporter',
    `junit:${xml}`,
  ]);
  const report = reportOf(run);
  assert.equal(result(report, 'control[throws]').status, 'error');
  assert.equal(result(report, 'control[throws]').waiver?.expired, false, 'the waiver is still shown');
  assert.deepEqual([report.summary.passed, report.summary.errors, report.summary.waived], [1, 1, 0]);
  const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
    readFileSync(xml, 'utf8'),
  ) as { testsuites: Record<string, string> };
  assert.deepEqual(
    [junit.testsuites['errors'], junit.testsuites['skipped']].map(Number),
    [1, 0],
    'the JUnit report counts it the same way',
  );
  assert.equal(run.status, 100, explain(run));
});

test('every reporter at once: cli on stdout, JSON, JUnit, SARIF (schema-valid) and HTML files that agree with each other', async (t) => {
  const h = await useTestHost(t);
  const dir = tempDir(t);
  const out = {
    json: join(dir, 'audit.json'),
    junit: join(dir, 'audit.xml'),
    sarif: join(dir, 'audit.sarif'),
    html: join(dir, 'audit.html'),
  };
  const run = await audit(h, [
    profile('reporters'),
    '--no-typecheck',
    '--waivers',
    waivers('reporters'),
    '--reporter',
    'cli',
    '--reporter',
    `json:${out.json}`,
    '--reporter',
    `junit:${out.junit}`,
    '--reporter',
    `sarif:${out.sarif}`,
    '--reporter',
    `html:${out.html}`,
  ]);
  assert.equal(run.status, 100, explain(run));
  assert.deepEqual(readdirSync(dir).sort(), ['audit.html', 'audit.json', 'audit.sarif', 'audit.xml']);

  // cli: the text report on stdout.
  assert.match(run.stdout, /^Audit of 1 host against reporters$/m);
  assert.match(run.stdout, /waived {2}control\[rep-waived\]/);
  assert.match(run.stdout, /^6 results: 2 passed, 1 failed, 1 skipped, 1 error, 1 waived/m);

  // JSON: the documented schema.
  const report = JSON.parse(readFileSync(out.json, 'utf8')) as AuditReport;
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.kind, 'bulwark.audit');
  const { summary } = report;
  assert.deepEqual(
    [summary.passed, summary.failed, summary.skipped, summary.errors, summary.waived, summary.total],
    [2, 1, 1, 1, 1, 6],
  );
  assert.deepEqual(Object.keys(summary.byBucket).sort(), ['code', 'configuration', 'patch']);
  assert.deepEqual(summary.byBucket.configuration, {
    passed: 1,
    failed: 1,
    skipped: 1,
    errors: 1,
    waived: 1,
  });
  assert.deepEqual(summary.byBucket.patch, { passed: 1, failed: 0, skipped: 0, errors: 0, waived: 0 });
  assert.deepEqual(summary.byBucket.code, { passed: 0, failed: 0, skipped: 0, errors: 0, waived: 0 });
  const host = `chroot:${h.root}`;
  assert.deepEqual(
    report.results.map((r) => [r.address, r.host, r.status, r.bucket, r.impact]),
    [
      ['control[rep-pass]', host, 'passed', 'configuration', 0.9],
      ['control[rep-fail]', host, 'failed', 'configuration', 0.7],
      ['control[rep-skip]', host, 'skipped', 'configuration', 0.5],
      ['control[rep-error]', host, 'error', 'configuration', 0.4],
      ['control[rep-waived]', host, 'failed', 'configuration', 0.5],
      ['control[rep-patch]', host, 'passed', 'patch', 0.9],
    ],
  );
  assert.equal(result(report, 'control[rep-pass]').message, '');
  assert.match(result(report, 'control[rep-fail]').message, /issue\.net content not to match \/debian\/i/);
  assert.equal(result(report, 'control[rep-skip]').message, 'nginx is not installed');
  assert.match(result(report, 'control[rep-error]').message, /cannot observe the live value .* chroot/);

  // JUnit: the same counts; a waived failure is a skipped testcase.
  const junit = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  }).parse(readFileSync(out.junit, 'utf8')) as {
    testsuites: Record<string, string> & {
      testsuite: (Record<string, string> & { testcase: Record<string, unknown>[] })[];
    };
  };
  const suites = junit.testsuites;
  assert.deepEqual([suites['tests'], suites['failures'], suites['errors'], suites['skipped']].map(Number), [
    summary.total,
    summary.failed,
    summary.errors,
    summary.skipped + summary.waived,
  ]);
  assert.equal(suites.testsuite.length, 1);
  const cases = suites.testsuite[0]?.testcase ?? [];
  assert.deepEqual(
    cases.map((c) => c['name']),
    report.results.map((r) => r.address),
  );
  const outcome = (c: Record<string, unknown>): string =>
    ['failure', 'error', 'skipped'].find((k) => k in c) ?? 'passed';
  assert.deepEqual(cases.map(outcome), ['passed', 'failure', 'skipped', 'error', 'skipped', 'passed']);

  // SARIF: valid against the official 2.1.0 schema; one result per failure or error, the waived one suppressed.
  const log = JSON.parse(readFileSync(out.sarif, 'utf8')) as {
    version: string;
    runs: { results: { ruleId: string; level: string; suppressions?: unknown[] }[] }[];
  };
  assert.ok(validateSarif(log), JSON.stringify(validateSarif.errors, null, 2));
  assert.equal(log.version, '2.1.0');
  assert.deepEqual(
    (log.runs[0]?.results ?? []).map((r) => [
      r.ruleId,
      r.level,
      r.suppressions === undefined ? 'open' : 'suppressed',
    ]),
    [
      ['control[rep-fail]', 'error', 'open'],
      ['control[rep-error]', 'error', 'open'],
      ['control[rep-waived]', 'warning', 'suppressed'],
    ],
  );

  // HTML: one self-contained page, every title escaped.
  const html = readFileSync(out.html, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/i);
  assert.doesNotMatch(html, /<script/i, 'no script, and the hostile description is escaped');
  assert.doesNotMatch(html, /<link |<img |@import|src="/i, 'no external assets');
  const escapeHtml = (s: string): string =>
    s.replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
    );
  for (const r of report.results) {
    assert.ok(html.includes(escapeHtml(r.title)), `${r.address}: escaped title ${escapeHtml(r.title)}`);
  }
  assert.ok(!html.includes('<b>hides</b>'), 'a title never reaches the page as markup');
  assert.ok(html.includes(escapeHtml('Accepted <risk> & "approved" by the board')));
});

const require = createRequire(import.meta.url);

/** The official SARIF 2.1.0 schema (draft-04), compiled with ajv 8 and hand-written `uri`/`date-time` formats. */
function sarifValidator(): ReturnType<Ajv['compile']> {
  const path = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  const { id, ...schema } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete schema['$schema'];
  // unicodeRegExp: false because one of the schema's patterns is not a valid unicode-mode regular expression.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addFormat('uri-reference', (s: string) => !/\s/.test(s));
  ajv.addFormat('date-time', (s: string) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s),
  );
  return ajv.compile({ ...schema, $id: String(id) });
}

const validateSarif = sarifValidator();

test('bad input is refused with exit 1 and a stable code, control failures stay in their control, and the host is unchanged', async (t) => {
  const h = await useTestHost(t);
  const dir = tempDir(t);
  const before = manifest(h.root);

  await t.test('profiles that do not compile, or are invalid, are refused before anything runs', async () => {
    const syntax = join(dir, 'syntax-error.ts');
    writeFileSync(
      syntax,
      "import { defineProfile } from 'bulwark';\nexport default defineProfile({ name: 'broken', controls(control) {\n  control('x', {}, (t) => { t.expect(t.port(21).listening).toBe(false) }\n} });\n",
    );
    const notAProfile = join(dir, 'not-a-profile.ts');
    writeFileSync(notAProfile, 'export default { name: "nothing" };\n');
    // The loader is shared with cookbooks: its codes and messages say "cookbook" for a profile too.
    const cases: [string, string, string, RegExp][] = [
      ['syntax error', syntax, 'BULWARK_COOKBOOK_COMPILE', /syntax-error\.ts does not compile/],
      ['missing import', profile('missing-import'), 'BULWARK_COOKBOOK_COMPILE', /no-such-module/],
      ['no profile exported', notAProfile, 'BULWARK_PROFILE_INVALID', /must export a profile/],
      [
        'duplicate control ids',
        profile('duplicate-ids'),
        'BULWARK_CONTROL_DUPLICATE',
        /control\[ssh-01\]: declared twice/,
      ],
      [
        'impact outside 0..1',
        profile('bad-impact'),
        'BULWARK_PROFILE_INVALID',
        /control\[too-high\] impact: 1\.5 is not an impact[^]*control\[negative\] impact: -0\.2/,
      ],
      [
        'hostile control id',
        profile('hostile-id'),
        'BULWARK_PROFILE_INVALID',
        /control\[\$\(reboot\)\] id: a control id is/,
      ],
      ['missing file', join(dir, 'nonexistent.ts'), 'BULWARK_COOKBOOK_NOT_FOUND', /does not exist/],
    ];
    // The syntax error is type-checked as well (esbuild fails first); the others skip the check.
    const runs = await Promise.all(
      cases.map(([, file], i) => audit(h, [file, '--json', ...(i === 0 ? [] : ['--no-typecheck'])])),
    );
    cases.forEach(([name, , code, message], i) => assertUsageError(runs[i] as CliRun, code, name, message));
  });

  await t.test(
    'malformed waiver files are refused: not YAML, not a mapping, an impossible date',
    async () => {
      const notYaml = join(dir, 'not-yaml.yaml');
      writeFileSync(notYaml, 'banner-01:\n  justification: "never closed\n  approver: [alice\n');
      const cases: [string, string, string, RegExp][] = [
        ['not YAML', notYaml, 'BULWARK_WAIVER_INVALID', /is not valid YAML/],
        ['a list', waivers('malformed'), 'BULWARK_WAIVER_INVALID', /must map control ids to waivers/],
        [
          '30 February',
          waivers('bad-date'),
          'BULWARK_WAIVER_INVALID',
          /waiver\[banner-01\] expires: "2024-02-30" is not a date/,
        ],
        ['a missing file', join(dir, 'nonexistent.yaml'), 'BULWARK_USAGE', /cannot read the waiver file/],
      ];
      const runs = await Promise.all(
        cases.map(([, file]) =>
          audit(h, [profile('waivable'), '--no-typecheck', '--json', '--waivers', file]),
        ),
      );
      cases.forEach(([name, , code, message], i) => assertUsageError(runs[i] as CliRun, code, name, message));
    },
  );

  await t.test('unknown reporters and inputs are usage errors', async () => {
    const cases: [string, string[], string, RegExp][] = [
      [
        'unknown reporter',
        ['--reporter', `xml:${join(dir, 'x.xml')}`],
        'BULWARK_USAGE',
        /Unknown reporter 'xml:/,
      ],
      ['junit without a path', ['--reporter', 'junit'], 'BULWARK_USAGE', /needs a file/],
      [
        'two reports on stdout',
        ['--reporter', 'cli', '--reporter', 'json'],
        'BULWARK_USAGE',
        /Only one reporter/,
      ],
      ['unknown input', ['--input', 'waivable.nope=1'], 'BULWARK_INPUT_UNKNOWN', /nope/],
      [
        'input of a profile not in the run',
        ['--input', 'nosuch.x=1'],
        'BULWARK_INPUT_UNKNOWN',
        /profile\[nosuch\]/,
      ],
      ['malformed input', ['--input', 'bannerWords'], 'BULWARK_USAGE', /NAME\.key=value/],
    ];
    const runs = await Promise.all(
      cases.map(([, args]) => audit(h, [profile('waivable'), '--no-typecheck', '--json', ...args])),
    );
    cases.forEach(([name, , code, message], i) => assertUsageError(runs[i] as CliRun, code, name, message));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.xml')),
      [],
      'no report was written',
    );
  });

  await t.test(
    'a control that throws, a command that hangs and hostile paths are results of their own; the others still run',
    async () => {
      const run = await audit(h, [profile('runtime-errors'), '--no-typecheck', '--json']);
      assert.equal(run.status, 100, explain(run));
      assert.ok(
        run.ms < 10_000,
        `sleep 60 was stopped at its 1 s timeout, but the run took ${Math.round(run.ms)} ms`,
      );
      const report = reportOf(run);
      assert.deepEqual(statuses(report), {
        'control[runs-fine]': 'passed',
        'control[throws]': 'error',
        'control[hangs]': 'failed',
        'control[relative-path]': 'error',
        'control[nul-path]': 'error',
        'control[live-kernel]': 'error',
      });
      assert.equal(
        result(report, 'control[throws]').message,
        'the control threw: boom: the profile has a bug',
      );
      assert.deepEqual(
        result(report, 'control[hangs]').checks.map((c) =>
          c.status === 'failed' ? `${c.description}: ${c.actual}` : c.status,
        ),
        ['command sleep 60 timed out to equal false: true', 'command sleep 60 exit status to equal 0: 124'],
      );
      assert.match(
        result(report, 'control[relative-path]').message,
        /file\(\) needs an absolute path, not "etc\/shadow"/,
      );
      assert.match(result(report, 'control[nul-path]').message, /holds a NUL/);
      assert.match(
        result(report, 'control[live-kernel]').message,
        /cannot observe the live value of kernel parameter net\.ipv4\.ip_forward/,
      );
      assert.deepEqual([report.summary.passed, report.summary.failed, report.summary.errors], [1, 1, 4]);
    },
  );

  assert.equal(manifest(h.root), before, 'bad input and failing controls must not change the host');
  assert.equal((await h.sh('test -e /pwned')).exitCode, 1);
});

test("the audit does not count its own helper processes or the bulwark process as the host's", async (t) => {
  const h = await useTestHost(t);
  const run = await audit(h, [profile('own-processes'), '--no-typecheck', '--json']);
  const report = reportOf(run);
  assert.equal(result(report, 'control[sshd-config-read]').status, 'passed');
  assert.deepEqual(
    report.results
      .filter((r) => r.status !== 'passed')
      .map((r) => `${r.address}: ${r.message.slice(0, 300)}`),
    [],
  );
  assert.equal(run.status, 0, explain(run));
});

test('exit codes: 0 all passed, 100 a failure, 101 only skips, --no-distinct-exit maps both to 0, a bad target is 1', async (t) => {
  const h = await useTestHost(t);
  const waivable = (extra: readonly string[]): Promise<CliRun> =>
    audit(h, [profile('waivable'), '--no-typecheck', '--json', ...extra]);
  const onlySkips = (extra: readonly string[]): Promise<CliRun> =>
    audit(h, [profile('only-skips'), '--no-typecheck', ...extra]);
  const elsewhere = (target: string): Promise<CliRun> =>
    bulwark(undefined, ['audit', profile('waivable'), '--no-typecheck', '--json', '--target', target]);
  const [failing, failingFlat, passing, skips, skipsFlat, nowhere, unknown] = await Promise.all([
    waivable([]),
    waivable(['--no-distinct-exit']),
    waivable(['--input', 'waivable.bannerWords=["solaris"]']),
    onlySkips(['--json']),
    onlySkips(['--no-distinct-exit']),
    elsewhere('chroot:/nonexistent'),
    elsewhere('ftp://x'),
  ]);

  assert.equal(passing.status, 0, `an input override makes banner-01 pass\n${explain(passing)}`);
  assert.equal(reportOf(passing).summary.passed, 3);

  assert.equal(failing.status, 100, explain(failing));
  assert.deepEqual(withStatus(reportOf(failing), 'failed'), ['control[banner-01]']);
  assert.equal(failingFlat.status, 0, explain(failingFlat));
  assert.equal(reportOf(failingFlat).summary.failed, 1, 'the report still shows the failure');

  assert.equal(skips.status, 101, explain(skips));
  assert.deepEqual([reportOf(skips).summary.skipped, reportOf(skips).summary.passed], [2, 0]);
  assert.equal(skipsFlat.status, 0, explain(skipsFlat));
  assert.match(skipsFlat.stdout, /^2 results: 0 passed, 0 failed, 2 skipped/m);

  assertUsageError(nowhere, 'BULWARK_TARGET_INVALID', 'chroot:/nonexistent', /is not a directory/);
  assertUsageError(unknown, 'BULWARK_TARGET_INVALID', 'ftp://x');
});
