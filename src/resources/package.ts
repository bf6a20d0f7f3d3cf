/**
 * The `package` resource: Debian packages installed, removed, purged or upgraded through apt. It observes every name
 * with one dpkg-query (plus one apt-cache policy for upgrades) and changes them all with one apt-get call, always
 * as argv, so a package name never reaches a shell.
 */
import { BulwarkError, type Problem } from '../errors.js';
import { describeFailure } from '../transports/shell-transport.js';
import type { ApplyContext, Change, ProbeOp, ProbeResult, ProbeResults, Provider } from './types.js';
import { problem } from './validate.js';

/** What the resource does with its packages. */
export type PackageAction = 'install' | 'remove' | 'purge' | 'upgrade';

/** Props of a `package` resource. */
export interface PackageProps {
  /**
   * Debian package names, each optionally with an architecture such as `libc6:amd64`; the resource name is
   * `names.join(',')`.
   */
  readonly names: readonly string[];
  /**
   * `install` installs missing packages, `remove` removes installed ones but keeps their conffiles, `purge` removes
   * them with their conffiles, `upgrade` installs or upgrades each to apt's candidate version.
   * @default 'install'
   */
  readonly action?: PackageAction;
  /**
   * The exact version to install, only with `install` and one name; another installed version is replaced, even
   * when that means a downgrade.
   * @default any version
   */
  readonly version?: string;
}

/** What the host knows about one requested package. */
export interface PackageInfo {
  /**
   * dpkg's status word (`installed`, `config-files`, `half-configured`, `triggers-pending`...), or `unknown` when dpkg
   * has no record of the package.
   */
  readonly status: string;
  /** The version dpkg records (installed, or the one whose conffiles remain), or null. */
  readonly version: string | null;
  /** apt's candidate version, or null when apt has none or it was not asked (only upgrades ask). */
  readonly candidate: string | null;
}

/** The observed state: one entry per requested name. */
export interface PackageState {
  readonly packages: Readonly<Record<string, PackageInfo>>;
}

const ACTIONS: readonly PackageAction[] = ['install', 'remove', 'purge', 'upgrade'];

// Debian policy 5.6.1 for the name, plus the `:arch` qualifier dpkg and apt accept.
const NAME = /^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9][a-z0-9-]*)?$/;

// deb-version(7): [epoch:]upstream[-revision]; upstream starts with a digit; no colons without an epoch.
const VERSION = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/;

// Statuses in which the package's files are in place and configured.
const INSTALLED = new Set(['installed', 'triggers-awaiting', 'triggers-pending']);

const DPKG_FORMAT = '-f=${Package}\\t${Architecture}\\t${db:Status-Status}\\t${Version}\\n';

const APT_COMMON = ['-y', '-q', '-o', 'DPkg::Lock::Timeout=120'];

const APT_INSTALL = [
  '--no-install-recommends',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
];

// Long enough for a large install over a slow mirror.
const APT_TIMEOUT_MS = 1_800_000;

function actionOf(props: PackageProps): PackageAction {
  return props.action ?? 'install';
}

function isInstalled(info: PackageInfo): boolean {
  return INSTALLED.has(info.status);
}

function baseName(name: string): string {
  return name.split(':')[0] ?? name;
}

function archOf(name: string): string | undefined {
  return name.split(':')[1];
}

// Orders a version's non-digit run the way dpkg does: `~` before the end, the end before letters, letters before
// everything else.
function charOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let x = a;
  let y = b;
  while (x !== '' || y !== '') {
    const xs = /^\D*/.exec(x)?.[0] ?? '';
    const ys = /^\D*/.exec(y)?.[0] ?? '';
    for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
      const d = charOrder(xs[i]) - charOrder(ys[i]);
      if (d !== 0) return d;
    }
    x = x.slice(xs.length);
    y = y.slice(ys.length);
    const xd = (/^\d*/.exec(x)?.[0] ?? '').replace(/^0+/, '');
    const yd = (/^\d*/.exec(y)?.[0] ?? '').replace(/^0+/, '');
    if (xd.length !== yd.length) return xd.length - yd.length;
    if (xd !== yd) return xd < yd ? -1 : 1;
    x = x.replace(/^\d*/, '');
    y = y.replace(/^\d*/, '');
  }
  return 0;
}

function splitVersion(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash < 0
    ? { epoch, upstream: rest, revision: '' }
    : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

/** Compares two Debian versions as dpkg does: negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareDebianVersions(a: string, b: string): number {
  const x = splitVersion(a);
  const y = splitVersion(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return comparePart(x.upstream, y.upstream) || comparePart(x.revision, y.revision);
}

/**
 * The keys by which two package resources name the same packages: each name as given, lowercased (an `:arch`
 * qualifier stays part of the name).
 */
export function packageKeys(names: readonly string[]): string[] {
  return names.map((n) => n.toLowerCase());
}

/** Parses dpkg-query output (`Package\tArchitecture\tStatus\tVersion` lines) into the info of each requested name. */
export function parseDpkgQuery(output: string, names: readonly string[]): Record<string, PackageInfo> {
  const rows = output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [pkg = '', arch = '', status = '', version = ''] = line.split('\t');
      return { pkg, arch, status, version };
    });
  const rank = (status: string): number => (INSTALLED.has(status) ? 3 : status === 'not-installed' ? 1 : 2);
  const infos: Record<string, PackageInfo> = {};
  for (const name of names) {
    const arch = archOf(name);
    const matches = rows
      .filter((r) => r.pkg === baseName(name) && (arch === undefined || r.arch === arch))
      .sort((a, b) => rank(b.status) - rank(a.status));
    const best = matches[0];
    infos[name] =
      best === undefined
        ? { status: 'unknown', version: null, candidate: null }
        : { status: best.status, version: best.version === '' ? null : best.version, candidate: null };
  }
  return infos;
}

/** Parses `apt-cache policy` output into the candidate version of each requested name (null for none). */
export function parseAptPolicy(output: string, names: readonly string[]): Record<string, string | null> {
  const candidates = new Map<string, string | null>();
  let current: string | undefined;
  for (const line of output.split('\n')) {
    const header = /^(\S+):$/.exec(line);
    if (header?.[1] !== undefined) {
      current = header[1];
      continue;
    }
    const candidate = /^\s+Candidate:\s*(\S+)\s*$/.exec(line);
    if (current !== undefined && candidate?.[1] !== undefined) {
      candidates.set(current, candidate[1] === '(none)' ? null : candidate[1]);
    }
  }
  const result: Record<string, string | null> = {};
  for (const name of names) result[name] = candidates.get(name) ?? candidates.get(baseName(name)) ?? null;
  return result;
}

/** One package that must change, with the word apt-get is given for it. */
interface Step {
  readonly change: Change;
  readonly target: string;
}

// What a package that is not installed has left: nothing, its conffiles, or a broken install (dpkg's word for it).
function describeAbsent(status: string): string | null {
  return status === 'unknown' || status === 'not-installed' ? null : status;
}

function plan(props: PackageProps, state: PackageState): Step[] {
  const steps: Step[] = [];
  for (const name of props.names) {
    const info = state.packages[name] ?? { status: 'unknown', version: null, candidate: null };
    const present = isInstalled(info);
    const from = present ? info.version : describeAbsent(info.status);
    switch (actionOf(props)) {
      case 'install':
        if (!present) {
          steps.push({
            change: { property: `installed[${name}]`, from, to: props.version ?? 'latest' },
            target: props.version === undefined ? name : `${name}=${props.version}`,
          });
        } else if (props.version !== undefined && info.version !== props.version) {
          steps.push({
            change: { property: `version[${name}]`, from: info.version, to: props.version },
            target: `${name}=${props.version}`,
          });
        }
        break;
      case 'remove':
        // Anything dpkg has files of, other than leftover conffiles, is removed; broken installs included.
        if (info.status !== 'unknown' && info.status !== 'not-installed' && info.status !== 'config-files') {
          steps.push({
            change: { property: `installed[${name}]`, from: info.version, to: null },
            target: name,
          });
        }
        break;
      case 'purge':
        if (info.status !== 'unknown' && info.status !== 'not-installed') {
          steps.push({ change: { property: `installed[${name}]`, from, to: null }, target: name });
        }
        break;
      case 'upgrade': {
        const target = info.candidate === null ? name : `${name}=${info.candidate}`;
        if (!present) {
          steps.push({
            change: { property: `installed[${name}]`, from, to: info.candidate ?? 'latest' },
            target,
          });
        } else if (
          info.candidate !== null &&
          info.version !== null &&
          compareDebianVersions(info.version, info.candidate) < 0
        ) {
          steps.push({
            change: { property: `version[${name}]`, from: info.version, to: info.candidate },
            target,
          });
        }
        break;
      }
    }
  }
  return steps;
}

function requireProbe(
  results: ProbeResults,
  key: string,
  what: string,
  okCodes: readonly number[],
): ProbeResult {
  const r = results[key];
  if (r === undefined)
    throw new BulwarkError('BULWARK_PROBE_FAILED', `the probe returned no result for ${what}`);
  if (!okCodes.includes(r.exitCode)) {
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `${what} exited ${r.exitCode}: ${r.stderr.toString('utf8').trim().slice(0, 1000)}`,
    );
  }
  return r;
}

function tail(text: string, max: number): string {
  const t = text.trim();
  return t.length <= max ? t : `...${t.slice(-max)}`;
}

function aptArgv(action: PackageAction, targets: readonly string[], downgrade: boolean): string[] {
  switch (action) {
    case 'install':
    case 'upgrade':
      return [
        'apt-get',
        'install',
        ...APT_COMMON,
        ...APT_INSTALL,
        ...(downgrade ? ['--allow-downgrades'] : []),
        ...targets,
      ];
    case 'remove':
      return ['apt-get', 'remove', ...APT_COMMON, ...targets];
    case 'purge':
      return ['apt-get', 'purge', ...APT_COMMON, ...targets];
  }
}

/** The provider of `package[names]`. */
export const packageProvider: Provider<PackageProps, PackageState> = {
  type: 'package',
  knownProps: ['names', 'action', 'version'],

  validate(name, props) {
    const at = `package[${name}]`;
    const problems: Problem[] = [];
    const bad = (property: string, message: string): void => {
      problems.push(problem(at, property, message));
    };
    const names: unknown = props.names;
    if (!Array.isArray(names) || names.length === 0) {
      bad('names', 'names must be a non-empty array of Debian package names, e.g. ["vsftpd"]');
    } else {
      const seen = new Set<string>();
      for (const n of names as unknown[]) {
        if (typeof n !== 'string') {
          bad('names', `every name must be a string, found ${typeof n}`);
        } else if (n.length > 200 || !NAME.test(n)) {
          bad(
            'names',
            `${JSON.stringify(n)} is not a Debian package name: use lowercase letters, digits and + . - ` +
              '(at least two characters, starting with a letter or digit), optionally followed by :arch',
          );
        } else if (seen.has(n)) {
          bad('names', `${n} is listed twice`);
        }
        if (typeof n === 'string') seen.add(n);
      }
    }
    const action: unknown = props.action;
    if (action !== undefined && !ACTIONS.includes(action as PackageAction)) {
      bad('action', `action must be one of ${ACTIONS.join(', ')}, found ${JSON.stringify(action)}`);
    }
    const version: unknown = props.version;
    if (version !== undefined) {
      if (
        typeof version !== 'string' ||
        version.length > 200 ||
        !VERSION.test(version) ||
        version.endsWith('-')
      ) {
        bad(
          'version',
          `${JSON.stringify(version)} is not a Debian version: expected [epoch:]upstream[-revision] made of ` +
            'letters, digits and . + ~ -, starting with a digit, e.g. 3.0.3-13+b2',
        );
      }
      if (action !== undefined && action !== 'install') {
        bad('version', `version can only be pinned with action install, not ${String(action)}`);
      }
      if (Array.isArray(names) && names.length !== 1) {
        bad(
          'version',
          'version can only be pinned for a single package name; declare one resource per package',
        );
      }
    }
    return problems;
  },

  probe(_name, props) {
    const ops: Record<string, ProbeOp> = {
      dpkg: { kind: 'exec', argv: ['dpkg-query', '-W', DPKG_FORMAT, ...props.names], timeoutSec: 60 },
    };
    if (actionOf(props) === 'upgrade') {
      ops['policy'] = { kind: 'exec', argv: ['apt-cache', 'policy', ...props.names], timeoutSec: 120 };
    }
    return ops;
  },

  read(_name, props, results) {
    // dpkg-query exits 1 when some name is unknown to dpkg; the others are still listed.
    const dpkg = requireProbe(results, 'dpkg', 'dpkg-query', [0, 1]);
    const packages = parseDpkgQuery(dpkg.stdout.toString('utf8'), props.names);
    if (actionOf(props) === 'upgrade') {
      const policy = requireProbe(results, 'policy', 'apt-cache policy', [0]);
      const candidates = parseAptPolicy(policy.stdout.toString('utf8'), props.names);
      for (const name of props.names) {
        const info = packages[name];
        if (info !== undefined) packages[name] = { ...info, candidate: candidates[name] ?? null };
      }
    }
    return { packages };
  },

  diff(_name, props, state) {
    return plan(props, state).map((s) => s.change);
  },

  async apply(name, props, state, _changes, ctx: ApplyContext) {
    const steps = plan(props, state);
    if (steps.length === 0) return;
    const action = actionOf(props);
    const targets = steps.map((s) => s.target);
    const argv = aptArgv(action, targets, props.version !== undefined);
    await ctx.run(argv, {
      timeoutMs: APT_TIMEOUT_MS,
      failure: (r) => {
        const how = describeFailure({ ...r, stderr: Buffer.alloc(0) });
        const output = r.stderr.toString('utf8').trim() || r.stdout.toString('utf8');
        const hint =
          action === 'install' || action === 'upgrade'
            ? 'Check the names and versions (apt-cache policy NAME on the host) and that the apt index is current ' +
              '(an aptUpdate resource before this one).'
            : 'Check the output above; a package other packages depend on may need those removed first.';
        return new BulwarkError(
          'BULWARK_APPLY_FAILED',
          `package[${name}]: apt-get ${argv[1]} of ${targets.join(' ')} on ${ctx.transport.target} ${how}: ` +
            `${tail(output, 1500)}\n${hint}`,
        );
      },
    });
  },
};
