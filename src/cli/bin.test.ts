// The installed command, bin/bulwark: it starts Node without loading NODE_EXTRA_CA_CERTS (tens of milliseconds
// at every start), gives the variable back to everything bulwark starts, and loads it for the one command that
// opens TLS connections (`vulns update`), checked here against a real HTTPS server on loopback.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const BIN = resolve('bin/bulwark');

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs bin/bulwark with `env` added to this environment (undefined values removed); resolves when it exits. */
function run(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const merged = Object.fromEntries(
    Object.entries({ ...process.env, NO_COLOR: '1', ...env }).filter(([, v]) => v !== undefined),
  );
  return new Promise((done, fail) => {
    const child = spawn(BIN, args, { env: merged });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

test('bulwark starts without Node loading NODE_EXTRA_CA_CERTS (a missing file would make Node warn)', async () => {
  const r = await run(['--version'], { NODE_EXTRA_CA_CERTS: '/nonexistent/bulwark-ca.pem' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^bulwark \d+\.\d+\.\d+/);
  assert.equal(r.stderr, '');
  // The same Node started directly does load it, which is what the launcher saves.
  const direct = spawnSync(process.execPath, ['-e', '0'], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/bulwark-ca.pem' },
    encoding: 'utf8',
  });
  assert.match(direct.stderr, /extra certs/);
});

test('commands bulwark runs on the host see no trace of the launcher (they get a clean environment)', async (t) => {
  const dir = scratch(t);
  const profile = join(dir, 'env.ts');
  writeFileSync(
    profile,
    `import { defineProfile } from 'bulwark';
export default defineProfile({
  name: 'env',
  controls(control) {
    control('env', { title: 'the environment of commands' }, (t) => {
      t.expect(t.command(['printenv', 'NODE_EXTRA_CA_CERTS']).exitStatus).toBe(1);
      t.expect(t.command(['printenv', 'BULWARK_DEFERRED_CA_CERTS']).exitStatus).toBe(1);
    });
  },
});
`,
  );
  const r = await run(['audit', profile, '--json'], { NODE_EXTRA_CA_CERTS: '/etc/bulwark test/ca.pem' });
  const report = JSON.parse(r.stdout) as { summary: { passed: number; failed: number } };
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual([report.summary.passed, report.summary.failed], [1, 0]);
});

test('vulns update trusts the certificates NODE_EXTRA_CA_CERTS names, and only those', async (t) => {
  const dir = scratch(t);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const feed = JSON.stringify({ bash: { 'CVE-2014-6271': { releases: {} } } });
  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(feed) });
    res.end(feed);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  t.after(() => server.close());
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/tracker/data/json`;

  const trusted = await run(['vulns', 'update', '--url', url, '--cache-dir', join(dir, 'cache')], {
    NODE_EXTRA_CA_CERTS: cert,
  });
  assert.equal(trusted.status, 0, trusted.stdout + trusted.stderr);
  assert.equal(readFileSync(join(dir, 'cache', 'tracker.json'), 'utf8'), feed);

  const untrusted = await run(['vulns', 'update', '--url', url, '--cache-dir', join(dir, 'other')], {
    NODE_EXTRA_CA_CERTS: undefined,
  });
  assert.equal(untrusted.status, 2, untrusted.stdout + untrusted.stderr);
  assert.match(untrusted.stderr, /BULWARK_FEED_UNAVAILABLE/);
});

test('a report far larger than a pipe holds reaches a slow reader whole before bulwark exits', async (t) => {
  const dir = scratch(t);
  const profile = join(dir, 'many.ts');
  writeFileSync(
    profile,
    `import { defineProfile } from 'bulwark';
export default defineProfile({
  name: 'many',
  controls(control) {
    for (let i = 0; i < 3000; i++) {
      control(\`c\${i}\`, { title: 'a long title '.repeat(8) }, (t) => t.expect(t.file('/etc/hostname').exists).toBe(true));
    }
  },
});
`,
  );
  const child = spawn(BIN, ['audit', profile, '--json'], { env: { ...process.env, NO_COLOR: '1' } });
  child.stdout.pause(); // let the pipe fill up before reading anything
  await new Promise((r) => setTimeout(r, 1500));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stdout.resume();
  const status = await new Promise<number | null>((done) => child.on('close', done));
  assert.equal(status, 0);
  assert.ok(stdout.length > 1_000_000, `${stdout.length} bytes`);
  const report = JSON.parse(stdout) as { results: unknown[] };
  assert.equal(report.results.length, 3000);
});

test('bulwark starts through a symlink to it, a chain of symlinks, and as a relative name', (t) => {
  const dir = scratch(t);
  // As npm installs it: node_modules/.bin/bulwark -> ../bulwark/bin/bulwark, relative, and a link to that link.
  symlinkSync(BIN, join(dir, 'bulwark'));
  symlinkSync(join(dir, 'bulwark'), join(dir, 'bulwark-again'));
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: undefined };
  for (const command of [join(dir, 'bulwark'), join(dir, 'bulwark-again')]) {
    const r = spawnSync(command, ['--version'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, /^bulwark \d+\.\d+\.\d+/);
  }
  // `sh bulwark` from bin/ itself: $0 holds no slash.
  const relative = spawnSync('sh', ['bulwark', '--version'], { cwd: resolve('bin'), env, encoding: 'utf8' });
  assert.equal(relative.status, 0, relative.stderr);
  assert.match(relative.stdout, /^bulwark \d+\.\d+\.\d+/);
});
