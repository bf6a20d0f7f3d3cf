/**
 * A local copy of the bookworm-security updates that matter to the cached test root, for tests of missing patches:
 * built once on this machine (which has network) from deb.debian.org, cached beside the test root and keyed by it,
 * then copied into test hosts (which have none) as a flat apt repository whose Release file says it is the Debian
 * security suite. Only packages whose security version would upgrade something installed in the root are kept.
 * Test-only; imports the test root and host helpers and Node built-ins.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareDebianVersions } from '../audit/debversion.js';
import type { TestHost } from './host.js';
import { cacheDir, ensureBaseRoot, rootKey } from './root.js';

/** Where the security suite is published. */
export const SECURITY_MIRROR_URL = 'http://deb.debian.org/debian-security';

/** The suite copied. */
export const SECURITY_SUITE = 'bookworm-security';

/** Where the repository lives inside a test host. */
export const SECURITY_REPO_DIR = '/srv/security';

/** The apt source naming it, inside a test host. */
export const SECURITY_SOURCE = '/etc/apt/sources.list.d/bulwark-security.list';

// Bump when the recipe below changes, so the cache is rebuilt.
const RECIPE = 1;

/** One package of the mirror. */
export interface MirroredPackage {
  readonly name: string;
  readonly arch: string;
  /** The version installed in the test root. */
  readonly installed: string;
  /** The security suite's version. */
  readonly version: string;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function must(argv: readonly string[], input?: Buffer): Buffer {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  const r = spawnSync(file, args, { input, maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(300_000) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Splits a Packages index into stanzas of `field -> value` (continuation lines kept with their field). */
export function parseStanzas(text: string): { fields: Map<string, string>; raw: string }[] {
  const out: { fields: Map<string, string>; raw: string }[] = [];
  for (const raw of text.split(/\n\n+/)) {
    if (raw.trim() === '') continue;
    const fields = new Map<string, string>();
    let last = '';
    for (const line of raw.split('\n')) {
      if (/^\s/.test(line)) {
        fields.set(last, `${fields.get(last) ?? ''}\n${line}`);
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      fields.set(last, line.slice(colon + 1).trim());
    }
    out.push({ fields, raw });
  }
  return out;
}

/** The key of the mirror: the test root's key plus this recipe. */
export function securityMirrorKey(): string {
  return sha256(JSON.stringify({ root: rootKey(), SECURITY_SUITE, SECURITY_MIRROR_URL, RECIPE })).slice(
    0,
    16,
  );
}

/**
 * Returns the directory of the mirror, building it first when it is not cached: downloads the suite's Packages
 * index and the .deb of every package whose security version is newer than the one installed in the test root.
 */
export async function ensureSecurityMirror(log: (line: string) => void = () => undefined): Promise<string> {
  const dir = join(cacheDir(), 'security', `${SECURITY_SUITE}-${securityMirrorKey()}`);
  if (existsSync(join(dir, '.bulwark-complete'))) return dir;
  const root = ensureBaseRoot(log);
  mkdirSync(join(cacheDir(), 'security'), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`building the ${SECURITY_SUITE} test mirror into ${dir} (once; cached afterwards)`);
  const arch = must(['dpkg', '--print-architecture']).toString().trim();
  const installed = new Map<string, { version: string; arch: string }>();
  const query = must([
    'dpkg-query',
    `--admindir=${root}/var/lib/dpkg`,
    '-W',
    '-f',
    '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\n',
  ]).toString();
  for (const line of query.split('\n')) {
    const [name = '', version = '', a = '', status = ''] = line.split('\t');
    if (status === 'installed') installed.set(name, { version, arch: a });
  }
  const index = must(
    ['xz', '-dc'],
    await download(`${SECURITY_MIRROR_URL}/dists/${SECURITY_SUITE}/main/binary-${arch}/Packages.xz`),
  ).toString('utf8');
  const best = new Map<string, { fields: Map<string, string>; raw: string; version: string }>();
  for (const stanza of parseStanzas(index)) {
    const name = stanza.fields.get('Package') ?? '';
    const version = stanza.fields.get('Version') ?? '';
    const have = installed.get(name);
    if (have === undefined || stanza.fields.get('Architecture') !== have.arch) continue;
    if (compareDebianVersions(version, have.version) <= 0) continue;
    const prior = best.get(name);
    if (prior === undefined || compareDebianVersions(version, prior.version) > 0)
      best.set(name, { ...stanza, version });
  }
  const stanzas: string[] = [];
  const packages: MirroredPackage[] = [];
  for (const [name, s] of [...best].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const filename = s.fields.get('Filename') ?? '';
    const deb = await download(`${SECURITY_MIRROR_URL}/${filename}`);
    if (sha256(deb) !== s.fields.get('SHA256')) throw new Error(`${filename}: checksum mismatch`);
    const base = filename.split('/').pop() ?? `${name}.deb`;
    writeFileSync(join(tmp, base), deb, { mode: 0o644 });
    stanzas.push(s.raw.replace(/^Filename: .*$/m, `Filename: ./${base}`));
    const have = installed.get(name);
    packages.push({ name, arch: have?.arch ?? arch, installed: have?.version ?? '', version: s.version });
  }
  const packagesText = stanzas.map((s) => `${s.trimEnd()}\n`).join('\n');
  writeFileSync(join(tmp, 'Packages'), packagesText, { mode: 0o644 });
  const release = [
    'Origin: Debian-Security',
    'Label: Debian-Security',
    `Suite: ${SECURITY_SUITE}`,
    `Codename: ${SECURITY_SUITE}`,
    'Version: 12',
    `Date: ${new Date().toUTCString().replace('GMT', 'UTC')}`,
    `Architectures: ${arch} all`,
    'SHA256:',
    ` ${sha256(packagesText)} ${Buffer.byteLength(packagesText)} Packages`,
  ];
  writeFileSync(join(tmp, 'Release'), release.join('\n') + '\n', { mode: 0o644 });
  writeFileSync(join(tmp, 'packages.json'), JSON.stringify(packages, null, 1));
  writeFileSync(join(tmp, '.bulwark-complete'), `${new Date().toISOString()}\n`);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, '.bulwark-complete'))) throw e;
  }
  return dir;
}

/** The packages of the cached mirror (what a host of the test root would upgrade from it). */
export async function securityMirrorPackages(): Promise<MirroredPackage[]> {
  const dir = await ensureSecurityMirror();
  const { readFile } = await import('node:fs/promises');
  return JSON.parse(await readFile(join(dir, 'packages.json'), 'utf8')) as MirroredPackage[];
}

/**
 * Gives a test host the security suite: copies the mirror to {@link SECURITY_REPO_DIR} (hard links where the file
 * system allows), adds {@link SECURITY_SOURCE} and refreshes that source only (no network is touched).
 */
export async function addSecurityMirror(host: TestHost): Promise<void> {
  const dir = await ensureSecurityMirror();
  const target = join(host.root, SECURITY_REPO_DIR);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  if (spawnSync('cp', ['-al', `${dir}/.`, target]).status !== 0) {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    must(['cp', '-a', `${dir}/.`, target]);
  }
  writeFileSync(join(host.root, SECURITY_SOURCE), `deb [trusted=yes] file:${SECURITY_REPO_DIR} ./\n`, {
    mode: 0o644,
  });
  const r = await host.transport.exec([
    'apt-get',
    'update',
    '-q',
    '-o',
    `Dir::Etc::sourcelist=${SECURITY_SOURCE.replace('/etc/apt/', '')}`,
    '-o',
    'Dir::Etc::sourceparts=-',
    '-o',
    'APT::Get::List-Cleanup=0',
  ]);
  if (r.exitCode !== 0) {
    throw new Error(`apt-get update of the security mirror failed (${r.exitCode}): ${r.stderr.toString()}`);
  }
}

/**
 * A small tracker feed in the real format about packages of the test root, with an issue of every kind:
 * openssl fixable by the mirror's update, lvm2 fixable but not in any configured source (and hidden behind
 * dmsetup's own epoch when binary versions are compared), bash open, systemd already fixed, an unimportant one,
 * a hostile package name, an invalid fixed version and another release's entry.
 */
export function bookwormFeedFixture(): Record<string, unknown> {
  const issue = (releases: Record<string, unknown>): Record<string, unknown> => ({
    description: 'test issue',
    scope: 'local',
    releases,
  });
  const bookworm = (entry: Record<string, unknown>): Record<string, unknown> => ({
    bookworm: { repositories: { bookworm: '1' }, ...entry },
  });
  return {
    openssl: {
      'CVE-2026-1001': issue(
        bookworm({ status: 'resolved', fixed_version: '3.0.22-1~deb12u1', urgency: 'medium' }),
      ),
      'CVE-2026-1002': issue(bookworm({ status: 'resolved', fixed_version: '0', urgency: 'high' })),
    },
    lvm2: {
      'CVE-2026-2001': issue(bookworm({ status: 'resolved', fixed_version: '2.03.16-3', urgency: 'high' })),
    },
    bash: {
      'CVE-2026-3001': issue(bookworm({ status: 'open', urgency: 'not yet assigned' })),
      'CVE-2026-3002': issue(bookworm({ status: 'open', urgency: 'unimportant' })),
    },
    systemd: {
      'CVE-2026-4001': issue(
        bookworm({ status: 'resolved', fixed_version: '252.39-1~deb12u1', urgency: 'low' }),
      ),
    },
    'vsftpd; touch /pwned': {
      'CVE-2026-6001': issue(bookworm({ status: 'resolved', fixed_version: '9.9-1', urgency: 'high' })),
    },
    tar: {
      'CVE-2026-5001': issue(
        bookworm({ status: 'resolved', fixed_version: 'not a version!', urgency: 'high' }),
      ),
    },
    vsftpd: {
      'CVE-2026-7001': issue({
        trixie: { status: 'resolved', fixed_version: '9.9-1', urgency: 'high', repositories: {} },
      }),
    },
  };
}
