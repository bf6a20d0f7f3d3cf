/**
 * OSV records (https://ossf.github.io/osv-schema/) for Debian, from a directory of `.json` files or an OSV
 * `all.zip` export, normalised to the same `Advisory` as the tracker. Debian's records name the *source* package
 * in `affected[].package.name`, use the ecosystem `Debian:<version>` (e.g. `Debian:12`), and give `ECOSYSTEM`
 * ranges in Debian version syntax; the tracker urgency, when present, is in `ecosystem_specific.urgency` (or
 * `database_specific.urgency`).
 *
 * Ranges follow the schema's evaluation rules, with Debian ordering: a range's events are sorted by version
 * (`introduced: "0"` first; events of equal version keep the record's order) and swept into intervals. Each
 * interval becomes one advisory: closed by `fixed` it is `fixable`, closed by `last_affected` (that version still
 * affected) or left open it is `no-fix-yet`. A range's `limit` events (`*` meaning none) bound every interval of
 * it. Several ranges and several `affected` entries of one package simply add advisories. An explicit `versions`
 * list becomes one `no-fix-yet` advisory of exactly the listed versions that no interval already covers. An
 * entry with neither an `ECOSYSTEM` range nor versions is `unknown`. A range with an invalid version or a malformed
 * event is refused whole, since half a range could widen what it says is affected. `GIT` and `SEMVER` ranges are
 * not evaluated (Debian records carry `ECOSYSTEM` ones). OSV has no notion of postponed updates, so that status
 * never comes from here.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareDebianVersions, isValidDebianVersion } from '../audit/debversion.js';
import { BulwarkError } from '../errors.js';
import {
  FEED_INVALID,
  SkipCollector,
  addToIndex,
  isValidAdvisoryId,
  isValidPackageName,
  normaliseUrgency,
  type Advisory,
  type AdvisoryIndex,
  type SkipReport,
  type Urgency,
} from './types.js';
import { readZipEntries } from './zip.js';

/** Options for reading OSV records. */
export interface OsvOptions {
  /** The OSV ecosystem of the host's release: `Debian:` plus `Facts.osVersion`, e.g. `Debian:12`. */
  readonly ecosystem: string;
  /** Keep advisories Debian rates `unimportant`. @default false */
  readonly includeUnimportant?: boolean;
}

/** The advisories read from a set of OSV records. */
export interface OsvIndex {
  readonly ecosystem: string;
  readonly advisories: AdvisoryIndex;
  readonly count: number;
  /** Records read (files that parsed as JSON objects). */
  readonly records: number;
  /** Records marked `withdrawn`, left out. */
  readonly withdrawn: number;
  /** Intervals fixed at version `0` (never affected), left out. */
  readonly notAffected: number;
  readonly hiddenUnimportant: number;
  readonly skipped: SkipReport;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `DEBIAN-CVE-2024-1234` names CVE-2024-1234; other ids (DSA-…, DLA-…) stay as they are. */
function advisoryId(osvId: string): string {
  const m = /^DEBIAN-(CVE-\d{4}-\d+)$/.exec(osvId);
  return m?.[1] ?? osvId;
}

/** The urgency an affected entry carries, if any. */
function urgencyOf(affected: JsonObject): Urgency {
  const eco = affected['ecosystem_specific'];
  const db = affected['database_specific'];
  const raw = (isObject(eco) ? eco['urgency'] : undefined) ?? (isObject(db) ? db['urgency'] : undefined);
  return normaliseUrgency(raw);
}

/** The event kinds of an OSV range. */
type EventKind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

const EVENT_KINDS: ReadonlySet<string> = new Set<EventKind>([
  'introduced',
  'fixed',
  'last_affected',
  'limit',
]);

/** One checked range event other than `limit`; `introduced` may be `0`. */
interface RangeEvent {
  readonly kind: Exclude<EventKind, 'limit'>;
  readonly version: string;
}

/** One affected interval of a range: from `introduced` (undefined: from the start) to its end, if any. */
interface Interval {
  readonly introduced?: string;
  /** The first unaffected version (`0`: never affected). */
  readonly fixed?: string;
  /** The last affected version, itself included. */
  readonly lastAffected?: string;
  /** The range's limits: only versions below one of them are affected. */
  readonly limits?: readonly string[];
}

/** Orders events by version in Debian ordering, `introduced: "0"` before everything; ties keep their order. */
function byVersion(a: RangeEvent, b: RangeEvent): number {
  const zeroA = a.kind === 'introduced' && a.version === '0';
  const zeroB = b.kind === 'introduced' && b.version === '0';
  if (zeroA || zeroB) return zeroA === zeroB ? 0 : zeroA ? -1 : 1;
  return compareDebianVersions(a.version, b.version);
}

/**
 * The affected intervals of one range (pure). Sweeping the sorted events is the schema's evaluation turned
 * inside out: a version is affected when the last event at or below it (a `last_affected` counts only strictly
 * below) is an `introduced`, so an interval opens at the first `introduced` after a close and closes at the next
 * `fixed` or `last_affected`; a repeated `introduced` inside an open interval, or a close outside one, changes
 * nothing. Empty intervals (fixed at or below where they start) are dropped, except `fixed: "0"`, Debian's "never
 * affected", which is kept so that it can be counted.
 */
function sweep(events: readonly RangeEvent[], limits: readonly string[] | undefined): Interval[] {
  const out: Interval[] = [];
  const withLimits = limits === undefined ? {} : { limits };
  let open: { introduced?: string } | undefined;
  for (const e of [...events].sort(byVersion)) {
    if (e.kind === 'introduced') {
      if (open === undefined) open = e.version === '0' ? {} : { introduced: e.version };
      continue;
    }
    if (open === undefined) continue;
    if (e.kind === 'fixed') {
      const empty =
        e.version !== '0' &&
        open.introduced !== undefined &&
        compareDebianVersions(e.version, open.introduced) <= 0;
      if (!empty) out.push({ ...open, fixed: e.version, ...withLimits });
    } else {
      out.push({ ...open, lastAffected: e.version, ...withLimits });
    }
    open = undefined;
  }
  if (open !== undefined) out.push({ ...open, ...withLimits });
  return out;
}

/** True when `version` lies in `iv` (the same rules as `isAffected`). */
function inInterval(version: string, iv: Interval): boolean {
  if (iv.fixed === '0') return false;
  if (iv.introduced !== undefined && compareDebianVersions(version, iv.introduced) < 0) return false;
  if (iv.limits !== undefined && !iv.limits.some((l) => compareDebianVersions(version, l) < 0)) return false;
  if (iv.fixed !== undefined && compareDebianVersions(version, iv.fixed) >= 0) return false;
  if (iv.lastAffected !== undefined && compareDebianVersions(version, iv.lastAffected) > 0) return false;
  return true;
}

/** Collects advisories from records while they are read. */
class OsvReader {
  private readonly index = new Map<string, Advisory[]>();
  private readonly skipped = new SkipCollector();
  private count = 0;
  private records = 0;
  private withdrawn = 0;
  private notAffected = 0;
  private hidden = 0;

  constructor(private readonly options: OsvOptions) {}

  private push(a: Advisory): void {
    if (a.urgency === 'unimportant' && this.options.includeUnimportant !== true) {
      this.hidden++;
      return;
    }
    addToIndex(this.index, a);
    this.count++;
  }

  /** Reads one parsed record; `where` names it in skip reports. */
  add(record: unknown, where: string): void {
    if (!isObject(record)) {
      this.skipped.add({ reason: 'malformed-entry', package: '', detail: `${where} is not a JSON object` });
      return;
    }
    this.records++;
    const osvId = record['id'];
    if (!isValidAdvisoryId(osvId)) {
      this.skipped.add({
        reason: 'invalid-id',
        package: '',
        detail: `${where}: id ${JSON.stringify(osvId)}`,
      });
      return;
    }
    if (record['withdrawn'] !== undefined) {
      this.withdrawn++;
      return;
    }
    const affectedList = record['affected'];
    if (!Array.isArray(affectedList)) {
      this.skipped.add({ reason: 'malformed-entry', package: '', id: osvId, detail: 'no "affected" list' });
      return;
    }
    const id = advisoryId(osvId);
    const base = { id, origin: 'osv' as const, ...(id === osvId ? {} : { feedId: osvId }) };
    for (const affected of affectedList) {
      if (!isObject(affected) || !isObject(affected['package'])) continue;
      const pkg = affected['package'];
      if (pkg['ecosystem'] !== this.options.ecosystem) continue;
      const source = pkg['name'];
      if (!isValidPackageName(source)) {
        this.skipped.add({
          reason: 'invalid-package-name',
          package: String(source),
          id: osvId,
          detail: 'not a valid Debian source package name',
        });
        continue;
      }
      const urgency = urgencyOf(affected);
      const at = { source, id: osvId };
      const intervals: Interval[] = [];
      let usable = false;
      for (const range of Array.isArray(affected['ranges']) ? affected['ranges'] : []) {
        if (!isObject(range) || range['type'] !== 'ECOSYSTEM') continue;
        const parsed = this.rangeEvents(range['events'], at);
        // A refused range is reported as refused, not turned into an "unknown" advisory.
        usable = true;
        if (parsed === undefined) continue;
        intervals.push(...sweep(parsed.events, parsed.limits));
      }
      const common = { ...base, source, urgency };
      for (const iv of intervals) {
        const bounds = {
          ...(iv.introduced === undefined ? {} : { introducedVersion: iv.introduced }),
          ...(iv.limits === undefined ? {} : { limitVersions: iv.limits }),
        };
        if (iv.fixed === '0') this.notAffected++;
        else if (iv.fixed !== undefined)
          this.push({ ...common, status: 'fixable', fixedVersion: iv.fixed, ...bounds });
        else
          this.push({
            ...common,
            status: 'no-fix-yet',
            ...bounds,
            ...(iv.lastAffected === undefined ? {} : { lastAffectedVersion: iv.lastAffected }),
          });
      }
      const listed = this.listedVersions(affected['versions'], at);
      if (listed !== undefined) {
        usable = true;
        // Versions a range already reports add nothing; the rest are affected with no fix this record names.
        const rest = listed.filter((v) => !intervals.some((iv) => inInterval(v, iv)));
        if (rest.length > 0) this.push({ ...common, status: 'no-fix-yet', versions: rest });
      }
      if (!usable) this.push({ ...common, status: 'unknown' });
    }
  }

  /**
   * The events of one range, checked: each event has exactly one of `introduced`, `fixed`, `last_affected` and
   * `limit`, with a valid Debian version (`introduced` may be `0`, `limit` may be `*`). Undefined, with the
   * reason recorded, when any event is not.
   */
  private rangeEvents(
    raw: unknown,
    at: { readonly source: string; readonly id: string },
  ): { events: RangeEvent[]; limits: string[] | undefined } | undefined {
    const refuse = (reason: 'invalid-version' | 'malformed-entry', detail: string): undefined => {
      this.skipped.add({ reason, package: at.source, id: at.id, detail });
      return undefined;
    };
    if (!Array.isArray(raw)) return refuse('malformed-entry', 'a range without an "events" list');
    const events: RangeEvent[] = [];
    const limits: string[] = [];
    let unlimited = false;
    for (const event of raw) {
      const keys = isObject(event) ? Object.keys(event).filter((k) => EVENT_KINDS.has(k)) : [];
      const kind = keys[0] as EventKind | undefined;
      if (!isObject(event) || kind === undefined || keys.length !== 1) {
        return refuse(
          'malformed-entry',
          `range event ${JSON.stringify(event)}: expected exactly one of ${[...EVENT_KINDS].join(', ')}`,
        );
      }
      const version = event[kind];
      const special = (kind === 'introduced' && version === '0') || (kind === 'limit' && version === '*');
      if (typeof version !== 'string' || (!special && !isValidDebianVersion(version))) {
        return refuse('invalid-version', `${kind} ${JSON.stringify(version)}`);
      }
      if (kind === 'limit') {
        if (version === '*') unlimited = true;
        else limits.push(version);
      } else {
        events.push({ kind, version });
      }
    }
    return { events, limits: unlimited || limits.length === 0 ? undefined : limits };
  }

  /** The valid versions of an `affected[].versions` list; undefined when there is no list. */
  private listedVersions(
    raw: unknown,
    at: { readonly source: string; readonly id: string },
  ): string[] | undefined {
    if (!Array.isArray(raw) || raw.length === 0) return undefined;
    const out: string[] = [];
    for (const v of raw) {
      if (typeof v === 'string' && isValidDebianVersion(v)) out.push(v);
      else
        this.skipped.add({
          reason: 'invalid-version',
          package: at.source,
          id: at.id,
          detail: `listed version ${JSON.stringify(v)}`,
        });
    }
    return out.length === 0 ? undefined : out;
  }

  /** The index of everything read. */
  result(): OsvIndex {
    return {
      ecosystem: this.options.ecosystem,
      advisories: this.index,
      count: this.count,
      records: this.records,
      withdrawn: this.withdrawn,
      notAffected: this.notAffected,
      hiddenUnimportant: this.hidden,
      skipped: this.skipped.report(),
    };
  }
}

function checkEcosystem(ecosystem: string): void {
  if (!/^Debian:\d+$/.test(ecosystem)) {
    throw new BulwarkError(
      'BULWARK_USAGE',
      `the OSV ecosystem ${JSON.stringify(ecosystem)} is not a Debian release; give one such as "Debian:12"`,
    );
  }
}

/** Normalises already parsed OSV records (pure). */
export function indexOsvRecords(records: Iterable<unknown>, options: OsvOptions): OsvIndex {
  checkEcosystem(options.ecosystem);
  const reader = new OsvReader(options);
  let k = 0;
  for (const r of records) reader.add(r, `record ${k++}`);
  return reader.result();
}

/** Parses one file's JSON, naming the file when it is not JSON. */
function parseRecord(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BulwarkError(
      FEED_INVALID,
      `the OSV record ${where} is not valid JSON (${(e as Error).message})`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Loads OSV records from a directory of `.json` files (searched recursively) or from a `.zip` export such as
 * OSV's `Debian/all.zip`, keeping the affected entries of `options.ecosystem`.
 * @throws BulwarkError when the path cannot be read, a record is not JSON, or the archive is damaged.
 */
export async function loadOsvAdvisories(path: string, options: OsvOptions): Promise<OsvIndex> {
  checkEcosystem(options.ecosystem);
  const reader = new OsvReader(options);
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw new BulwarkError('BULWARK_USAGE', `cannot read OSV records at ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (info.isDirectory()) {
    const walk = async (dir: string): Promise<void> => {
      for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
        a.name < b.name ? -1 : 1,
      )) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && entry.name.endsWith('.json')) {
          reader.add(parseRecord(await readFile(full, 'utf8'), full), full);
        }
      }
    };
    await walk(path);
  } else {
    for (const entry of readZipEntries(await readFile(path))) {
      if (entry.name.endsWith('.json')) {
        reader.add(parseRecord(entry.data.toString('utf8'), `${path}:${entry.name}`), entry.name);
      }
    }
  }
  return reader.result();
}
