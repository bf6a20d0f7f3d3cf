/**
 * Scanning one host for missing patches. One probe round trip observes the installed packages (inventory), the
 * host facts, what `apt-get -s upgrade` would install from a suite labelled `Debian-Security` (the offline source
 * of vulnerability data: it needs nothing but the host's own apt lists) and apt's candidate version and candidate
 * *source* version of every installed binary. The inventory is then matched against advisories (tracker, OSV) and
 * each vulnerable source package becomes a `Finding`: installed and fixed versions, ids, urgency, and whether
 * the fix is available from the host's configured sources (candidate source version at or above the fixed one).
 * Parsing and assessment are pure and shared with the `securityUpdates` resource; `scanHost` adds the I/O, and on
 * request a second round trip that reads the CVE ids from the candidates' changelogs (changelog.ts).
 */
import { monotonicMs } from '../builtins.js';
import { compareDebianVersions, isValidDebianVersion } from '../audit/debversion.js';
import type { AuditHost } from '../audit/types.js';
import { runProbe } from '../engine/probe.js';
import { BulwarkError, isBulwarkError } from '../errors.js';
import type { Facts, ProbeOp, ProbeRequest, ProbeResult, ProbeResults } from '../resources/types.js';
import type { Transport } from '../transports/transport.js';
import { builtFrom, INVENTORY_OP_ID, inventoryOp, readInventory, type Inventory } from './inventory.js';
import type { ChangelogIds } from './changelog.js';
import { matchInventory } from './match.js';
import { findingResult } from './report.js';
import {
  URGENCY_RANK,
  addToIndex,
  isValidPackageName,
  type Advisory,
  type AdvisoryIndex,
  type AdvisoryStatus,
  type Urgency,
} from './types.js';
import type { AuditResult } from '../audit/types.js';

/** The probe op id of the simulated upgrade. */
export const APT_SIMULATE_OP_ID = 'vulns:apt-simulate';

/** The probe op id of the candidate versions. */
export const APT_CANDIDATES_OP_ID = 'vulns:apt-candidates';

/**
 * What apt would install on `apt-get upgrade`, without doing it. `-s` takes no lock, needs no root and changes
 * nothing; LC_ALL=C keeps the output untranslated.
 */
export const APT_SIMULATE_ARGV: readonly string[] = [
  'env',
  'LC_ALL=C',
  'apt-get',
  '-s',
  '-q',
  '-o',
  'Debug::NoLocking=1',
  '-o',
  'APT::Get::Show-User-Simulation-Note=false',
  'upgrade',
];

/**
 * apt's candidate record of every installed binary, reduced to the five fields that matter. A fixed script with no
 * values in it: the package names flow from dpkg-query to apt-cache through a pipe, never through a shell word.
 * The candidate's `Source:` field gives the candidate *source* version, which is what fixed versions refer to;
 * `Built-Using` gives it for signed binaries (see `builtFrom`).
 */
export const APT_CANDIDATES_SCRIPT = `dpkg-query -W -f '\${db:Status-Status} \${binary:Package}\\n' |
  awk '$1 != "not-installed" && $1 != "config-files" { print $2 }' |
  LC_ALL=C xargs -r apt-cache show --no-all-versions 2>/dev/null |
  grep -E '^(Package|Architecture|Version|Source|Built-Using):|^$'
exit 0
`;

/** The probe ops of a vulnerability scan. */
export function vulnsProbe(options: { readonly admindir?: string } = {}): ProbeRequest {
  const inventory = inventoryOp(options.admindir === undefined ? {} : { admindir: options.admindir });
  // apt looks at the running system's dpkg database; with another admindir its answers would not match.
  if (options.admindir !== undefined) return { [INVENTORY_OP_ID]: inventory };
  return {
    [INVENTORY_OP_ID]: inventory,
    [APT_SIMULATE_OP_ID]: { kind: 'exec', argv: APT_SIMULATE_ARGV, timeoutSec: 300 },
    [APT_CANDIDATES_OP_ID]: {
      kind: 'exec',
      argv: ['/bin/sh', '-c', APT_CANDIDATES_SCRIPT],
      timeoutSec: 300,
    },
  };
}

/** One release an upgrade's candidate comes from, as `apt-get -s` names it (`Debian-Security:12/stable-security`). */
export interface UpgradeOrigin {
  /** The release's label, e.g. `Debian-Security` (apt prints the origin when there is no label). */
  readonly label: string;
  readonly version: string;
  /** The archive (suite), e.g. `stable-security`, `bookworm-security`. */
  readonly archive: string;
}

/** One `Inst` line of `apt-get -s upgrade`. */
export interface PendingUpgrade {
  /** The binary package name (without architecture). */
  readonly name: string;
  /** The architecture when apt printed one with the name (foreign packages), else undefined. */
  readonly arch?: string;
  /** The installed version; undefined for a package the upgrade newly installs. */
  readonly installed?: string;
  readonly candidate: string;
  readonly origins: readonly UpgradeOrigin[];
  /** True when one of the origins is a Debian security suite. */
  readonly security: boolean;
}

/** True when a release is a Debian security suite: labelled `Debian-Security` or an archive named `*-security`. */
export function isSecurityOrigin(o: UpgradeOrigin): boolean {
  return o.label === 'Debian-Security' || /-security$/.test(o.archive);
}

const INST = /^Inst (\S+)(?: \[([^\]\s]+)\])? \((\S+) (.*?) ?\[([^\]]+)\]\)/;

/**
 * Parses one origin list such as `Debian:12.15/oldstable, Debian-Security:12/oldstable-security`. A release
 * without a `Version` field is printed without one: `Debian-Security:bookworm-security`.
 */
function parseOrigins(text: string): UpgradeOrigin[] {
  const out: UpgradeOrigin[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([^:\s]*):(?:([^/\s]*)\/)?(\S*)\s*$/.exec(part);
    if (m !== null) out.push({ label: m[1] ?? '', version: m[2] ?? '', archive: m[3] ?? '' });
  }
  return out;
}

/**
 * Parses the `Inst` lines of `apt-get -s upgrade`: `Inst pkg [old] (new Label:Version/Archive, ... [arch])`. Lines
 * whose name or versions are not valid Debian ones are left out, so nothing odd from the output is used later.
 */
export function parseAptSimulation(text: string): PendingUpgrade[] {
  const out: PendingUpgrade[] = [];
  for (const line of text.split('\n')) {
    const m = INST.exec(line);
    if (m === null) continue;
    const [, full = '', installed, candidate = '', originText = ''] = m;
    const [name = '', arch] = full.split(':');
    if (!isValidPackageName(name) || !isValidDebianVersion(candidate)) continue;
    if (installed !== undefined && !isValidDebianVersion(installed)) continue;
    if (arch !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(arch)) continue;
    const origins = parseOrigins(originText);
    out.push({
      name,
      ...(arch === undefined ? {} : { arch }),
      ...(installed === undefined ? {} : { installed }),
      candidate,
      origins,
      security: origins.some(isSecurityOrigin),
    });
  }
  return out;
}

/** apt's candidate of one installed binary. */
export interface Candidate {
  readonly name: string;
  readonly arch: string;
  /** The candidate binary version. */
  readonly version: string;
  /** The source package the candidate is built from (for a signed binary: the source it signs). */
  readonly source: string;
  /**
   * The candidate's source version (from `Source: name (version)`, else the binary version; for a signed binary
   * the version in its `Built-Using`).
   */
  readonly sourceVersion: string;
}

/** Candidates keyed `name:arch`. */
export type Candidates = ReadonlyMap<string, Candidate>;

/** Parses the records `APT_CANDIDATES_SCRIPT` prints. Invalid records are left out. */
export function parseCandidates(text: string): Map<string, Candidate> {
  const out = new Map<string, Candidate>();
  const flush = (fields: Map<string, string>): void => {
    const name = fields.get('Package');
    const arch = fields.get('Architecture');
    const version = fields.get('Version');
    if (name === undefined || arch === undefined || version === undefined) return;
    if (!isValidPackageName(name) || !isValidDebianVersion(version) || !/^[a-z0-9][a-z0-9-]*$/.test(arch))
      return;
    const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(fields.get('Source') ?? name);
    const ownSource = m?.[1] ?? name;
    const ownVersion = m?.[2] ?? version;
    if (!isValidPackageName(ownSource) || !isValidDebianVersion(ownVersion)) return;
    const { source, sourceVersion } = builtFrom(ownSource, ownVersion, fields.get('Built-Using') ?? '');
    out.set(`${name}:${arch}`, { name, arch, version, source, sourceVersion });
  };
  let fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      flush(fields);
      fields = new Map();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  flush(fields);
  return out;
}

/** Everything one scan observed on a host. */
export interface HostObservation {
  readonly inventory: Inventory;
  /** The `Inst` lines of `apt-get -s upgrade`; undefined when apt was not asked or failed (see `aptProblems`). */
  readonly pending?: readonly PendingUpgrade[];
  /** apt's candidates; undefined when apt was not asked or failed. */
  readonly candidates?: Candidates;
  /** Why an apt observation is missing, one sentence each. */
  readonly aptProblems: readonly string[];
}

function failure(r: ProbeResult, what: string): string {
  const how = r.exitCode === 124 ? 'timed out' : `exited ${r.exitCode}`;
  const err = r.stderr.toString('utf8').trim().split('\n').slice(-3).join(' ').slice(0, 500);
  return `${what} ${how}${err === '' ? '' : `: ${err}`}`;
}

/** Reads the results of `vulnsProbe` (pure). Throws only when the inventory cannot be read. */
export function readHostObservation(results: ProbeResults): HostObservation {
  const inventory = readInventory(results);
  const aptProblems: string[] = [];
  const sim = results[APT_SIMULATE_OP_ID];
  const cand = results[APT_CANDIDATES_OP_ID];
  let pending: PendingUpgrade[] | undefined;
  let candidates: Map<string, Candidate> | undefined;
  if (sim !== undefined) {
    if (sim.exitCode === 0) pending = parseAptSimulation(sim.stdout.toString('utf8'));
    else aptProblems.push(failure(sim, 'apt-get -s upgrade'));
  }
  if (cand !== undefined) {
    const parsed = parseCandidates(cand.stdout.toString('utf8'));
    if (cand.exitCode === 0 && (parsed.size > 0 || inventory.packages.length === 0)) candidates = parsed;
    else aptProblems.push(failure(cand, 'listing apt candidates (apt-cache show)'));
  }
  return {
    inventory,
    ...(pending === undefined ? {} : { pending }),
    ...(candidates === undefined ? {} : { candidates }),
    aptProblems,
  };
}

/**
 * Whether the fix of a finding can be installed: `available` from the configured sources (every affected binary's
 * candidate is built from a source at or above the fixed version), `not in configured sources` (a fix exists but
 * apt cannot see it, e.g. the security suite is missing), `none` (no fix exists yet or none is planned), or
 * `not checked` (apt was not asked, e.g. a dpkg database read from elsewhere).
 */
export type FixAvailability = 'available' | 'not in configured sources' | 'none' | 'not checked';

/** One affected installed binary of a finding. */
export interface FindingBinary {
  readonly name: string;
  readonly arch: string;
  readonly version: string;
  /** apt's candidate binary version, when known. */
  readonly candidate?: string;
  /** The candidate's source version, when known. */
  readonly candidateSourceVersion?: string;
  /** For a signed binary, the signing template dpkg records as its source (`linux-signed-amd64`). */
  readonly signedTemplate?: string;
}

/** One vulnerable source package on one host. */
export interface Finding {
  readonly source: string;
  /** The lowest installed source version among the affected binaries. */
  readonly installedVersion: string;
  readonly binaries: readonly FindingBinary[];
  /**
   * The advisory status (see `AdvisoryStatus`), or `security-update` when the only evidence is a pending upgrade
   * from the security suite (no feed named the package).
   */
  readonly status: AdvisoryStatus | 'security-update';
  /** The version to reach: the highest fixed version of the feeds, or the security suite's candidate. */
  readonly fixedVersion?: string;
  /** Vulnerability ids, sorted; empty for a security update no feed explains. */
  readonly ids: readonly string[];
  readonly urgency: Urgency;
  readonly fix: FixAvailability;
  /** The pending upgrades from a security suite among its binaries (binary name -> candidate version). */
  readonly securityUpdates: Readonly<Record<string, string>>;
  /** Where the evidence came from: `debian-tracker`, `osv`, `apt-security`, `changelog`. */
  readonly origins: readonly string[];
  /** Where each id came from (`debian-tracker`, `osv`, `changelog`), when any id is known. */
  readonly idOrigins?: Readonly<Record<string, readonly string[]>>;
  /** The candidate changelog that was read for this source (`--changelogs`), with the ids its new entries name. */
  readonly changelog?: {
    readonly binary: string;
    readonly version: string;
    readonly ids: readonly string[];
  };
}

/** Options of `assessHost`. */
export interface AssessOptions {
  /** Advisory statuses to report. @default every status */
  readonly statuses?: readonly AdvisoryStatus[];
}

function key(name: string, arch: string): string {
  return `${name}:${arch}`;
}

/** The pending upgrade of an installed binary, matched by name and (when apt printed one) architecture. */
function pendingFor(
  pending: readonly PendingUpgrade[],
  name: string,
  arch: string,
): PendingUpgrade | undefined {
  return pending.find((p) => p.name === name && (p.arch === undefined || p.arch === arch));
}

/**
 * Matches an observation against advisories and adds the security suite's pending upgrades (pure). Sorted by
 * source name.
 */
export function assessHost(
  observation: HostObservation,
  index: AdvisoryIndex | undefined,
  options: AssessOptions = {},
): Finding[] {
  const { inventory, candidates, pending } = observation;
  const security = (pending ?? []).filter((p) => p.security);
  const findings = new Map<string, Finding>();
  const matched =
    index === undefined
      ? []
      : matchInventory(
          inventory,
          index,
          options.statuses === undefined ? {} : { statuses: options.statuses },
        );
  for (const v of matched) {
    const binaries: FindingBinary[] = v.binaries.map((b) => {
      const c = candidates?.get(key(b.name, b.arch));
      return {
        name: b.name,
        arch: b.arch,
        version: b.version,
        ...(c === undefined ? {} : { candidate: c.version, candidateSourceVersion: c.sourceVersion }),
        ...(b.signedTemplate === undefined ? {} : { signedTemplate: b.signedTemplate.source }),
      };
    });
    let fix: FixAvailability;
    if (v.status !== 'fixable' || v.fixedVersion === undefined) fix = 'none';
    else if (candidates === undefined) fix = 'not checked';
    else {
      const fixed = v.fixedVersion;
      fix = binaries.every(
        (b) =>
          b.candidateSourceVersion !== undefined &&
          compareDebianVersions(b.candidateSourceVersion, fixed) >= 0,
      )
        ? 'available'
        : 'not in configured sources';
    }
    const securityUpdates: Record<string, string> = {};
    for (const b of v.binaries) {
      const p = pendingFor(security, b.name, b.arch);
      if (p !== undefined) securityUpdates[b.name] = p.candidate;
    }
    const origins = [...new Set(v.advisories.map((a) => a.advisory.origin as string))];
    if (Object.keys(securityUpdates).length > 0) origins.push('apt-security');
    const idOrigins: Record<string, string[]> = {};
    for (const { advisory } of v.advisories) {
      const list = (idOrigins[advisory.id] ??= []);
      if (!list.includes(advisory.origin)) list.push(advisory.origin);
    }
    findings.set(v.source, {
      source: v.source,
      installedVersion: v.installedVersion,
      binaries,
      status: v.status,
      ...(v.fixedVersion === undefined ? {} : { fixedVersion: v.fixedVersion }),
      ids: v.ids,
      urgency: v.maxUrgency,
      fix,
      securityUpdates,
      origins,
      idOrigins,
    });
  }
  // Pending security upgrades no feed explained: each installed binary's source is the finding's key.
  const bySource = new Map<
    string,
    { binaries: FindingBinary[]; installed: string; updates: Record<string, string> }
  >();
  for (const pkg of inventory.packages) {
    const p = pendingFor(security, pkg.name, pkg.arch);
    if (p === undefined || findings.has(pkg.source)) continue;
    let entry = bySource.get(pkg.source);
    if (entry === undefined) {
      entry = { binaries: [], installed: pkg.sourceVersion, updates: {} };
      bySource.set(pkg.source, entry);
    }
    const c = candidates?.get(key(pkg.name, pkg.arch));
    entry.binaries.push({
      name: pkg.name,
      arch: pkg.arch,
      version: pkg.version,
      candidate: p.candidate,
      ...(c === undefined ? {} : { candidateSourceVersion: c.sourceVersion }),
      ...(pkg.signedTemplate === undefined ? {} : { signedTemplate: pkg.signedTemplate.source }),
    });
    entry.updates[pkg.name] = p.candidate;
    if (compareDebianVersions(pkg.sourceVersion, entry.installed) < 0) entry.installed = pkg.sourceVersion;
  }
  for (const [source, e] of bySource) {
    const targets = e.binaries.map((b) => b.candidateSourceVersion ?? b.candidate ?? '');
    let fixed = targets[0] ?? '';
    for (const t of targets) if (t !== '' && compareDebianVersions(t, fixed) > 0) fixed = t;
    const binaries = [...e.binaries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    findings.set(source, {
      source,
      installedVersion: e.installed,
      binaries,
      status: 'security-update',
      ...(fixed === '' ? {} : { fixedVersion: fixed }),
      ids: [],
      urgency: 'not yet assigned',
      fix: 'available',
      securityUpdates: e.updates,
      origins: ['apt-security'],
    });
  }
  return [...findings.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
}

/**
 * Adds the CVE ids that candidate changelogs name to the findings of their sources (pure): ids are merged and
 * sorted, each id's origins gain `changelog`, and the finding records which changelog was read.
 */
export function addChangelogIds(
  findings: readonly Finding[],
  changelogs: ReadonlyMap<string, ChangelogIds>,
): Finding[] {
  return findings.map((f) => {
    const cl = changelogs.get(f.source);
    if (cl === undefined) return f;
    const idOrigins: Record<string, string[]> = {};
    for (const [id, list] of Object.entries(f.idOrigins ?? {})) idOrigins[id] = [...list];
    for (const id of cl.ids) {
      const list = (idOrigins[id] ??= []);
      if (!list.includes('changelog')) list.push('changelog');
    }
    return {
      ...f,
      ids: [...new Set([...f.ids, ...cl.ids])].sort(),
      origins:
        cl.ids.length > 0 && !f.origins.includes('changelog') ? [...f.origins, 'changelog'] : f.origins,
      idOrigins,
      changelog: { binary: cl.binary, version: cl.version, ids: cl.ids },
    };
  });
}

/** Merges advisory indexes (tracker, OSV) into one; advisories of one source keep their order. */
export function mergeIndexes(...indexes: readonly AdvisoryIndex[]): AdvisoryIndex {
  if (indexes.length === 1 && indexes[0] !== undefined) return indexes[0];
  const out = new Map<string, Advisory[]>();
  for (const index of indexes) for (const list of index.values()) for (const a of list) addToIndex(out, a);
  return out;
}

/** True when a finding is at or above `min` urgency; security updates without a rating always count. */
export function meetsUrgency(f: Finding, min: Urgency | undefined): boolean {
  if (min === undefined || f.status === 'security-update') return true;
  return URGENCY_RANK[f.urgency] >= URGENCY_RANK[min];
}

/** Loads advisories once the host's facts are known (its release decides which entries count). */
export type IndexLoader = (facts: Facts, sources: ReadonlySet<string>) => Promise<AdvisoryIndex>;

/** Options of `scanHost`. */
export interface ScanOptions extends AssessOptions {
  /**
   * Advisories, or a loader called with the host's facts. Without any, only the security suite's pending upgrades
   * are reported.
   * @default none
   */
  readonly index?: AdvisoryIndex | IndexLoader;
  /**
   * The release codename a fixed `index` was built for; a host of another release is reported as an error
   * instead of being matched against the wrong release's versions.
   * @default not checked
   */
  readonly release?: string;
  /** Read installed packages from this dpkg database instead of the system's; apt is then not asked. */
  readonly admindir?: string;
  /**
   * Also read the changelogs of the security suite's pending upgrades for the CVE ids they fix: one more round
   * trip, which downloads one candidate `.deb` per source unless apt's cache has it (see `fetchChangelogs`).
   * Ignored with `admindir`.
   * @default false
   */
  readonly changelogs?: boolean;
  /** The host name in results. @default the host's own name for `local`, else the target */
  readonly host?: string;
  readonly signal?: AbortSignal;
}

/** The outcome of scanning one host: audit results (bucket `patch`) plus the findings behind them. */
export interface HostScan {
  readonly host: AuditHost;
  readonly results: readonly AuditResult[];
  readonly findings: readonly Finding[];
  /** Things the report should mention (apt could not be asked, ...), prefixed with the host name. */
  readonly warnings: readonly string[];
  /** Always empty: vulnerability scans take no waivers (kept for `HostAudit` compatibility). */
  readonly unusedWaivers: readonly string[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Scans one host in one round trip: inventory, facts and apt's view, then matching. A host that cannot be
 * observed, or whose release does not match the feed, yields `host.error` and no results.
 */
export async function scanHost(transport: Transport, options: ScanOptions = {}): Promise<HostScan> {
  const started = monotonicMs();
  const tripsBefore = transport.roundTrips;
  const request = vulnsProbe(options.admindir === undefined ? {} : { admindir: options.admindir });
  const ops = new Map<string, ProbeOp>(Object.entries(request));
  let facts: Facts | undefined;
  let findings: Finding[] = [];
  let error: { code: string; message: string } | undefined;
  const warnings: string[] = [];
  try {
    const outcome = await runProbe(
      transport,
      ops,
      options.signal === undefined ? {} : { signal: options.signal },
    );
    facts = outcome.facts;
    const results: Record<string, ProbeResult> = {};
    for (const id of ops.keys()) {
      const r = outcome.results.get(id);
      if (r !== undefined) results[id] = r;
    }
    const observation = readHostObservation(results);
    for (const p of observation.aptProblems) warnings.push(p);
    if (observation.inventory.refused.length > 0) {
      warnings.push(`${observation.inventory.refused.length} dpkg-query lines were refused as invalid`);
    }
    if (options.release !== undefined && facts.osCodename !== options.release) {
      throw new BulwarkError(
        'BULWARK_FEED_INVALID',
        `the advisories are for Debian ${options.release}, but the host runs ${facts.osCodename === '' ? 'an unknown release' : facts.osCodename}; load the feed for the host's release`,
      );
    }
    const index =
      typeof options.index === 'function'
        ? await options.index(facts, new Set(observation.inventory.bySource.keys()))
        : options.index;
    findings = assessHost(
      observation,
      index,
      options.statuses === undefined ? {} : { statuses: options.statuses },
    );
    if (options.changelogs === true && observation.pending !== undefined) {
      const { fetchChangelogs } = await import('./changelog.js');
      const changelogs = await fetchChangelogs(
        transport,
        observation.inventory,
        observation.pending,
        options.signal === undefined ? {} : { signal: options.signal },
      );
      warnings.push(...changelogs.problems);
      findings = addChangelogIds(findings, changelogs.bySource);
    }
  } catch (e) {
    error = { code: isBulwarkError(e) ? e.code : 'BULWARK_PROBE_FAILED', message: message(e) };
  }
  const host =
    options.host ?? (transport.target === 'local' && facts !== undefined ? facts.hostname : transport.target);
  return {
    host: {
      name: host,
      target: transport.target,
      roundTrips: transport.roundTrips - tripsBefore,
      durationMs: monotonicMs() - started,
      ...(error === undefined ? {} : { error }),
      ...(facts === undefined ? {} : { facts }),
    },
    results: findings.map((f) => findingResult(f, host)),
    findings,
    warnings: warnings.map((w) => `${host}: ${w}`),
    unusedWaivers: [],
  };
}
