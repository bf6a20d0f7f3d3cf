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

/** Matches one installed source package against its advisories; undefined when none applies. */
function matchSource(
  source: string,
  binaries: readonly InstalledPackage[],
  advisories: readonly Advisory[],
  statuses: ReadonlySet<AdvisoryStatus>,
): VulnerableSource | undefined {
  const matched: MatchedAdvisory[] = [];
  // Binaries of one source nearly always share one source version: decide each advisory once per version, and
  // share one label list per version among the advisories that hit it.
  const versions = [...new Set(binaries.map((b) => b.sourceVersion))];
  const labelsOf = new Map(
    versions.map((v) => [v, binaries.filter((b) => b.sourceVersion === v).map((b) => `${b.name}:${b.arch}`)]),
  );
  const hitVersions = new Set<string>();
  const comparers = new Map(versions.map((v) => [v, versionComparer(v)]));
  for (const advisory of advisories) {
    if (!statuses.has(advisory.status)) continue;
    const hit = versions.filter((v) => isAffected(v, advisory, comparers.get(v)));
    if (hit.length === 0) continue;
    for (const v of hit) hitVersions.add(v);
    const labels =
      hit.length === 1
        ? (labelsOf.get(hit[0] as string) ?? [])
        : binaries.filter((b) => hit.includes(b.sourceVersion)).map((b) => `${b.name}:${b.arch}`);
    matched.push({ advisory, binaries: labels });
  }
  const affected = new Set(binaries.filter((b) => hitVersions.has(b.sourceVersion)));
  if (matched.length === 0) return undefined;
  const counts: Record<AdvisoryStatus, number> = { fixable: 0, 'no-fix-yet': 0, postponed: 0, unknown: 0 };
  let fixedVersion: string | undefined;
  let maxUrgency: Urgency = 'unimportant';
  for (const { advisory } of matched) {
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
  const hitBinaries = binaries.filter((b) => affected.has(b));
  let installedVersion = hitBinaries[0]?.sourceVersion ?? '';
  for (const b of hitBinaries) {
    if (compareDebianVersions(b.sourceVersion, installedVersion) < 0) installedVersion = b.sourceVersion;
  }
  const status = STATUS_PRECEDENCE.find((s) => counts[s] > 0) ?? 'unknown';
  return {
    source,
    installedVersion,
    binaries: hitBinaries,
    status,
    ...(fixedVersion === undefined ? {} : { fixedVersion }),
    ids: [...new Set(matched.map((m) => m.advisory.id))].sort(),
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
