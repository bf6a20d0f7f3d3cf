import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { isBulwarkError } from '../errors.js';
import { useTestHost, type TestHost } from '../testing/host.js';
import { deepMerge, limitHosts, loadInventory, resolveInventory } from './inventory.js';

const CLI = resolve('bin/bulwark.js');
const MOTD = resolve('test/fixtures/fleet/motd.ts');
const MOTD_PROFILE = resolve('test/fixtures/fleet/motd-profile.ts');

function writeInventory(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bulwark-inv-')), 'inventory.yaml');
  writeFileSync(file, text);
  return file;
}

test('an inventory resolves targets, groups, run lists and attribute precedence (host over later group over earlier)', () => {
  const inv = resolveInventory(
    {
      defaults: { user: 'deploy', port: 2222, sudo: true, key: 'keys/id_ed25519' },
      hosts: {
        web1: { address: '198.51.100.10', attributes: { motd: { text: 'host' } } },
        web2: { address: '2001:db8::2', user: 'root', port: 22 },
        img: { target: 'chroot:/srv/img' },
      },
      groups: {
        all: {
          hosts: ['web1', 'web2', 'img'],
          attributes: { motd: { text: 'all', owner: 'root' } },
          cookbooks: ['base.ts'],
        },
        web: {
          hosts: ['web1', 'web2'],
          attributes: { motd: { text: 'web' } },
          cookbooks: ['web.ts', 'base.ts'],
          profiles: ['p.ts'],
        },
      },
    },
    '/srv/inv/inventory.yaml',
  );
  const [web1, web2, img] = inv.hosts;
  assert.equal(web1?.target, 'ssh://deploy@198.51.100.10:2222');
  assert.equal(web2?.target, 'ssh://root@[2001:db8::2]:22');
  assert.equal(img?.target, 'chroot:/srv/img');
  assert.deepEqual(web1?.ssh, { privateKeys: ['/srv/inv/keys/id_ed25519'], sudo: true });
  assert.deepEqual(web1?.attributes, { motd: { text: 'host', owner: 'root' } });
  assert.deepEqual(web2?.attributes, { motd: { text: 'web', owner: 'root' } });
  assert.deepEqual(img?.attributes, { motd: { text: 'all', owner: 'root' } });
  assert.deepEqual(web1?.cookbooks, ['/srv/inv/base.ts', '/srv/inv/web.ts']);
  assert.deepEqual(web1?.profiles, ['/srv/inv/p.ts']);
  assert.deepEqual(web1?.groups, ['all', 'web']);
  assert.deepEqual(
    limitHosts(inv, 'web').map((h) => h.name),
    ['web1', 'web2'],
  );
  assert.deepEqual(
    limitHosts(inv, 'img,web1').map((h) => h.name),
    ['web1', 'img'],
  );
  assert.throws(
    () => limitHosts(inv, 'db'),
    (e) => isBulwarkError(e, 'BULWARK_USAGE'),
  );
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1] } }, { a: { c: [2] } }), { a: { b: 1, c: [2] } });
});

test('a bad inventory is refused before anything runs, with every problem listed', async () => {
  const bad = {
    defaults: { colour: 'blue' },
    hosts: {
      a: { address: '198.51.100.1', target: 'local' },
      b: { address: 'bad host; rm -rf /' },
      c: { address: '198.51.100.3', port: 70000, sudo: 'yes' },
      d: { address: '198.51.100.4' },
      f: { address: '198.51.100.4' },
      e: { adress: '198.51.100.5' },
      g: { address: '198.51.100.7', bastion: 'ssh://jump1,admin@jump2:2222' },
      h: { address: '198.51.100.8', bastion: 'jump1,$(touch /pwned)' },
    },
    groups: { g: { hosts: ['a', 'ghost'], roles: [] } },
  };
  try {
    resolveInventory(bad, '/x/inv.yaml');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isBulwarkError(e, 'BULWARK_INVENTORY_INVALID'));
    const at = e.problems.map((p) => `${p.at} ${p.property ?? ''}`);
    for (const expected of [
      'defaults colour',
      'group[g] roles',
      'group[g] hosts',
      'host[a] address',
      'host[b] address',
      'host[c] port',
      'host[c] sudo',
      'host[e] adress',
      'host[h] bastion',
    ]) {
      assert.ok(at.includes(expected), `missing problem ${expected} in ${at.join(' | ')}`);
    }
    assert.match(e.message, /host\[f\] address: the same target as host d/);
    assert.ok(!at.includes('host[g] bastion'), 'a chain of jump hosts is a valid bastion');
  }
  const dup = writeInventory('hosts:\n  a:\n    address: 198.51.100.1\n  a:\n    address: 198.51.100.2\n');
  await assert.rejects(
    loadInventory(dup),
    (e) => isBulwarkError(e, 'BULWARK_INVENTORY_INVALID') && /not valid YAML/.test(e.message),
  );
  assert.throws(
    () => resolveInventory({ hosts: {} }, 'x'),
    (e) => isBulwarkError(e, 'BULWARK_INVENTORY_INVALID'),
  );
});

test('a TypeScript inventory written with defineInventory from bulwark loads, and its type errors name it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-inv-'));
  const good = join(dir, 'fleet.ts');
  writeFileSync(
    good,
    `import { defineInventory } from 'bulwark';
export default defineInventory({
  defaults: { user: 'deploy' },
  hosts: { web1: { address: '198.51.100.10' }, image: { target: 'local' } },
  groups: { all: { hosts: ['web1', 'image'] } },
});
`,
  );
  const inventory = await loadInventory(good);
  assert.deepEqual(
    inventory.hosts.map((h) => [h.name, h.target]),
    [
      ['web1', 'ssh://deploy@198.51.100.10:22'],
      ['image', 'local'],
    ],
  );
  // A mistake the editor would show is refused the same way, naming the file as an inventory.
  const bad = join(dir, 'typo.ts');
  writeFileSync(
    bad,
    `import { defineInventory } from 'bulwark';\nexport default defineInventory({ hosts: { a: { adress: 'x' } } });\n`,
  );
  await assert.rejects(
    loadInventory(bad),
    (e) =>
      isBulwarkError(e, 'BULWARK_COOKBOOK_TYPECHECK') &&
      /^inventory .*typo\.ts has 1 type error/.test(e.message),
  );
});

function bulwark(args: readonly string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
} {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // text output
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

test('a fleet converge runs every host in parallel, isolates a broken one, and merges one report', async (t) => {
  const hosts: TestHost[] = [];
  for (let i = 0; i < 4; i++) hosts.push(await useTestHost(t));
  const [a, b, c, d] = hosts as [TestHost, TestHost, TestHost, TestHost];
  const inventory = writeInventory(
    [
      'hosts:',
      `  a: { target: "chroot:${a.root}", attributes: { motd: { text: from-host } } }`,
      `  b: { target: "chroot:${b.root}" }`,
      `  c: { target: "chroot:${c.root}" }`,
      `  d: { target: "chroot:${d.root}" }`,
      '  gone: { target: "chroot:/nonexistent/root" }',
      'groups:',
      `  all: { hosts: [a, b, c, d, gone], cookbooks: ["${MOTD}"], attributes: { motd: { text: from-all } } }`,
      '  web: { hosts: [c], attributes: { motd: { text: from-web } } }',
      `  checked: { hosts: [a, b, c], profiles: ["${MOTD_PROFILE}"], inputs: { motd-check: { expected: from-all } } }`,
    ].join('\n'),
  );
  const run = bulwark([
    'converge',
    '--inventory',
    inventory,
    '--concurrency',
    '3',
    '--json',
    '--no-typecheck',
  ]);
  assert.equal(run.status, 2, run.stderr); // one host could not be reached
  const report = run.json as {
    hosts: { name: string; status: string; error?: { code: string } }[];
    summary: Record<string, number>;
  };
  assert.deepEqual(
    report.hosts.map((h) => [h.name, h.status]),
    [
      ['a', 'changed'],
      ['b', 'changed'],
      ['c', 'changed'],
      ['d', 'changed'],
      ['gone', 'error'],
    ],
  );
  assert.equal(report.hosts[4]?.error?.code, 'BULWARK_TARGET_INVALID');
  assert.deepEqual([report.summary['hosts'], report.summary['changed'], report.summary['errors']], [5, 4, 1]);
  const motd = async (h: TestHost): Promise<string> => (await h.sh('cat /etc/motd')).stdout.toString();
  assert.deepEqual(await Promise.all(hosts.map(motd)), [
    'from-host\n',
    'from-all\n',
    'from-web\n',
    'from-all\n',
  ]);

  const again = bulwark(['converge', '--inventory', inventory, '--limit', 'a,web', '--no-typecheck']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^a\s+ok\s+0\s+1\s+0\s+0\s+1\s/m);
  assert.match(again.stdout, /^c\s+ok\s/m);
  assert.doesNotMatch(again.stdout, /^b\s/m);

  const audit = bulwark([
    'audit',
    '--inventory',
    inventory,
    '--limit',
    'checked',
    '--json',
    '--no-typecheck',
  ]);
  assert.equal(audit.status, 100, audit.stderr);
  const results = (audit.json['results'] as { host: string; address: string; status: string }[]).map((r) => [
    r.host,
    r.address,
    r.status,
  ]);
  // Each host's run list: its groups' profiles, and their cookbooks in audit mode.
  assert.deepEqual(results, [
    ['a', 'file[/etc/motd]', 'passed'],
    ['a', 'control[motd-01]', 'failed'],
    ['b', 'file[/etc/motd]', 'passed'],
    ['b', 'control[motd-01]', 'passed'],
    ['c', 'file[/etc/motd]', 'passed'],
    ['c', 'control[motd-01]', 'failed'],
  ]);
  assert.equal((audit.json['hosts'] as unknown[]).length, 3);
});
