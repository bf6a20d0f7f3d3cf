/**
 * A tiny local apt repository for tests, since test hosts have no network: real .deb files built with dpkg-deb on
 * this machine, a Packages and a Release file written here, and an apt source inside the host that points at them.
 * Test-only; imports the test host and Node built-ins.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestHost } from './host.js';

/** Where the repository lives inside the host. */
export const REPO_DIR = '/srv/bulwark-repo';

/** The apt source file that names the local repository, inside the host. */
export const REPO_SOURCE = '/etc/apt/sources.list.d/bulwark-test.list';

/** One package of the local repository. */
export interface TestPackage {
  /** Debian package name. */
  readonly name: string;
  /** Debian version, e.g. `1.0`. */
  readonly version: string;
  /** A `Depends:` field value. @default no dependencies */
  readonly depends?: string;
  /** Ship the conffile `/etc/bulwark-test/<name>.conf`, so that remove and purge leave different traces. @default false */
  readonly conffile?: boolean;
}

/** The file every test package installs; its name says which version is installed. */
export function payloadPath(name: string, version: string): string {
  return `/usr/share/bulwark-test/${name}-${version}`;
}

/** The conffile a package made with `conffile: true` installs. */
export function conffilePath(name: string): string {
  return `/etc/bulwark-test/${name}.conf`;
}

function buildDeb(pkg: TestPackage, workDir: string): Buffer {
  const dir = join(workDir, `${pkg.name}-${pkg.version}`);
  mkdirSync(join(dir, 'DEBIAN'), { recursive: true });
  const control = [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}`,
    'Architecture: all',
    'Maintainer: Bulwark Tests <tests@bulwark.invalid>',
    ...(pkg.depends === undefined ? [] : [`Depends: ${pkg.depends}`]),
    'Section: misc',
    'Priority: optional',
    `Description: Bulwark test package ${pkg.name}`,
  ];
  writeFileSync(join(dir, 'DEBIAN', 'control'), control.join('\n') + '\n');
  const payload = join(dir, payloadPath(pkg.name, pkg.version));
  mkdirSync(join(payload, '..'), { recursive: true });
  writeFileSync(payload, `${pkg.name} ${pkg.version}\n`);
  if (pkg.conffile === true) {
    const conf = join(dir, conffilePath(pkg.name));
    mkdirSync(join(conf, '..'), { recursive: true });
    writeFileSync(conf, `# ${pkg.name} configuration\n`);
    writeFileSync(join(dir, 'DEBIAN', 'conffiles'), `${conffilePath(pkg.name)}\n`);
  }
  const out = join(workDir, `${pkg.name}_${pkg.version}_all.deb`);
  const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', dir, out], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`dpkg-deb --build of ${pkg.name} ${pkg.version} failed: ${r.stderr}`);
  return readFileSync(out);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Options for {@link createLocalRepo}. */
export interface LocalRepoOptions {
  /**
   * Make the local repository the host's only apt source and drop the Debian lists. apt then no longer parses the
   * 50 MB Debian index on every call, which makes it about 40 times faster, but the base packages can no longer be
   * reinstalled.
   * @default false
   */
  readonly only?: boolean;
}

/**
 * Builds the given packages into a flat repository at {@link REPO_DIR} inside the host, adds {@link REPO_SOURCE}
 * and refreshes the index of that source only, so no network is touched and the host's Debian lists stay (unless
 * `only` is set). A second call replaces the repository's contents.
 */
export async function createLocalRepo(
  host: TestHost,
  packages: readonly TestPackage[],
  options: LocalRepoOptions = {},
): Promise<void> {
  const repo = join(host.root, REPO_DIR);
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true, mode: 0o755 });
  const work = mkdtempSync(join(tmpdir(), 'bulwark-apt-repo-'));
  try {
    const stanzas: string[] = [];
    for (const pkg of packages) {
      const deb = buildDeb(pkg, work);
      const file = `${pkg.name}_${pkg.version.replaceAll(':', '%3a')}_all.deb`;
      writeFileSync(join(repo, file), deb, { mode: 0o644 });
      stanzas.push(
        [
          `Package: ${pkg.name}`,
          `Version: ${pkg.version}`,
          'Architecture: all',
          'Maintainer: Bulwark Tests <tests@bulwark.invalid>',
          ...(pkg.depends === undefined ? [] : [`Depends: ${pkg.depends}`]),
          'Section: misc',
          'Priority: optional',
          `Filename: ./${file}`,
          `Size: ${deb.length}`,
          `SHA256: ${sha256(deb)}`,
          `Description: Bulwark test package ${pkg.name}`,
        ].join('\n'),
      );
    }
    const index = stanzas.map((s) => s + '\n').join('\n');
    writeFileSync(join(repo, 'Packages'), index, { mode: 0o644 });
    const release = [
      'Origin: bulwark-test',
      'Label: bulwark-test',
      'Suite: bulwark-test',
      'Codename: bulwark-test',
      `Date: ${new Date().toUTCString().replace('GMT', 'UTC')}`,
      'Architectures: all',
      'SHA256:',
      ` ${sha256(index)} ${Buffer.byteLength(index)} Packages`,
    ];
    writeFileSync(join(repo, 'Release'), release.join('\n') + '\n', { mode: 0o644 });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (options.only === true) {
    const parts = join(host.root, '/etc/apt/sources.list.d');
    for (const entry of readdirSync(parts)) rmSync(join(parts, entry), { recursive: true, force: true });
    writeFileSync(
      join(host.root, '/etc/apt/sources.list'),
      '# this test host uses only sources.list.d/bulwark-test.list\n',
    );
  }
  writeFileSync(join(host.root, REPO_SOURCE), `deb [trusted=yes] file:${REPO_DIR} ./\n`, { mode: 0o644 });
  // With `only`, a plain update also removes the lists of the sources that are gone.
  const limit =
    options.only === true
      ? []
      : [
          '-o',
          `Dir::Etc::sourcelist=${REPO_SOURCE.replace('/etc/apt/', '')}`,
          '-o',
          'Dir::Etc::sourceparts=-',
          '-o',
          'APT::Get::List-Cleanup=0',
        ];
  const r = await host.transport.exec(['apt-get', 'update', '-q', ...limit]);
  if (r.exitCode !== 0) {
    throw new Error(`apt-get update of the local repository failed (${r.exitCode}): ${r.stderr.toString()}`);
  }
}
