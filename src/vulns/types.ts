/**
 * The vulnerability data model shared by every feed reader (Debian Security Tracker, OSV) and the matcher: one
 * normalised `Advisory` per (source package, vulnerability, affected range), indexed by source package. This layer
 * (src/vulns) may import src/audit (Debian version ordering, audit types), src/resources/types, src/errors and the
 * engine's probe runner (scan.ts); it never imports the dsl or cli.
 */
import type { ErrorCode } from '../errors.js';

/**
 * How urgent Debian rates an issue. `not yet assigned` is what most current entries carry (the security team no
 * longer assigns urgencies to new issues); `end-of-life` marks packages whose security support has ended.
 */
export type Urgency = 'unimportant' | 'end-of-life' | 'not yet assigned' | 'low' | 'medium' | 'high';

/**
 * Urgencies from least to most pressing. An assigned urgency ranks above `not yet assigned` so that the maximum
 * over several issues keeps the information someone actually gave; `unimportant` and `end-of-life` rank lowest
 * because Debian will not ship a fix for them.
 */
export const URGENCY_RANK: Readonly<Record<Urgency, number>> = {
  unimportant: 0,
  'end-of-life': 1,
  'not yet assigned': 2,
  low: 3,
  medium: 4,
  high: 5,
};

/**
 * Maps a feed's urgency text to an `Urgency`. Older tracker entries carry `*` or `**` suffixes (urgency derived from
 * a third party, e.g. `medium**`), which are dropped; anything unknown becomes `not yet assigned` rather than
 * failing the whole feed.
 */
export function normaliseUrgency(raw: unknown): Urgency {
  if (typeof raw !== 'string') return 'not yet assigned';
  const text = raw.replace(/\*+$/, '').trim().toLowerCase();
  return Object.hasOwn(URGENCY_RANK, text) ? (text as Urgency) : 'not yet assigned';
}

/**
 * What the release's security support says about an issue:
 * - `fixable`: a fixed version exists for the release (`fixedVersion`); installed source versions below it are
 *   vulnerable and upgrading fixes them.
 * - `no-fix-yet`: the release is affected and no fix exists yet, but one is expected.
 * - `postponed`: the release is affected and Debian plans no security update (`no-dsa`: postponed to a point
 *   release, ignored as minor, or support ended); see `postponedReason`.
 * - `unknown`: nobody has determined yet whether the release is affected.
 */
export type AdvisoryStatus = 'fixable' | 'no-fix-yet' | 'postponed' | 'unknown';

/** Every advisory status, in the order reports show them. */
export const ADVISORY_STATUSES: readonly AdvisoryStatus[] = ['fixable', 'no-fix-yet', 'postponed', 'unknown'];

/** Why no security update is planned for a `postponed` advisory. */
export type PostponedReason = 'postponed' | 'ignored' | 'no-dsa' | 'end-of-life';

/** Where an advisory was read from. */
export type AdvisoryOrigin = 'debian-tracker' | 'osv';

/** One vulnerability of one source package in the host's release, normalised from any feed. */
export interface Advisory {
  /** The vulnerability id: a CVE id where one exists (`CVE-2024-1234`), else the feed's own (`TEMP-…`, `DSA-…`). */
  readonly id: string;
  /** The Debian source package name the advisory applies to; always a valid source name. */
  readonly source: string;
  readonly status: AdvisoryStatus;
  /** The first fixed source version; present exactly when `status` is `fixable`. Always a valid Debian version. */
  readonly fixedVersion?: string;
  /** Versions below this one are not affected (OSV `introduced`); absent when every earlier version is. */
  readonly introducedVersion?: string;
  /**
   * The last affected version, itself included (OSV `last_affected`): later versions are not affected, but no
   * fixed version is known. Only on `no-fix-yet` advisories.
   */
  readonly lastAffectedVersion?: string;
  /**
   * Only versions below at least one of these are affected (OSV `limit` events of the range); absent when the
   * range has no limit or an unlimited one (`*`).
   */
  readonly limitVersions?: readonly string[];
  /**
   * Exactly these versions are affected (OSV `affected[].versions`), compared in Debian ordering (`1.0-1` equals
   * `0:1.0-1`); when present, the range fields above are absent.
   */
  readonly versions?: readonly string[];
  readonly urgency: Urgency;
  /** Present exactly when `status` is `postponed`. */
  readonly postponedReason?: PostponedReason;
  /** The security team's note on why there is no update (the tracker's `nodsa` text), when it gave one. */
  readonly note?: string;
  readonly origin: AdvisoryOrigin;
  /** The feed's own record id when it differs from `id` (OSV `DEBIAN-CVE-…`, `DSA-…`). */
  readonly feedId?: string;
}

/** Advisories by source package name. */
export type AdvisoryIndex = ReadonlyMap<string, readonly Advisory[]>;

/** Why a feed entry was left out instead of indexed. */
export type SkipReason = 'invalid-package-name' | 'invalid-version' | 'invalid-id' | 'malformed-entry';

/** One refused entry, kept as an example for the report. */
export interface SkippedEntry {
  readonly reason: SkipReason;
  /** The package name as the feed spelled it (JSON-quoted when shown: it may be hostile). */
  readonly package: string;
  /** The vulnerability id, when the entry had one. */
  readonly id?: string;
  readonly detail: string;
}

/** Counts of refused entries by reason plus the first few examples. */
export interface SkipReport {
  readonly counts: Readonly<Record<SkipReason, number>>;
  /** At most `MAX_SKIP_EXAMPLES` entries, in feed order. */
  readonly examples: readonly SkippedEntry[];
}

/** How many refused entries a skip report keeps as examples. */
export const MAX_SKIP_EXAMPLES = 20;

/** Collects refused entries while a feed is read. */
export class SkipCollector {
  private readonly counts: Record<SkipReason, number> = {
    'invalid-package-name': 0,
    'invalid-version': 0,
    'invalid-id': 0,
    'malformed-entry': 0,
  };
  private readonly examples: SkippedEntry[] = [];

  /** Records one refused entry. */
  add(entry: SkippedEntry): void {
    this.counts[entry.reason]++;
    if (this.examples.length < MAX_SKIP_EXAMPLES) this.examples.push(entry);
  }

  /** The report so far. */
  report(): SkipReport {
    return { counts: { ...this.counts }, examples: [...this.examples] };
  }
}

/**
 * Debian source package names (Debian Policy 5.6.1): lowercase letters, digits, `+`, `-` and `.`, at least two
 * characters, starting with a letter or digit. Anything else, such as `vsftpd; touch /pwned`, is refused before
 * it can reach a command line.
 */
const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** The longest source name accepted; real ones stay well below it. */
const SOURCE_NAME_MAX = 128;

/** True when `name` is a valid Debian source (or binary) package name. */
export function isValidPackageName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= SOURCE_NAME_MAX && SOURCE_NAME.test(name);
}

/**
 * Vulnerability ids as feeds spell them: `CVE-2024-1234`, `TEMP-0000000-1A2B3C`, `DSA-5555-1`, `DLA-…`,
 * `DEBIAN-CVE-…`. Uppercase prefix, then letters, digits and hyphens; nothing a report or shell could misread.
 */
const ADVISORY_ID = /^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

/** True when `id` looks like a vulnerability id. */
export function isValidAdvisoryId(id: unknown): id is string {
  return typeof id === 'string' && ADVISORY_ID.test(id);
}

/**
 * The code thrown for a feed that cannot be read (truncated, not JSON, wrong shape, release missing):
 * `BULWARK_FEED_INVALID`.
 */
export const FEED_INVALID: ErrorCode = 'BULWARK_FEED_INVALID';

/**
 * The code thrown when a feed cannot be downloaded (network error, timeout, HTTP error):
 * `BULWARK_FEED_UNAVAILABLE`.
 */
export const FEED_UNAVAILABLE: ErrorCode = 'BULWARK_FEED_UNAVAILABLE';

/** Adds one advisory to a mutable index under construction. */
export function addToIndex(index: Map<string, Advisory[]>, advisory: Advisory): void {
  const list = index.get(advisory.source);
  if (list === undefined) index.set(advisory.source, [advisory]);
  else list.push(advisory);
}
