/**
 * The `securityUpdates` resource: upgrades exactly the installed binaries whose source packages have fixable
 * vulnerabilities, and nothing else, in one `apt-get install --only-upgrade` call (argv). What counts as fixable:
 * every pending upgrade from the Debian security suite (`apt-get -s upgrade`, offline, from the host's own lists),
 * plus, with a tracker feed, every vulnerable source whose fixed version apt can install. Observation is the same
 * single probe as `bulwark vulns`; a dry run lists each source with its binaries and versions. After the upgrade
 * the inventory is read again and each patch is reported as verified or still vulnerable.
 */
import { readFileSync, statSync } from 'node:fs';
import { compareDebianVersions } from '../audit/debversion.js';
import { BulwarkError, type Problem } from '../errors.js';
import { describeFailure } from '../transports/shell-transport.js';
import { inventoryOp, parseInventory } from '../vulns/inventory.js';
import { assessHost, meetsUrgency, readHostObservation, vulnsProbe, type Finding } from '../vulns/scan.js';
import { indexTrackerData } from '../vulns/tracker.js';
import { scanTrackerRelease } from '../vulns/tracker-scan.js';
import { isValidPackageName, URGENCY_RANK, type AdvisoryIndex, type Urgency } from '../vulns/types.js';
import type { Provider } from './types.js';
import { checkPath, problem } from './validate.js';

/** Props of a `securityUpdates` resource. */
export interface SecurityUpdatesProps {
  /**
   * Only patch sources whose most urgent issue is at least this urgent (Debian's rating from the feed). Updates
   * known only from the security suite carry no rating and are always applied.
   * @default every urgency
   */
  readonly minUrgency?: Urgency;
  /** Source or binary package names never upgraded by this resource (e.g. a kernel handled elsewhere). @default [] */
  readonly exclude?: readonly string[];
  /**
   * A Debian Security Tracker JSON file on the machine running Bulwark; its fixable issues are patched too when
   * apt can install the fixed version.
   * @default only the security suite's pending upgrades
   */
  readonly feed?: string;
}

/** The observed state: the findings that apply, and why apt could not be asked, if it could not. */
export interface SecurityUpdatesState {
  readonly findings: readonly Finding[];
  readonly aptProblems: readonly string[];
}

const URGENCIES = Object.keys(URGENCY_RANK) as Urgency[];

const APT_ARGV = [
  'env',
  'DEBIAN_FRONTEND=noninteractive',
  'apt-get',
  'install',
  '--only-upgrade',
  '-y',
  '-q',
  '-o',
  'DPkg::Lock::Timeout=120',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
];

// Long enough for a large upgrade.
const APT_TIMEOUT_MS = 1_800_000;

/** Feeds read by `read`, by path, size, mtime and release: read is called on every plan and converge. */
const feedCache = new Map<string, AdvisoryIndex>();

/** Loads the release's advisories from a tracker feed file (synchronously: `read` is synchronous). */
function loadFeed(path: string, release: string): AdvisoryIndex {
  let info;
  try {
    info = statSync(path);
  } catch (e) {
    throw new BulwarkError('BULWARK_USAGE', `cannot read the tracker feed ${path}: ${(e as Error).message}`);
  }
  const k = `${path}\0${info.size}\0${info.mtimeMs}\0${release}`;
  let index = feedCache.get(k);
  if (index === undefined) {
    index = indexTrackerData(scanTrackerRelease(readFileSync(path), release), { release }).advisories;
    feedCache.clear();
    feedCache.set(k, index);
  }
  return index;
}

/** True when a finding is patched by this resource. */
/** Whether a binary is excluded by its own name or by the signing template it was built from. */
function excluded(b: Finding['binaries'][number], exclude: ReadonlySet<string>): boolean {
  return exclude.has(b.name) || (b.signedTemplate !== undefined && exclude.has(b.signedTemplate));
}

function wanted(f: Finding, props: SecurityUpdatesProps): boolean {
  const exclude = new Set(props.exclude ?? []);
  if (exclude.has(f.source)) return false;
  // A kernel found under `linux` comes from linux-signed-amd64: excluding that name excludes it too.
  if (f.binaries.length > 0 && f.binaries.every((b) => excluded(b, exclude))) return false;
  const upgradable = f.fix === 'available' || Object.keys(f.securityUpdates).length > 0;
  return upgradable && meetsUrgency(f, props.minUrgency);
}

/** The binaries of a finding to upgrade, as apt-get words (`name:arch`, or `name` for `all`). */
function targetsOf(f: Finding, props: SecurityUpdatesProps): string[] {
  const exclude = new Set(props.exclude ?? []);
  const names = new Set<string>();
  for (const b of f.binaries) {
    if (excluded(b, exclude)) continue;
    if (f.fix === 'available' || Object.hasOwn(f.securityUpdates, b.name))
      names.add(b.arch === 'all' ? b.name : `${b.name}:${b.arch}`);
  }
  return [...names];
}

/** The one apt-get argv that applies every selected patch. */
export function upgradeArgv(findings: readonly Finding[], props: SecurityUpdatesProps): string[] {
  const targets = findings.filter((f) => wanted(f, props)).flatMap((f) => targetsOf(f, props));
  return [...APT_ARGV, ...[...new Set(targets)].sort()];
}

/** The version a finding must reach to count as patched. */
function goal(f: Finding): string | undefined {
  return f.fixedVersion;
}

/** The provider of `securityUpdates[NAME]`. */
export const securityUpdatesProvider: Provider<SecurityUpdatesProps, SecurityUpdatesState> = {
  type: 'securityUpdates',
  knownProps: ['minUrgency', 'exclude', 'feed'],

  validate(name, props) {
    const at = `securityUpdates[${name}]`;
    const found: Problem[] = [];
    if (props.minUrgency !== undefined && !URGENCIES.includes(props.minUrgency)) {
      found.push(problem(at, 'minUrgency', `must be one of ${URGENCIES.join(', ')}`));
    }
    if (props.exclude !== undefined) {
      if (!Array.isArray(props.exclude))
        found.push(problem(at, 'exclude', 'must be a list of package names'));
      else
        for (const n of props.exclude as unknown[]) {
          if (!isValidPackageName(n))
            found.push(problem(at, 'exclude', `${JSON.stringify(n)} is not a Debian package name`));
        }
    }
    if (props.feed !== undefined) {
      const p = checkPath(props.feed, at, 'feed', { file: true });
      if (p !== undefined) found.push(p);
    }
    return found;
  },

  probe: () => vulnsProbe(),

  read(_name, props, results, facts) {
    const observation = readHostObservation(results);
    const index = props.feed === undefined ? undefined : loadFeed(props.feed, facts.osCodename);
    return { findings: assessHost(observation, index), aptProblems: observation.aptProblems };
  },

  diff(_name, props, state) {
    if (state.aptProblems.length > 0) {
      throw new BulwarkError(
        'BULWARK_PROBE_FAILED',
        `cannot tell which security updates apt can install: ${state.aptProblems.join('; ')}`,
      );
    }
    return state.findings
      .filter((f) => wanted(f, props))
      .map((f) => {
        const ids = f.ids.length === 0 ? '' : `; ${f.ids.join(', ')}`;
        return {
          property: `${f.source} (${targetsOf(f, props).join(', ')})`,
          from: f.installedVersion,
          to: `${goal(f) ?? 'latest'}${ids}`,
        };
      });
  },

  async apply(_name, props, state, _changes, ctx) {
    const selected = state.findings.filter((f) => wanted(f, props));
    const argv = upgradeArgv(selected, props);
    if (argv.length === APT_ARGV.length) return;
    await ctx.run(argv, { timeoutMs: APT_TIMEOUT_MS });
    // Verify: read the inventory again and compare each source's versions with what it had to reach.
    const op = inventoryOp();
    if (op.kind !== 'exec') return;
    const r = await ctx.transport.exec(op.argv);
    if (r.exitCode !== 0) {
      ctx.warn(`could not verify the patches: dpkg-query ${describeFailure(r)}`);
      return;
    }
    const after = parseInventory(r.stdout.toString('utf8'));
    for (const f of selected) {
      const target = goal(f);
      const installed = after.bySource.get(f.source);
      const names = new Set(f.binaries.map((b) => b.name));
      const bins = (installed?.binaries ?? []).filter((b) => names.has(b.name));
      const behind = bins.filter((b) => {
        if (f.status === 'security-update') {
          const want = f.securityUpdates[b.name];
          return want !== undefined && compareDebianVersions(b.version, want) < 0;
        }
        return target !== undefined && compareDebianVersions(b.sourceVersion, target) < 0;
      });
      const label = `${f.source} ${target ?? ''}`.trim();
      if (behind.length === 0) ctx.warn(`verified: ${label} (${bins.map((b) => b.name).join(', ')})`);
      else
        ctx.warn(
          `still vulnerable: ${label}: ${behind.map((b) => `${b.name} ${b.version}`).join(', ')} not upgraded`,
        );
    }
  },
};
