/**
 * `kernelParameter(key)` and `kernelModule(name)`: the live kernel (/proc/sys, /proc/modules) and its persisted
 * configuration (sysctl.d, modprobe.d). Live values are only observed on targets that run their own kernel: in a
 * chroot, /proc shows this machine's kernel, so reading it there throws rather than report the wrong machine.
 */
import { BulwarkError } from '../../errors.js';
import { normaliseValue } from '../../resources/sysctl.js';
import type { Facts, ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { EMIT_FILE_FN, execText, fileText, misuse, parseFileRecords, type ProbedFile } from './common.js';

/** Throws when the target's live kernel cannot be observed (a chroot, or no /proc/sys). */
function requireLiveKernel(facts: Facts, what: string): void {
  if (facts.liveKernel) return;
  throw new BulwarkError(
    'BULWARK_PROBE_FAILED',
    `cannot observe ${what} on this target: it is a chroot (its /proc shows this machine's kernel, not the ` +
      "target's) or has no /proc/sys. Check the persisted configuration instead, or audit the running system.",
  );
}

// sysctl --system's directories in priority order: a file name in an earlier one hides the same name in later ones.
const SYSCTL_DIRS = [
  '/etc/sysctl.d',
  '/run/sysctl.d',
  '/usr/local/lib/sysctl.d',
  '/usr/lib/sysctl.d',
  '/lib/sysctl.d',
];
const SYSCTL_SCRIPT = `${EMIT_FILE_FN}
for f in ${SYSCTL_DIRS.map((d) => `${d}/*.conf`).join(' ')} /etc/sysctl.conf; do
  if [ -f "$f" ] && [ -r "$f" ]; then F "$f"; fi
done
exit 0
`;

const MODPROBE_DIRS = [
  '/etc/modprobe.d',
  '/run/modprobe.d',
  '/usr/local/lib/modprobe.d',
  '/usr/lib/modprobe.d',
  '/lib/modprobe.d',
];
const MODPROBE_SCRIPT = `${EMIT_FILE_FN}
for f in ${MODPROBE_DIRS.map((d) => `${d}/*.conf`).join(' ')}; do
  if [ -f "$f" ] && [ -r "$f" ]; then F "$f"; fi
done
exit 0
`;

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const dirName = (path: string): string => path.slice(0, path.lastIndexOf('/'));

/**
 * Orders config files as `sysctl --system` and kmod do: of files with the same name the one in the earliest
 * directory wins, the winners are sorted by name, and `trailing` (e.g. /etc/sysctl.conf) comes last.
 */
export function orderConfigFiles(
  files: readonly ProbedFile[],
  dirs: readonly string[],
  trailing?: string,
): ProbedFile[] {
  const byName = new Map<string, ProbedFile>();
  const rank = (f: ProbedFile): number => dirs.indexOf(dirName(f.path));
  for (const f of files) {
    if (f.path === trailing || rank(f) < 0) continue;
    const seen = byName.get(baseName(f.path));
    if (seen === undefined || rank(f) < rank(seen)) byName.set(baseName(f.path), f);
  }
  const ordered = [...byName.values()].sort((a, b) => (baseName(a.path) < baseName(b.path) ? -1 : 1));
  const last = files.find((f) => f.path === trailing);
  return last === undefined ? ordered : [...ordered, last];
}

/** The settings of sysctl files applied in order: the last value of each key wins. Keys use dots. */
export function sysctlSettings(files: readonly ProbedFile[]): Map<string, { value: string; file: string }> {
  const settings = new Map<string, { value: string; file: string }>();
  for (const f of files) {
    for (const raw of f.content.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      // A leading `-` only says "ignore errors"; `/` separators are the same as dots.
      const key = line.slice(0, eq).trim().replace(/^-/, '').replaceAll('/', '.');
      settings.set(key, { value: normaliseValue(line.slice(eq + 1)), file: f.path });
    }
  }
  return settings;
}

/** The persisted sysctl settings of the target. */
export interface SysctlPersistedObservation {
  readonly settings: ReadonlyMap<string, { readonly value: string; readonly file: string }>;
}

/** The shared observer of every persisted sysctl setting. */
export const sysctlPersistedResource: AuditResource<SysctlPersistedObservation> = {
  type: 'sysctlPersisted',
  key: 'sysctlPersisted',
  label: 'persisted kernel parameters',
  probe() {
    return { files: { kind: 'exec', argv: ['/bin/sh', '-c', SYSCTL_SCRIPT], timeoutSec: 30 } };
  },
  read(results: ProbeResults) {
    const files = parseFileRecords(execText(results, 'files', 'sysctl configuration files'));
    return { settings: sysctlSettings(orderConfigFiles(files, SYSCTL_DIRS, '/etc/sysctl.conf')) };
  },
};

/** The live value of one kernel parameter. */
export interface KernelParameterObservation {
  /** Whitespace-normalised; undefined when the kernel has no such parameter. */
  readonly value: string | undefined;
}

/** What a control can check about a kernel parameter. */
export interface KernelParameterView {
  /** The live value, whitespace-normalised (`4096 87380 6291456`); undefined when the kernel has no such key. */
  readonly value: Subject<string | undefined>;
  /** The value the persisted configuration sets at boot (sysctl.d and /etc/sysctl.conf, last wins). */
  readonly persisted: Subject<string | undefined>;
  /** The file that sets the persisted value. */
  readonly persistedIn: Subject<string | undefined>;
  /**
   * The value in force: the live value on a live kernel; on a chroot target, whose live kernel is this machine's,
   * the persisted value, which is what the target's own kernel will get at boot.
   */
  readonly effective: Subject<string | undefined>;
}

const SYSCTL_KEY = /^[a-z0-9_]+([./][A-Za-z0-9_-]+)+$/;

/** Observes one kernel parameter, e.g. `net.ipv4.ip_forward`. */
export function kernelParameter(key: string): KernelParameterView {
  if (typeof key !== 'string' || !SYSCTL_KEY.test(key) || key.length > 200) {
    misuse(`kernelParameter() needs a sysctl key such as "net.ipv4.ip_forward", not ${JSON.stringify(key)}`);
  }
  const dotted = key.replaceAll('/', '.');
  const path = `/proc/sys/${dotted.replaceAll('.', '/')}`;
  const live: AuditResource<KernelParameterObservation> = {
    type: 'kernelParameter',
    key: `kernelParameter:${dotted}`,
    label: `kernel parameter ${dotted}`,
    probe() {
      return { live: { kind: 'file', path } };
    },
    read(results: ProbeResults, facts: Facts) {
      requireLiveKernel(facts, `the live value of kernel parameter ${dotted}`);
      const text = fileText(results, 'live', path);
      return { value: text === undefined ? undefined : normaliseValue(text) };
    },
  };
  const persisted: AuditResource<SysctlPersistedObservation> = {
    ...sysctlPersistedResource,
    label: `kernel parameter ${dotted}`,
  };
  const effective: AuditResource<KernelParameterObservation> = {
    type: 'kernelParameter',
    key: `kernelParameterEffective:${dotted}`,
    label: `kernel parameter ${dotted}`,
    probe() {
      return { live: { kind: 'file', path }, ...sysctlPersistedResource.probe() };
    },
    read(results: ProbeResults, facts: Facts) {
      if (!facts.liveKernel)
        return { value: sysctlPersistedResource.read(results, facts).settings.get(dotted)?.value };
      const text = fileText(results, 'live', path);
      return { value: text === undefined ? undefined : normaliseValue(text) };
    },
  };
  return {
    value: subject(live, 'value', (o) => o.value),
    effective: subject(effective, 'value', (o) => o.value),
    persisted: subject(persisted, 'persisted value', (o) => o.settings.get(dotted)?.value),
    persistedIn: subject(persisted, 'persisted in', (o) => o.settings.get(dotted)?.file),
  };
}

/** Names of the loaded modules, from /proc/modules. */
export function parseProcModules(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** A module name as the kernel knows it: `-` and `_` are the same. */
const canonicalModule = (name: string): string => name.replaceAll('-', '_');

/** What modprobe.d says of each module. */
export interface ModprobeObservation {
  /** Modules named by a `blacklist` line (canonical names). */
  readonly blacklist: ReadonlySet<string>;
  /** The `install` command of each module (canonical names); the first one wins, as in kmod. */
  readonly install: ReadonlyMap<string, string>;
}

/** Parses modprobe.d files: `blacklist NAME` and `install NAME COMMAND...` lines (with `\` continuations). */
export function parseModprobe(files: readonly ProbedFile[]): ModprobeObservation {
  const blacklist = new Set<string>();
  const install = new Map<string, string>();
  for (const f of files) {
    for (const raw of f.content.replace(/\\\n/g, ' ').split('\n')) {
      const words = raw.trim().split(/\s+/);
      const [verb, name] = words;
      if (name === undefined || verb === undefined || verb.startsWith('#')) continue;
      if (verb === 'blacklist') blacklist.add(canonicalModule(name));
      if (verb === 'install' && !install.has(canonicalModule(name))) {
        install.set(canonicalModule(name), words.slice(2).join(' '));
      }
    }
  }
  return { blacklist, install };
}

/** An install command that loads nothing: `/bin/true`, `/bin/false` (any path, any arguments). */
export function disablesModule(installCommand: string | undefined): boolean {
  return installCommand !== undefined && /^(\/usr)?\/bin\/(true|false)(\s|$)/.test(installCommand.trim());
}

/** The shared observer of modprobe.d. */
export const modprobeResource: AuditResource<ModprobeObservation> = {
  type: 'modprobeConfig',
  key: 'modprobeConfig',
  label: 'modprobe configuration',
  probe() {
    return { files: { kind: 'exec', argv: ['/bin/sh', '-c', MODPROBE_SCRIPT], timeoutSec: 30 } };
  },
  read(results: ProbeResults) {
    const files = parseFileRecords(execText(results, 'files', 'modprobe.d configuration files'));
    return parseModprobe(orderConfigFiles(files, MODPROBE_DIRS));
  },
};

/** The loaded kernel modules. */
export interface LoadedModulesObservation {
  readonly loaded: ReadonlySet<string>;
}

/** The shared observer of /proc/modules. */
export const loadedModulesResource: AuditResource<LoadedModulesObservation> = {
  type: 'kernelModules',
  key: 'kernelModules',
  label: 'kernel modules',
  probe() {
    return { modules: { kind: 'file', path: '/proc/modules' } };
  },
  read(results: ProbeResults, facts: Facts) {
    requireLiveKernel(facts, 'loaded kernel modules');
    const text = fileText(results, 'modules', '/proc/modules');
    // A kernel built without module support has no /proc/modules: nothing is loaded as a module.
    return { loaded: new Set(parseProcModules(text ?? '').map(canonicalModule)) };
  },
};

/** What a control can check about a kernel module. */
export interface KernelModuleView {
  /** True when the module is loaded now (live kernels only). */
  readonly loaded: Subject<boolean>;
  /** True when modprobe.d blacklists it or makes its install command /bin/true or /bin/false. */
  readonly blacklisted: Subject<boolean>;
  /** The module's `install` command from modprobe.d; undefined when none. */
  readonly installCommand: Subject<string | undefined>;
}

/** Observes one kernel module, e.g. `cramfs` or `usb-storage`. */
export function kernelModule(name: string): KernelModuleView {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    misuse(`kernelModule() needs a module name such as "usb_storage", not ${JSON.stringify(name)}`);
  }
  const canonical = canonicalModule(name);
  const label = `kernel module ${name}`;
  const loaded = { ...loadedModulesResource, label };
  const config = { ...modprobeResource, label };
  return {
    loaded: subject(loaded, 'loaded', (o) => o.loaded.has(canonical)),
    blacklisted: subject(
      config,
      'blacklisted',
      (o) => o.blacklist.has(canonical) || disablesModule(o.install.get(canonical)),
    ),
    installCommand: subject(config, 'install command', (o) => o.install.get(canonical)),
  };
}
