// End-to-end: the real `bulwark` command against real test hosts, as a user would run it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { createTestHost, type TestHost } from '../testing/host.js';

const CLI = resolve('bin/bulwark.js');
const SEED = resolve('test/fixtures/cookbooks/seed.ts');

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown> & {
    summary?: Record<string, number>;
    resources?: {
      address: string;
      status: string;
      changes?: { property: string; from: string | null; to: string | null }[];
    }[];
    roundTrips?: number;
    error?: { code: string; message: string };
  };
}

/** Runs the CLI inside the host's namespaces against `chroot:ROOT`, the way the docs show. */
function bulwark(
  host: TestHost | undefined,
  args: readonly string[],
  prefix: readonly string[] = [],
): CliResult {
  const argv = [...(host?.enter ?? []), ...prefix, process.execPath, CLI, ...args];
  const r = spawnSync(argv[0] ?? '', argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  let json = {};
  try {
    json = JSON.parse(r.stdout) as object;
  } catch {
    // not JSON output
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
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

/** Connects to 127.0.0.1:port inside the host over real TCP; true when something accepted. */
function tcpOpen(host: TestHost, port: number): boolean {
  const js = `const s=require('net').connect(${port},'127.0.0.1');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));`;
  const r = spawnSync(host.enter[0] ?? '', [...host.enter.slice(1), process.execPath, '-e', js]);
  return r.status === 0;
}

async function newHost(t: { after: (fn: () => Promise<void>) => void }): Promise<TestHost> {
  const h = await createTestHost();
  t.after(() => h.destroy());
  return h;
}

test('the seed story: plan changes nothing, converge removes FTP and sets the values, a second converge changes nothing', async (t) => {
  const h = await newHost(t);
  assert.equal((await h.sh('service vsftpd start')).exitCode, 0);
  assert.ok(tcpOpen(h, 21), 'vsftpd should listen on port 21 before the converge');
  const target = `chroot:${h.root}`;

  const vsftpdVersion = (await h.sh("dpkg-query -W -f='${Version}' vsftpd")).stdout.toString();
  const before = manifest(h.root);
  const plan = bulwark(h, ['plan', SEED, '--target', target, '--json']);
  assert.equal(plan.status, 0, plan.stderr);
  assert.equal(manifest(h.root), before, 'a dry run must leave the root byte for byte unchanged');
  assert.ok(tcpOpen(h, 21), 'a dry run must not stop vsftpd');
  const planned = (plan.json.resources ?? [])
    .filter((r) => r.status === 'changed')
    .map((r) => `${r.address} ${(r.changes ?? []).map((c) => `${c.property}:${c.from}->${c.to}`).join(' ')}`);
  assert.deepEqual(planned, [
    'service[vsftpd] running:true->false enabled:true->false',
    `package[vsftpd] installed[vsftpd]:${vsftpdVersion}->null`,
    'sysctl[net.ipv4.ip_forward] persisted:null->0',
    'sysctl[net.ipv4.tcp_syncookies] persisted:null->1',
    'sysctl[kernel.randomize_va_space] persisted:null->2',
    'service[ssh] running:false->true',
    'keyValue[/etc/ssh/sshd_config:PermitRootLogin] PermitRootLogin:null->no',
    'keyValue[/etc/ssh/sshd_config:X11Forwarding] X11Forwarding:yes->no',
    'keyValue[/etc/ssh/sshd_config:MaxAuthTries] MaxAuthTries:null->3',
  ]);
  assert.equal(plan.json.roundTrips, 1);

  const run = bulwark(h, ['converge', SEED, '--target', target, '--json']);
  assert.equal(run.status, 0, run.stderr + run.stdout);
  assert.equal(run.json.summary?.['failed'], 0);
  assert.equal(run.json.summary?.['changed'], 9);
  assert.notEqual((await h.sh('dpkg -s vsftpd')).exitCode, 0, 'vsftpd must be purged');
  assert.equal((await h.sh('test -e /usr/sbin/vsftpd || test -e /etc/vsftpd.conf')).exitCode, 1);
  assert.ok(!tcpOpen(h, 21), 'nothing may listen on port 21 after the converge');
  assert.ok(tcpOpen(h, 22), 'sshd runs with the new configuration');
  const sysctl = await h.sh('cat /etc/sysctl.d/99-bulwark-net.ipv4.ip_forward.conf');
  assert.match(sysctl.stdout.toString(), /^net\.ipv4\.ip_forward = 0$/m);
  const effective = await h.sh(
    '/usr/sbin/sshd -T -C user=root,host=x,addr=127.0.0.1 | grep -Ei "^(permitrootlogin|x11forwarding|maxauthtries) "',
  );
  assert.deepEqual(effective.stdout.toString().trim().split('\n').sort(), [
    'maxauthtries 3',
    'permitrootlogin no',
    'x11forwarding no',
  ]);

  const again = bulwark(h, ['converge', SEED, '--target', target, '--json']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.json.summary?.['changed'], 0);
  assert.equal(again.json.roundTrips, 1);
});

function cookbookFile(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
  const file = join(dir, 'cookbook.ts');
  writeFileSync(file, source);
  return file;
}

const recipe = (body: string): string =>
  `import { defineCookbook } from 'bulwark';\nexport default defineCookbook({ name: 'bad', recipe(r) {\n${body}\n} });\n`;

test('bad input gets a clear error with a stable code and leaves the host unchanged', async (t) => {
  const h = await newHost(t);
  const target = `chroot:${h.root}`;
  const cases: { name: string; source: string; code: string; args?: string[]; message?: RegExp }[] = [
    {
      name: 'syntax error',
      source: recipe("r.file('/etc/x', { content: 'x' }"),
      code: 'BULWARK_COOKBOOK_COMPILE',
    },
    {
      name: 'type error',
      source: recipe("r.file('/etc/x', { contnet: 'x' });"),
      code: 'BULWARK_COOKBOOK_TYPECHECK',
      message: /contnet/,
    },
    {
      name: 'unknown property without the type check',
      source: recipe("r.file('/etc/x', { contnet: 'x' } as never);"),
      code: 'BULWARK_RESOURCE_INVALID',
      message: /contnet: unknown property/,
    },
    {
      name: 'mode 0o7777 on a file',
      source: recipe("r.file('/etc/x', { mode: 0o7777 });"),
      code: 'BULWARK_RESOURCE_INVALID',
      message: /sticky/,
    },
    {
      name: 'mode 644 as decimal',
      source: recipe("r.file('/etc/x', { mode: 644 });"),
      code: 'BULWARK_RESOURCE_INVALID',
      message: /decimal/,
    },
    {
      name: 'package name with ;',
      source: recipe("r.package('vsftpd; touch /pwned');"),
      code: 'BULWARK_RESOURCE_INVALID',
    },
    {
      name: 'package name with $()',
      source: recipe("r.package('$(touch /pwned)');"),
      code: 'BULWARK_RESOURCE_INVALID',
    },
    {
      name: 'package name with a newline',
      source: recipe("r.package('vsftpd\\ntouch /pwned');"),
      code: 'BULWARK_RESOURCE_INVALID',
    },
    {
      name: 'path with metacharacters',
      source: recipe("r.file('/etc/$(touch /pwned)\\n', { content: 'x' });"),
      code: 'BULWARK_RESOURCE_INVALID',
    },
    {
      name: 'relative path',
      source: recipe("r.file('etc/motd', { content: 'x' });"),
      code: 'BULWARK_RESOURCE_INVALID',
      message: /relative/,
    },
    {
      name: 'service name with ;',
      source: recipe("r.service('ssh; touch /pwned', { running: false });"),
      code: 'BULWARK_RESOURCE_INVALID',
    },
  ];
  const before = manifest(h.root);
  for (const c of cases) {
    const file = cookbookFile(c.source);
    // The type check is what the first two cases are about; the others fail validation either way, and skipping
    // the check keeps this test fast (it costs about 3 s per new cookbook).
    const check = c.code.startsWith('BULWARK_COOKBOOK_') ? [] : ['--no-typecheck'];
    const r = bulwark(h, ['converge', file, '--target', target, '--json', ...check, ...(c.args ?? [])]);
    assert.equal(r.status, 1, `${c.name}: exit code (stderr: ${r.stderr})`);
    assert.equal(r.json.error?.code, c.code, `${c.name}: ${r.json.error?.message}`);
    if (c.message) assert.match(r.json.error?.message ?? '', c.message, c.name);
    assert.match(r.stderr, new RegExp(`^error ${c.code}: `), `${c.name}: stderr`);
  }
  assert.equal(manifest(h.root), before, 'bad input must not change the host');
  assert.equal((await h.sh('test -e /pwned')).exitCode, 1);
});

test('a verify command that fails keeps the old file and exits 3', async (t) => {
  const h = await newHost(t);
  const before = (await h.sh('sha256sum /etc/ssh/sshd_config')).stdout.toString();
  const file = cookbookFile(
    recipe(
      "r.keyValue('/etc/ssh/sshd_config', { key: 'PermitRootLogin', value: 'maybe', verify: ['/usr/sbin/sshd', '-t', '-f', '%{path}'] });",
    ),
  );
  const r = bulwark(h, ['converge', file, '--target', `chroot:${h.root}`]);
  assert.equal(r.status, 3, r.stderr + r.stdout);
  assert.match(r.stdout, /FAILED {2}keyValue\[\/etc\/ssh\/sshd_config:PermitRootLogin\]/);
  assert.match(r.stdout, /BULWARK_VERIFY_FAILED/);
  assert.equal((await h.sh('sha256sum /etc/ssh/sshd_config')).stdout.toString(), before);
});

test('a target that is not a Linux root, an unknown target and a missing cookbook are usage errors', () => {
  const empty = mkdtempSync(join(tmpdir(), 'bulwark-empty-'));
  const a = bulwark(undefined, ['plan', SEED, '--target', `chroot:${empty}`, '--json']);
  assert.equal(a.status, 1);
  assert.equal(a.json.error?.code, 'BULWARK_TARGET_NOT_LINUX_ROOT');
  const b = bulwark(undefined, ['plan', SEED, '--target', 'ftp://x', '--json']);
  assert.equal(b.json.error?.code, 'BULWARK_TARGET_INVALID');
  const c = bulwark(undefined, ['plan', '/nonexistent.ts', '--json']);
  assert.equal(c.json.error?.code, 'BULWARK_COOKBOOK_NOT_FOUND');
  assert.equal(c.status, 1);
});

test('converging as a user other than root is refused before anything runs', () => {
  const r = bulwark(
    undefined,
    ['converge', SEED, '--json'],
    // Only the right to read files is kept, so the check works wherever the checkout is, even in a 0700
    // directory that user could not otherwise enter; the user is still not root.
    [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=+dac_read_search',
      '--ambient-caps=+dac_read_search',
    ],
  );
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.json.error?.code, 'BULWARK_NOT_ROOT');
});

test('--help works for every command and unknown commands are usage errors', () => {
  for (const args of [
    ['--help'],
    ['help'],
    ['converge', '--help'],
    ['plan', '--help'],
    ['help', 'converge'],
  ]) {
    const r = bulwark(undefined, args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /Usage:/);
  }
  const r = bulwark(undefined, ['frobnicate']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(bulwark(undefined, ['--version']).stdout, /^bulwark \d+\.\d+\.\d+$/m);
});

test('attribute overrides from --attr and a YAML file reach the recipe; unknown ones are refused', async (t) => {
  const h = await newHost(t);
  const file = cookbookFile(
    "import { defineCookbook } from 'bulwark';\nexport default defineCookbook({ name: 'motd', attributes: { text: 'hi', count: 1 }, recipe(r, a) {\n r.file('/etc/motd', { content: `${a.text} ${a.count}\\n` });\n} });\n",
  );
  const yaml = join(mkdtempSync(join(tmpdir(), 'bulwark-attr-')), 'attrs.yaml');
  writeFileSync(yaml, 'motd:\n  text: from-yaml\n');
  const r = bulwark(h, [
    'converge',
    file,
    '--target',
    `chroot:${h.root}`,
    '--attributes',
    yaml,
    '--attr',
    'motd.count=7',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await h.sh('cat /etc/motd')).stdout.toString(), 'from-yaml 7\n');
  const bad = bulwark(h, [
    'plan',
    file,
    '--target',
    `chroot:${h.root}`,
    '--attr',
    'motd.colour=red',
    '--json',
  ]);
  assert.equal(bad.status, 1);
  assert.equal(bad.json.error?.code, 'BULWARK_ATTRIBUTE_UNKNOWN');
});

test('on a terminal, a converge says it is applying its batch, then prints each resource and a footer', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-tty-'));
  const cookbook = join(dir, 'tty.ts');
  writeFileSync(
    cookbook,
    `import { defineCookbook } from 'bulwark';
export default defineCookbook({ name: 'tty', recipe(r) {
  r.file('/etc/tty-a', { content: 'a\\n' });
  r.file('/etc/tty-b', { content: 'b\\n' });
} });
`,
  );
  const { main } = await import('./main.js');
  let out = '';
  const io = { stdout: { write: (s: string) => (out += s), isTTY: true }, stderr: { write: () => true } };
  const code = await main(
    ['converge', cookbook, '--target', `chroot:${host.root}`, '--no-color', '--no-typecheck'],
    io,
  );
  assert.equal(code, 0, out);
  const lines = out.split('\n');
  const applying = lines.findIndex((l) => l.includes('applying 2 changes in one round trip'));
  const first = lines.findIndex((l) => l.includes('file[/etc/tty-a]'));
  assert.ok(applying >= 0 && first > applying, out);
  assert.match(out, /2 changed.*2 round trips/);
});
