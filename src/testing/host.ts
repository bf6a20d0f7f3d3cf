/**
 * Disposable test hosts: an overlayfs copy of the cached Debian root with its own network, PID, mount and UTS
 * namespaces, so services really start, listen and stop without touching this machine or other tests. A host can
 * also be booted with systemd as its PID 1 through systemd-nspawn. Test-only; imports transports and Node built-ins.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChrootTransport } from '../transports/chroot.js';
import type { ExecResult } from '../transports/transport.js';
import { cacheDir, ensureBaseRoot } from './root.js';

/** Options for a test host. */
export interface TestHostOptions {
  /** Boot the root with systemd as PID 1 (systemd-nspawn -b) instead of a bare namespace. @default false */
  readonly systemd?: boolean;
}

/** One disposable test host. */
export interface TestHost {
  readonly id: string;
  /** The merged overlay directory: the host's root as seen from this machine. */
  readonly root: string;
  /** The network namespace name (under /run/netns). */
  readonly netns: string;
  /** PID, on this machine, of the host's first process; the transport enters its namespaces. */
  readonly pid: number;
  /** A transport that runs commands inside the host (its namespaces and root). */
  readonly transport: ChrootTransport;
  /**
   * argv prefix that runs a program of this machine inside the host's namespaces, but not its root: network, host
   * name, and for a bare host also its PID and mount namespaces (where `chroot:ROOT` reaches the host).
   */
  readonly enter: readonly string[];
  /** Runs a shell script inside the host and returns its result (never throws on a non-zero exit). */
  sh(script: string): Promise<ExecResult>;
  /** Stops everything in the host and removes it; safe to call twice. */
  destroy(): Promise<void>;
}

const HOSTS_DIR = (): string => join(cacheDir(), 'hosts');

function must(argv: readonly string[]): string {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  const r = spawnSync(file, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`test host: timed out waiting for ${what}`);
    await sleep(20);
  }
}

function findDescendant(pid: number, name: string): number | undefined {
  for (const c of childrenOf(pid)) {
    if (comm(c) === name) return c;
    const d = findDescendant(c, name);
    if (d !== undefined) return d;
  }
  return undefined;
}

function isMounted(dir: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir);
}

function unmount(dir: string): void {
  for (let i = 0; i < 50 && isMounted(dir); i++) {
    if (spawnSync('umount', [dir]).status === 0) return;
    spawnSync('sleep', ['0.1']);
  }
  if (isMounted(dir)) spawnSync('umount', ['-l', dir]);
}

function ownerAlive(hostDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(hostDir, 'owner'), 'utf8'));
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`);
  } catch {
    return false;
  }
}

/**
 * Removes hosts left behind by a run that was killed: their mounts, network namespaces and files. Hosts whose
 * owning process still runs (another test run on this machine) are left alone.
 */
export function cleanupStaleHosts(): void {
  const dir = HOSTS_DIR();
  if (!existsSync(dir)) return;
  for (const id of readdirSync(dir)) {
    const hostDir = join(dir, id);
    if (ownerAlive(hostDir)) continue;
    unmount(join(hostDir, 'merged'));
    spawnSync('ip', ['netns', 'del', `bwt-${id}`]);
    rmSync(hostDir, { recursive: true, force: true });
  }
}

/** Creates a test host from the cached base root. Call `destroy` when done (tests: in `t.after`). */
export async function createTestHost(options: TestHostOptions = {}): Promise<TestHost> {
  const base = ensureBaseRoot();
  const id = randomBytes(4).toString('hex');
  const dir = join(HOSTS_DIR(), id);
  const root = join(dir, 'merged');
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const netns = `bwt-${id}`;
  let anchor: ReturnType<typeof spawn> | undefined;
  let destroyed = false;
  let hostPid: number | undefined;

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    if (anchor?.pid !== undefined && anchor.exitCode === null) {
      const exited = new Promise((resolve) => anchor?.once('exit', resolve));
      // Killing the first process of a PID namespace ends every process in it; nspawn shuts systemd down on TERM.
      if (options.systemd === true) anchor.kill('SIGTERM');
      else if (hostPid !== undefined) process.kill(hostPid, 'SIGKILL');
      else anchor.kill('SIGKILL');
      const done = await Promise.race([
        exited.then(() => true),
        sleep(15_000, undefined, { ref: false }).then(() => false),
      ]);
      if (!done) {
        anchor.kill('SIGKILL');
        await exited;
      }
    }
    unmount(root);
    spawnSync('ip', ['netns', 'del', netns]);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    must([
      'mount',
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${base},upperdir=${dir}/upper,workdir=${dir}/work`,
      root,
    ]);
    must(['ip', 'netns', 'add', netns]);
    must(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    let pid: number;
    if (options.systemd === true) {
      // nspawn needs a tmpfs at /run/systemd/nspawn and no system bus; a private mount namespace gives it the
      // first without changing this machine, and --keep-unit --register=no avoid the second.
      const nspawn = [
        'systemd-nspawn',
        '-q',
        '-b',
        '-D',
        root,
        `--network-namespace-path=/run/netns/${netns}`,
        `--machine=${netns}`,
        '--register=no',
        '--keep-unit',
      ]
        .map((w) => `'${w}'`)
        .join(' ');
      anchor = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '/bin/sh',
          '-c',
          `mkdir -p /run/systemd/nspawn && mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn && exec ${nspawn}`,
        ],
        { stdio: 'ignore' },
      );
      const top = anchor.pid ?? 0;
      pid = await waitFor('systemd to start', 30_000, () => findDescendant(top, 'systemd'));
    } else {
      const boot = `echo ${netns} > /proc/sys/kernel/hostname; mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts; exec sleep infinity`;
      anchor = spawn(
        'nsenter',
        [
          `--net=/run/netns/${netns}`,
          'unshare',
          '--fork',
          '--pid',
          '--mount',
          '--uts',
          '--propagation',
          'private',
          `--mount-proc=${root}/proc`,
          'chroot',
          root,
          '/bin/sh',
          '-c',
          boot,
        ],
        { stdio: 'ignore' },
      );
      const unsharePid = anchor.pid ?? 0;
      pid = await waitFor('the host to start', 10_000, () => {
        const child = childrenOf(unsharePid)[0];
        return child !== undefined && comm(child) === 'sleep' ? child : undefined;
      });
    }
    hostPid = pid;
    // A bare host's mount namespace still shows this machine's files (its root is only chroot'ed), so a program of
    // this machine can run there; a systemd host's mount namespace is the container's own, so only its network
    // and host name are entered.
    const enter =
      options.systemd === true
        ? ['nsenter', '-t', String(pid), '-u', '-n']
        : ['nsenter', '-t', String(pid), '-m', '-u', '-n', '-p'];
    const transport = new ChrootTransport(root, {
      enter: ['nsenter', '-t', String(pid), '-m', '-u', '-n', '-p', '-r', '-w'],
      name: `chroot:${root}`,
    });
    if (options.systemd === true) {
      await waitFor('systemd to boot', 60_000, () =>
        existsSync(`/proc/${pid}/root/run/systemd/system`) ? true : undefined,
      );
      for (let i = 0; i < 300; i++) {
        const r = await transport.exec(['systemctl', 'is-system-running']);
        const state = r.stdout.toString().trim();
        if (state === 'running' || state === 'degraded') break;
        await sleep(100);
      }
    } else {
      // The anchor must have entered the root before commands follow it in.
      await waitFor('the host root', 5_000, () => {
        try {
          return readlinkSync(`/proc/${pid}/root`) === root ? true : undefined;
        } catch {
          return undefined;
        }
      });
    }
    return {
      id,
      root,
      netns,
      pid,
      transport,
      enter,
      sh: (script) => transport.exec(['/bin/sh', '-c', script]),
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** Creates a test host for one test and registers its `destroy` with the test's `after` hook. */
export async function useTestHost(
  t: { after(fn: () => unknown): void },
  options?: TestHostOptions,
): Promise<TestHost> {
  const host = await createTestHost(options);
  t.after(() => host.destroy());
  return host;
}
