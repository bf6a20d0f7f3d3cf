/**
 * The cached Debian base root for tests and benches: built once with debootstrap, outside the repository, keyed by
 * everything that goes into it, and shared read-only by every test host as the lower layer of an overlay.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Packages every test root holds, beyond debootstrap's minbase. */
export const ROOT_PACKAGES: readonly string[] = [
  'ca-certificates',
  'dbus',
  'iproute2',
  'netbase',
  'openssh-server',
  'procps',
  'sudo',
  'systemd',
  'systemd-sysv',
  'vsftpd',
];

const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
// Bump when the recipe below changes, so every cache is rebuilt.
const RECIPE = 1;

/** Where cached roots live; outside the repository so a fresh clone reuses them. */
export function cacheDir(): string {
  return process.env['BULWARK_TEST_CACHE'] ?? '/var/cache/bulwark-test';
}

/** The key of the base root: a hash of the suite, mirror, package list and recipe version. */
export function rootKey(): string {
  const spec = JSON.stringify({ SUITE, MIRROR, packages: [...ROOT_PACKAGES].sort(), RECIPE });
  return createHash('sha256').update(spec).digest('hex').slice(0, 16);
}

function run(argv: readonly string[], what: string): void {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  const r = spawnSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `${what} failed (${r.status ?? r.signal}): ${r.stderr.slice(-3000)}${r.stdout.slice(-2000)}`,
    );
  }
}

/**
 * Returns the path of the base root, building it first when it is not cached. Building takes about a minute and
 * needs debootstrap and the Debian mirror; every later call is instant.
 */
export function ensureBaseRoot(log: (line: string) => void = () => undefined): string {
  const dir = join(cacheDir(), 'roots', `${SUITE}-${rootKey()}`);
  if (existsSync(join(dir, '.bulwark-complete'))) return dir;
  mkdirSync(join(cacheDir(), 'roots'), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  log(`building the ${SUITE} test root with debootstrap into ${dir} (once; cached afterwards)`);
  run(
    ['debootstrap', '--variant=minbase', `--include=${ROOT_PACKAGES.join(',')}`, SUITE, tmp, MIRROR],
    'debootstrap',
  );
  // A fixed host name and no machine id, so every copy starts alike.
  writeFileSync(join(tmp, 'etc/hostname'), 'testhost\n');
  writeFileSync(join(tmp, 'etc/machine-id'), '');
  writeFileSync(join(tmp, '.bulwark-complete'), `${new Date().toISOString()}\n`);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another process finished first: use its root.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, '.bulwark-complete'))) throw e;
  }
  return dir;
}
