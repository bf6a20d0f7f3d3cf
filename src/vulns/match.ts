/**
 * Matching an inventory against advisories. Advisories name *source* packages and fixed *source* versions, so
 * the match is by source name and compares each installed binary's source version, in Debian ordering, with the
 * fixed version. Comparing binary versions instead goes wrong both ways: a binary with its own epoch or version
 * (`bsdutils 1:2.38.1-5` from `util-linux 2.38.1-5`, `dmsetup 2:1.02.185-2` from `lvm2 2.03.16-2`) sorts above
 * the source's fixed version and hides a vulnerability, and one with a lower own version shows a fixed package
 * as vulnerable. Pure functions, no I/O.
 */
import { compareDebianVersions } from '../audit/debversion.js';
import type { InstalledPackage, Inventory } from './inventory.js';
import {
  URGENCY_RANK,
  type Advisory,
  type AdvisoryIndex,
  type AdvisoryStatus,
  type Urgency,
} from './types.js';

/**
 * True when a package at source version `sourceVersion` is affected by `advisory`: one of its explicit `versions`,
 * or inside its range (at or above `introducedVersion`, below `fixedVersion` when fixable, at or below
 * `lastAffectedVersion`, below one of its `limitVersions`), every comparison in Debian ordering.
 */
export function isAffected(
  sourceVersion: string,
  advisory: Advisory,
  compare: (other: string) => number = versionComparer(sourceVersion),
): boolean {
  if (advisory.versions !== undefined) {
    return advisory.versions.some((v) => compare(v) === 0);
  }
  if (advisory.introducedVersion !== undefined && compare(advisory.introducedVersion) < 0) {
    return false;
  }
  if (advisory.limitVersions !== undefined && !advisory.limitVersions.some((limit) => compare(limit) < 0)) {
    return false;
  }
  if (advisory.lastAffectedVersion !== undefined && compare(advisory.lastAffectedVersion) > 0) {
    return false;
  }
  if (advisory.status === 'fixable') {
    return advisory.fixedVersion !== undefined && compare(advisory.fixedVersion) < 0;
  }
  return true;
}

/**
 * Compares `version` with others, remembering each answer: a source's advisories name the same few fixed
 * versions over and over (one upload fixes many CVEs).
 */
export function versionComparer(version: string): (other: string) => number {
  const known = new Map<string, number>();
  return (other) => {
    let r = known.get(other);
    if (r === undefined) {
      r = compareDebianVersions(version, other);
      known.set(other, r);
    }
    return r;
  };
}

/** One advisory that applies to an installed source package. */
export interface MatchedAdvisory {
  readonly advisory: Advisory;
  /** The installed binaries it affects (those whose source version is in the affected range). */
  readonly binaries: readonly string[];
}

/** Overall status order: the first status any matched advisory has, in this order, is the source's status. */
const STATUS_PRECEDENCE: readonly AdvisoryStatus[] = ['fixable', 'no-fix-yet', 'postponed', 'unknown'];

/** One vulnerable source package on a host. */
export interface VulnerableSource {
  /** The source package name. */
  readonly source: string;
  /** The lowest source version among its affected binaries. */
  readonly installedVersion: string;
  /** Its installed binaries affected by at least one advisory, sorted by name then architecture. */
  readonly binaries: readonly InstalledPackage[];
  /**
   * `fixable` when upgrading fixes at least one of its advisories; otherwise `no-fix-yet`, `postponed` or
   * `unknown`, the first that any of its advisories has in that order.
   */
  readonly status: AdvisoryStatus;
  /** The highest fixed version among its fixable advisories: the version to upgrade to. */
  readonly fixedVersion?: string;
  /** Its vulnerability ids, sorted and unique. */
  readonly ids: readonly string[];
  /** The highest urgency among its advisories. */
  readonly maxUrgency: Urgency;
  /** How many of its advisories have each status. */
  readonly counts: Readonly<Record<AdvisoryStatus, number>>;
  /** Every advisory that applies, in index order. */
  readonly advisories: readonly MatchedAdvisory[];
}

/** Options for matching. */
export interface MatchOptions {
  /** Statuses to report; advisories with other statuses are ignored. @default every status */
  readonly statuses?: readonly AdvisoryStatus[];
}

/** `name:arch` of each binary. */
function labels(binaries: readonly InstalledPackage[]): string[] {
  return binaries.map((b) => `${b.name}:${b.arch}`);
}

/**
 * Matches one installed source package against its advisories; undefined when none applies. This runs once per
 * installed source and its inner loop once per advisory (thousands per scan, in a process too short-lived for
 * V8 to optimise it), so it is written to allocate little: indexed loops, one source version in the common case.
 */
function matchSource(
  source: string,
  binaries: readonly InstalledPackage[],
  advisories: readonly Advisory[],
  statuses: ReadonlySet<AdvisoryStatus>,
): VulnerableSource | undefined {
  // Binaries of one source nearly always share one source version: decide each advisory once per version, and
  // share one label list per version among the advisories that hit it.
  const versions: string[] = [];
  for (let i = 0; i < binaries.length; i++) {
    const v = (binaries[i] as InstalledPackage).sourceVersion;
    if (!versions.includes(v)) versions.push(v);
  }
  const comparers = versions.map((v) => versionComparer(v));
  const labelsOf: (string[] | undefined)[] = [];
  const hitVersion: boolean[] = versions.map(() => false);
  const matched: MatchedAdvisory[] = [];
  const hit: number[] = [];
  for (let a = 0; a < advisories.length; a++) {
    const advisory = advisories[a] as Advisory;
    if (!statuses.has(advisory.status)) continue;
    hit.length = 0;
    for (let k = 0; k < versions.length; k++) {
      if (isAffected(versions[k] as string, advisory, comparers[k])) hit.push(k);
    }
    if (hit.length === 0) continue;
    for (let h = 0; h < hit.length; h++) hitVersion[hit[h] as number] = true;
    let affected: string[];
    if (hit.length === 1) {
      const k = hit[0] as number;
      affected = labelsOf[k] ??= labels(binaries.filter((b) => b.sourceVersion === versions[k]));
    } else {
      affected = labels(binaries.filter((b) => hit.some((k) => versions[k] === b.sourceVersion)));
    }
    matched.push({ advisory, binaries: affected });
  }
  if (matched.length === 0) return undefined;
  const counts: Record<AdvisoryStatus, number> = { fixable: 0, 'no-fix-yet': 0, postponed: 0, unknown: 0 };
  let fixedVersion: string | undefined;
  let maxUrgency: Urgency = 'unimportant';
  const ids: string[] = [];
  for (let m = 0; m < matched.length; m++) {
    const advisory = (matched[m] as MatchedAdvisory).advisory;
    ids.push(advisory.id);
    counts[advisory.status]++;
    if (URGENCY_RANK[advisory.urgency] > URGENCY_RANK[maxUrgency]) maxUrgency = advisory.urgency;
    const fixed = advisory.fixedVersion;
    if (
      fixed !== undefined &&
      fixed !== fixedVersion &&
      (fixedVersion === undefined || compareDebianVersions(fixed, fixedVersion) > 0)
    ) {
      fixedVersion = fixed;
    }
  }
  ids.sort();
  const uniqueIds = ids.filter((id, i) => i === 0 || id !== ids[i - 1]);
  const hitBinaries = binaries.filter((b) => hitVersion[versions.indexOf(b.sourceVersion)] === true);
  let installedVersion = hitBinaries[0]?.sourceVersion ?? '';
  for (const b of hitBinaries) {
    if (b.sourceVersion !== installedVersion && compareDebianVersions(b.sourceVersion, installedVersion) < 0)
      installedVersion = b.sourceVersion;
  }
  const status = STATUS_PRECEDENCE.find((s) => counts[s] > 0) ?? 'unknown';
  return {
    source,
    installedVersion,
    binaries: hitBinaries,
    status,
    ...(fixedVersion === undefined ? {} : { fixedVersion }),
    ids: uniqueIds,
    maxUrgency,
    counts,
    advisories: matched,
  };
}

/**
 * Every installed source package with at least one advisory that applies to its installed source version,
 * sorted by source name.
 */
export function matchInventory(
  inventory: Inventory,
  index: AdvisoryIndex,
  options: MatchOptions = {},
): VulnerableSource[] {
  const statuses = new Set(options.statuses ?? STATUS_PRECEDENCE);
  const out: VulnerableSource[] = [];
  for (const [name, installed] of inventory.bySource) {
    const advisories = index.get(name);
    if (advisories === undefined) continue;
    const v = matchSource(name, installed.binaries, advisories, statuses);
    if (v !== undefined) out.push(v);
  }
  return out.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
}
