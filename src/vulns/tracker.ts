/**
 * The Debian Security Tracker feed (https://security-tracker.debian.org/tracker/data/json): parsing, validation,
 * and normalisation of one release's entries into advisories indexed by source package, with an on-disk index
 * cache keyed by the feed's sha256 so that only the first run after a feed change pays for the full parse.
 *
 * The feed is `{ [sourcePackage]: { [issueId]: { description?, scope?, debianbug?, releases: { [codename]: {
 * status, fixed_version?, urgency, nodsa?, nodsa_reason?, repositories } } } } }`. How each release entry becomes
 * an advisory (see `normaliseRelease`):
 * - `resolved` with fixed_version `0`: the release was never affected; dropped (counted in `notAffected`).
 * - `resolved` with a real version: `fixable` with that `fixedVersion`.
 * - `open` with `nodsa_reason` (`postponed`, `ignored`), a `nodsa` note, or urgency `end-of-life`: `postponed`.
 * - `open` otherwise: `no-fix-yet`.
 * - `undetermined`, or `resolved` without a fixed version: `unknown`.
 * - urgency `unimportant`: hidden unless `includeUnimportant`.
 * Package names that are not Debian source names and versions that are not Debian versions are refused and
 * reported in `skipped`, so nothing hostile from a feed can reach a command line later.
 */
import { crypto } from '../builtins.js';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidDebianVersion } from '../audit/debversion.js';
import { BulwarkError } from '../errors.js';
import {
  ADVISORY_STATUSES,
  FEED_INVALID,
  SkipCollector,
  URGENCY_RANK,
  addToIndex,
  isValidAdvisoryId,
  isValidPackageName,
  normaliseUrgency,
  type Advisory,
  type AdvisoryIndex,
  type AdvisoryStatus,
  type PostponedReason,
  type SkipReport,
  type Urgency,
} from './types.js';

/** Options for reading the tracker feed. */
export interface TrackerOptions {
  /** The host's release codename (`Facts.osCodename`), e.g. `bookworm`; every other release is ignored. */
  readonly release: string;
  /** Keep advisories Debian rates `unimportant` (normally hidden: Debian will not fix them). @default false */
  readonly includeUnimportant?: boolean;
}

/** The advisories of one release, read from the tracker feed. */
export interface TrackerIndex {
  readonly release: string;
  /** Advisories by source package, in feed order within each package. */
  readonly advisories: AdvisoryIndex;
  /** How many advisories the index holds. */
  readonly count: number;
  /** Entries of this release resolved with fixed_version `0` (never affected), dropped. */
  readonly notAffected: number;
  /** `unimportant` advisories left out because `includeUnimportant` was not set. */
  readonly hiddenUnimportant: number;
  /** Entries refused as invalid or hostile. */
  readonly skipped: SkipReport;
  /** The sha256 of the feed, hex; present when read from a file. */
  readonly feedSha256?: string;
  /** True when the index came from the on-disk cache instead of parsing the feed. */
  readonly fromCache: boolean;
}

/** Release codenames as the tracker spells them (`bookworm`, `sid`); also keeps `__proto__` and the like out. */
const CODENAME = /^[a-z][a-z0-9-]{1,30}$/;

/** The longest `nodsa` note kept; notes are one-line explanations. */
const NOTE_MAX = 300;

/** An object parsed from JSON (any non-null, non-array object). */
type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkRelease(release: string): void {
  if (!CODENAME.test(release)) {
    throw new BulwarkError(
      'BULWARK_USAGE',
      `the release codename ${JSON.stringify(release)} is not valid; give a Debian codename such as "bookworm"`,
    );
  }
}

/** A `nodsa` note as one clean line of bounded length, or undefined when there is none. */
function cleanNote(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const text = v.replace(/[\0-\x1f\x7f]+/g, ' ').trim();
  if (text === '') return undefined;
  return text.length > NOTE_MAX ? `${text.slice(0, NOTE_MAX - 1)}…` : text;
}

/** Why no update is planned for an open entry, or undefined when one is expected. */
function postponedReason(entry: JsonObject, urgency: Urgency): PostponedReason | undefined {
  const reason = entry['nodsa_reason'];
  if (reason === 'postponed' || reason === 'ignored') return reason;
  if (urgency === 'end-of-life') return 'end-of-life';
  if (cleanNote(entry['nodsa']) !== undefined || (typeof reason === 'string' && reason !== ''))
    return 'no-dsa';
  return undefined;
}

/** The normalised form of one release entry, before it is tied to a package and an id. */
type Normalised =
  | { readonly kind: 'advisory'; readonly status: AdvisoryStatus; readonly fixedVersion?: string }
  | { readonly kind: 'not-affected' }
  | { readonly kind: 'invalid-version'; readonly detail: string }
  | { readonly kind: 'malformed'; readonly detail: string };

/** Applies the status rules of the file header to one release entry. */
function normaliseRelease(entry: JsonObject, urgency: Urgency): Normalised {
  const status = entry['status'];
  const fixed = entry['fixed_version'];
  switch (status) {
    case 'resolved':
      if (fixed === '0') return { kind: 'not-affected' };
      if (fixed === undefined || fixed === null || fixed === '')
        return { kind: 'advisory', status: 'unknown' };
      if (typeof fixed !== 'string' || !isValidDebianVersion(fixed)) {
        return {
          kind: 'invalid-version',
          detail: `fixed_version ${JSON.stringify(fixed)} is not a Debian version`,
        };
      }
      return { kind: 'advisory', status: 'fixable', fixedVersion: fixed };
    case 'open':
      return {
        kind: 'advisory',
        status: postponedReason(entry, urgency) === undefined ? 'no-fix-yet' : 'postponed',
      };
    case 'undetermined':
      return { kind: 'advisory', status: 'unknown' };
    default:
      return {
        kind: 'malformed',
        detail: `status ${JSON.stringify(status)} is not resolved, open or undetermined`,
      };
  }
}

/** Builds an advisory with only the optional fields that apply (exactOptionalPropertyTypes). */
function makeAdvisory(
  source: string,
  id: string,
  status: AdvisoryStatus,
  urgency: Urgency,
  fixedVersion: string | undefined,
  reason: PostponedReason | undefined,
  note: string | undefined,
): Advisory {
  const a: {
    -readonly [K in keyof Advisory]: Advisory[K];
  } = { id, source, status, urgency, origin: 'debian-tracker' };
  if (fixedVersion !== undefined) a.fixedVersion = fixedVersion;
  if (reason !== undefined) a.postponedReason = reason;
  if (note !== undefined) a.note = note;
  return a;
}

/** Everything of one release the feed holds, unimportant ones included: what the cache stores. */
interface ReleaseData {
  readonly release: string;
  readonly advisories: readonly Advisory[];
  readonly notAffected: number;
  readonly skipped: SkipReport;
}

/** Extracts one release's advisories from a parsed feed, validating as it goes. */
function extractRelease(data: unknown, release: string): ReleaseData {
  if (!isObject(data)) {
    throw new BulwarkError(
      FEED_INVALID,
      `the Debian tracker feed is not a JSON object of source packages (found ${Array.isArray(data) ? 'an array' : typeof data}); check the feed URL`,
    );
  }
  const skipped = new SkipCollector();
  const advisories: Advisory[] = [];
  let notAffected = 0;
  let packages = 0;
  let malformedPackages = 0;
  let releaseSeen = false;
  for (const pkg in data) {
    packages++;
    const issues = data[pkg];
    if (!isObject(issues)) {
      malformedPackages++;
      skipped.add({ reason: 'malformed-entry', package: pkg, detail: 'the package entry is not an object' });
      continue;
    }
    if (!isValidPackageName(pkg)) {
      skipped.add({
        reason: 'invalid-package-name',
        package: pkg,
        detail: 'not a valid Debian source package name',
      });
      continue;
    }
    for (const id in issues) {
      const issue = issues[id];
      const releases = isObject(issue) ? issue['releases'] : undefined;
      if (!isObject(releases)) {
        skipped.add({
          reason: 'malformed-entry',
          package: pkg,
          id,
          detail: 'the issue has no "releases" object',
        });
        continue;
      }
      const entry = releases[release];
      if (entry === undefined) continue;
      releaseSeen = true;
      if (!isObject(entry)) {
        skipped.add({
          reason: 'malformed-entry',
          package: pkg,
          id,
          detail: `releases.${release} is not an object`,
        });
        continue;
      }
      if (!isValidAdvisoryId(id)) {
        skipped.add({ reason: 'invalid-id', package: pkg, id, detail: 'not a CVE, TEMP or advisory id' });
        continue;
      }
      const urgency = normaliseUrgency(entry['urgency']);
      const n = normaliseRelease(entry, urgency);
      switch (n.kind) {
        case 'not-affected':
          notAffected++;
          break;
        case 'invalid-version':
          skipped.add({ reason: 'invalid-version', package: pkg, id, detail: n.detail });
          break;
        case 'malformed':
          skipped.add({ reason: 'malformed-entry', package: pkg, id, detail: n.detail });
          break;
        case 'advisory': {
          const reason = n.status === 'postponed' ? postponedReason(entry, urgency) : undefined;
          const note = n.status === 'postponed' ? cleanNote(entry['nodsa']) : undefined;
          advisories.push(makeAdvisory(pkg, id, n.status, urgency, n.fixedVersion, reason, note));
          break;
        }
      }
    }
  }
  if (packages === 0 || malformedPackages === packages) {
    throw new BulwarkError(
      FEED_INVALID,
      'the Debian tracker feed holds no package entries; the download is probably empty or not the tracker JSON',
    );
  }
  if (!releaseSeen) {
    throw new BulwarkError(
      FEED_INVALID,
      `the Debian tracker feed has no entries for release "${release}": the tracker only covers supported releases, so this host's packages cannot be checked with it`,
    );
  }
  return { release, advisories, notAffected, skipped: skipped.report() };
}

/** Turns extracted release data into the index, hiding unimportant advisories unless asked for. */
function toIndex(
  data: ReleaseData,
  options: TrackerOptions,
  extra: { readonly feedSha256?: string; readonly fromCache: boolean },
): TrackerIndex {
  const index = new Map<string, Advisory[]>();
  let hidden = 0;
  let count = 0;
  for (const a of data.advisories) {
    if (a.urgency === 'unimportant' && options.includeUnimportant !== true) {
      hidden++;
      continue;
    }
    addToIndex(index, a);
    count++;
  }
  return {
    release: data.release,
    advisories: index,
    count,
    notAffected: data.notAffected,
    hiddenUnimportant: hidden,
    skipped: data.skipped,
    fromCache: extra.fromCache,
    ...(extra.feedSha256 === undefined ? {} : { feedSha256: extra.feedSha256 }),
  };
}

/** Parses feed text as JSON, turning a syntax error (usually a truncated download) into a clear feed error. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BulwarkError(
      FEED_INVALID,
      `the Debian tracker feed is not valid JSON (${(e as Error).message}); the download may be truncated: download it again`,
      { cause: e },
    );
  }
}

/** Reads tracker feed JSON (text or bytes) into one release's index (pure). */
export function parseTrackerFeed(json: string | Uint8Array, options: TrackerOptions): TrackerIndex {
  checkRelease(options.release);
  const text = typeof json === 'string' ? json : Buffer.from(json).toString('utf8');
  return toIndex(extractRelease(parseJson(text), options.release), options, { fromCache: false });
}

/** Indexes an already parsed feed (e.g. one the downloader has just validated). */
export function indexTrackerData(data: unknown, options: TrackerOptions): TrackerIndex {
  checkRelease(options.release);
  return toIndex(extractRelease(data, options.release), options, { fromCache: false });
}

// ----- the on-disk index cache -----

/** The cache file's kind marker and format version; bump the version when the layout changes. */
const CACHE_KIND = 'bulwark.tracker-index';
const CACHE_VERSION = 3;

const URGENCIES = Object.keys(URGENCY_RANK) as Urgency[];
const REASONS: readonly PostponedReason[] = ['postponed', 'ignored', 'no-dsa', 'end-of-life'];

/** One advisory in the cache: [id, status, fixedVersion or '', urgency, reason or -1, note or '']. */
type CachedAdvisory = [string, number, string, number, number, string];

interface CacheFile {
  readonly kind: typeof CACHE_KIND;
  readonly version: typeof CACHE_VERSION;
  readonly release: string;
  readonly feedSha256: string;
  readonly notAffected: number;
  readonly skipped: SkipReport;
  readonly packages: Record<string, CachedAdvisory[]>;
}

function cacheName(release: string, sha256: string): string {
  return `tracker-${release}-${sha256}.idx.json`;
}

function toCache(data: ReleaseData, feedSha256: string): CacheFile {
  const packages: Record<string, CachedAdvisory[]> = {};
  for (const a of data.advisories) {
    const row: CachedAdvisory = [
      a.id,
      ADVISORY_STATUSES.indexOf(a.status),
      a.fixedVersion ?? '',
      URGENCIES.indexOf(a.urgency),
      a.postponedReason === undefined ? -1 : REASONS.indexOf(a.postponedReason),
      a.note ?? '',
    ];
    (packages[a.source] ??= []).push(row);
  }
  return {
    kind: CACHE_KIND,
    version: CACHE_VERSION,
    release: data.release,
    feedSha256,
    notAffected: data.notAffected,
    skipped: data.skipped,
    packages,
  };
}

/**
 * Rebuilds release data from a cache file, validating every field again: the cache lives in a writable
 * directory, and an edited one must not smuggle in a name or version the feed reader would have refused.
 * Returns undefined when anything is off, so the caller rebuilds it from the feed.
 */
/** The characters a Debian version may hold (dpkg's own check ran when the cache was written). */
const CACHED_VERSION = /^[0-9A-Za-z.+~:-]{1,256}$/;

function fromCache(
  raw: unknown,
  release: string,
  sha256: string,
  sources?: ReadonlySet<string>,
): ReleaseData | undefined {
  if (!isObject(raw) || raw['kind'] !== CACHE_KIND || raw['version'] !== CACHE_VERSION) return undefined;
  if (raw['release'] !== release || raw['feedSha256'] !== sha256) return undefined;
  const packages = raw['packages'];
  const skipped = raw['skipped'];
  const notAffected = raw['notAffected'];
  if (!isObject(packages) || !isObject(skipped) || typeof notAffected !== 'number') return undefined;
  if (!isObject(skipped['counts']) || !Array.isArray(skipped['examples'])) return undefined;
  const advisories: Advisory[] = [];
  for (const source in packages) {
    // Only the sources asked for are rebuilt (and validated): a host's few hundred, not the release's thousands.
    if (sources !== undefined && !sources.has(source)) continue;
    const rows = packages[source];
    if (!isValidPackageName(source) || !Array.isArray(rows)) return undefined;
    // Indexed access rather than destructuring: this runs for thousands of rows in unoptimised code, where
    // destructuring an array steps an iterator.
    for (let k = 0; k < rows.length; k++) {
      const row: unknown = rows[k];
      if (!Array.isArray(row) || row.length !== 6) return undefined;
      const id: unknown = row[0];
      const s: unknown = row[1];
      const fixed: unknown = row[2];
      const u: unknown = row[3];
      const r: unknown = row[4];
      const note: unknown = row[5];
      const status = typeof s === 'number' ? ADVISORY_STATUSES[s] : undefined;
      const urgency = typeof u === 'number' ? URGENCIES[u] : undefined;
      const reason = r === -1 ? undefined : typeof r === 'number' ? REASONS[r] : null;
      if (!isValidAdvisoryId(id) || status === undefined || urgency === undefined || reason === null)
        return undefined;
      if (typeof fixed !== 'string' || typeof note !== 'string') return undefined;
      // Each fixed version was checked in full against dpkg's rules when the cache was written; reading it back,
      // only its characters are checked (a damaged or edited cache is rebuilt), which keeps a scan's start cheap.
      if ((status === 'fixable') !== (fixed !== '') || (fixed !== '' && !CACHED_VERSION.test(fixed)))
        return undefined;
      if ((status === 'postponed') !== (reason !== undefined)) return undefined;
      advisories.push(
        makeAdvisory(
          source,
          id,
          status,
          urgency,
          fixed === '' ? undefined : fixed,
          reason,
          note === '' ? undefined : cleanNote(note),
        ),
      );
    }
  }
  return { release, advisories, notAffected, skipped: skipped as unknown as SkipReport };
}

/** Options for loading the feed from a file. */
export interface LoadTrackerOptions extends TrackerOptions {
  /** Where the compact per-release index is cached; no cache when absent. @default no cache */
  readonly cacheDir?: string;
  /**
   * The feed's sha256 (hex) as recorded when it was downloaded (`updateTrackerFeed`'s result). With it, a cache
   * hit never reads the large feed at all; without it the feed is read and hashed (~0.1 s for 75 MB).
   * @default computed from the file
   */
  readonly sha256?: string;
  /**
   * Only these source packages are needed (a host's installed sources): a cache hit then rebuilds just their
   * advisories. @default every source of the release
   */
  readonly sources?: ReadonlySet<string>;
  /** Cache files already being read (`prefetchTrackerIndexes`), used instead of reading them again. */
  readonly prefetched?: TrackerIndexPrefetch;
}

/** The bytes of the index cache files of one feed, by release, as `prefetchTrackerIndexes` reads them. */
export type TrackerIndexPrefetch = Promise<ReadonlyMap<string, Buffer>>;

/**
 * Starts reading the index cache files of the feed with `sha256` in `cacheDir`, one per release indexed so far
 * (usually one), before the release a scan needs is known: a scan overlaps the read with its probe of the host,
 * then hands the result to `loadTrackerIndex` (`prefetched`). Never rejects: what cannot be read is left out,
 * and `loadTrackerIndex` then reads or rebuilds it as usual.
 */
export async function prefetchTrackerIndexes(cacheDir: string, sha256: string): TrackerIndexPrefetch {
  const out = new Map<string, Buffer>();
  if (!/^[0-9a-f]{64}$/.test(sha256)) return out;
  const suffix = `-${sha256}.idx.json`;
  let entries: string[];
  try {
    entries = await readdir(cacheDir);
  } catch {
    return out;
  }
  const releases = entries
    .filter((e) => e.startsWith('tracker-') && e.endsWith(suffix))
    .map((e) => e.slice('tracker-'.length, -suffix.length))
    .filter((r) => CODENAME.test(r));
  await Promise.all(
    releases.map(async (release) => {
      try {
        out.set(release, await readFile(join(cacheDir, cacheName(release, sha256))));
      } catch {
        // gone meanwhile: loadTrackerIndex reads or rebuilds it
      }
    }),
  );
  return out;
}

const NL = 0x0a;
const TAB = 0x09;

// V8's own typed-array searches: Buffer's wrappers check their arguments in JavaScript on every call, which
// thousands of bisection steps would pay for.
const indexOfByte = (buf: Uint8Array, byte: number, from: number): number =>
  Uint8Array.prototype.indexOf.call(buf, byte, from);
const lastIndexOfByte = (buf: Uint8Array, byte: number, from: number): number =>
  Uint8Array.prototype.lastIndexOf.call(buf, byte, from);

/**
 * The cache file is one header line, then one line per source, sorted by name: `name<TAB>rows`. It is read as
 * bytes and only the lines a scan needs are decoded. Reading all of it (no `sources` given) also checks the
 * order; a file out of order is damaged and rebuilt. Source names are ASCII (the feed reader refuses others), so
 * byte order is the order `sort()` wrote them in.
 */
function readAllLines(buf: Buffer, from: number, packages: Record<string, unknown>): boolean {
  let previous = '';
  for (let at = from; at < buf.length;) {
    let end = indexOfByte(buf, NL, at);
    if (end < 0) end = buf.length;
    const tab = indexOfByte(buf, TAB, at);
    if (tab <= at || tab >= end) return false;
    const source = buf.toString('latin1', at, tab);
    if (source <= previous) return false;
    previous = source;
    packages[source] = JSON.parse(buf.toString('utf8', tab + 1, end));
    at = end + 1;
  }
  return true;
}

/**
 * Orders `name` (ASCII) against the name that starts the cache line at `start` (its bytes up to the tab), as
 * `sort()` orders strings: negative when `name` sorts first, 0 when equal, positive when after.
 * @throws Error when the name holds a byte no source name may hold, or has no tab after it (a damaged cache;
 *   the caller rebuilds it).
 */
function compareName(name: string, buf: Uint8Array, start: number): number {
  for (let i = 0; ; i++) {
    const b = buf[start + i];
    if (b === TAB) return i === name.length ? 0 : 1;
    if (b === undefined || !isNameByte(b)) throw new Error('a damaged cache line');
    if (i === name.length) return -1;
    const d = name.charCodeAt(i) - b;
    if (d !== 0) return d;
  }
}

/** True for the bytes a source package name may hold: a-z, 0-9, `+`, `-`, `.`. */
function isNameByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2d || b === 0x2e;
}

/**
 * Finds the line of `source` in the sorted lines `[lo, buf.length)` by bisection. Returns where its rows start
 * and where the line ends, or, when no line holds it, `rowsAt` -1 and `end` the first line after where it
 * would be (a later, larger name can start its search there).
 */
function findLine(buf: Buffer, lo: number, source: string): { rowsAt: number; end: number } {
  const from = lo;
  let hi = buf.length;
  // Invariant: every line starting before `lo` sorts below `source`, every line starting at or after `hi` above.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // The line holding byte `mid` (`lo` is always a line's start, so this one starts at or after it).
    const lineStart = mid === from ? from : lastIndexOfByte(buf, NL, mid - 1) + 1;
    const order = compareName(source, buf, lineStart);
    if (order < 0) {
      hi = lineStart;
      continue;
    }
    let end = indexOfByte(buf, NL, lineStart);
    if (end < 0) end = buf.length;
    if (order === 0) return { rowsAt: lineStart + source.length + 1, end };
    lo = end + 1;
  }
  return { rowsAt: -1, end: lo };
}

async function readCache(
  dir: string,
  release: string,
  sha256: string,
  options: { readonly sources?: ReadonlySet<string>; readonly prefetched?: TrackerIndexPrefetch },
): Promise<ReleaseData | undefined> {
  const { sources } = options;
  let buf = (await options.prefetched)?.get(release);
  try {
    buf ??= await readFile(join(dir, cacheName(release, sha256)));
  } catch {
    return undefined;
  }
  try {
    const nl = buf.indexOf(NL);
    if (nl < 0) return undefined;
    const header = JSON.parse(buf.toString('utf8', 0, nl)) as Record<string, unknown>;
    const packages: Record<string, unknown> = {};
    if (sources === undefined) {
      if (!readAllLines(buf, nl + 1, packages)) return undefined;
    } else {
      // In name order, each search starts where the one before ended.
      let from = nl + 1;
      for (const source of [...sources].sort()) {
        const line = findLine(buf, from, source);
        if (line.rowsAt >= 0) packages[source] = JSON.parse(buf.toString('utf8', line.rowsAt, line.end));
        from = line.rowsAt >= 0 ? line.end + 1 : line.end;
      }
    }
    return fromCache({ ...header, packages }, release, sha256, sources);
  } catch {
    return undefined;
  }
}

/** Writes the cache atomically (temporary file, then rename) and removes this release's older caches. */
async function writeCache(dir: string, data: ReleaseData, sha256: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const name = cacheName(data.release, sha256);
  const tmp = join(dir, `.${name}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`);
  try {
    const { packages, ...header } = toCache(data, sha256);
    // Sorted by name, so that a scan finds a host's sources by bisection (findLine).
    const lines = Object.keys(packages)
      .sort()
      .map((source) => `${source}\t${JSON.stringify(packages[source])}`);
    await writeFile(tmp, `${JSON.stringify(header)}\n${lines.join('\n')}\n`, { mode: 0o644 });
    await rename(tmp, join(dir, name));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const prefix = `tracker-${data.release}-`;
  for (const entry of await readdir(dir)) {
    if (entry !== name && entry.startsWith(prefix) && entry.endsWith('.idx.json')) {
      await rm(join(dir, entry), { force: true });
    }
  }
}

/**
 * Loads the tracker feed from `feedPath` into one release's index, through the on-disk index cache when
 * `cacheDir` is given: a cache hit parses only the compact index of that release, a miss parses the feed and
 * writes the cache. A cache that is missing, stale or damaged is rebuilt silently.
 * @throws BulwarkError when the feed is missing, truncated, not the tracker JSON, or lacks the release.
 */
export async function loadTrackerIndex(feedPath: string, options: LoadTrackerOptions): Promise<TrackerIndex> {
  checkRelease(options.release);
  const { cacheDir, release } = options;
  if (cacheDir !== undefined && options.sha256 !== undefined && /^[0-9a-f]{64}$/.test(options.sha256)) {
    const cached = await readCache(cacheDir, release, options.sha256, options);
    if (cached !== undefined)
      return toIndex(cached, options, { feedSha256: options.sha256, fromCache: true });
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(feedPath);
  } catch (e) {
    throw new BulwarkError(
      'BULWARK_USAGE',
      `cannot read the Debian tracker feed ${feedPath}: ${(e as Error).message}; download it first (updateTrackerFeed)`,
      { cause: e },
    );
  }
  const sha256 = crypto().createHash('sha256').update(bytes).digest('hex');
  if (cacheDir !== undefined && sha256 !== options.sha256) {
    // A prefetch was made for the recorded sha256, which this feed does not have.
    const cached = await readCache(
      cacheDir,
      release,
      sha256,
      options.sources === undefined ? {} : { sources: options.sources },
    );
    if (cached !== undefined) return toIndex(cached, options, { feedSha256: sha256, fromCache: true });
  }
  // The feed's structural reader is needed only when the cache misses (once per feed download).
  const { scanTrackerRelease } = await import('./tracker-scan.js');
  const data = extractRelease(scanTrackerRelease(bytes, release), release);
  if (cacheDir !== undefined) await writeCache(cacheDir, data, sha256);
  return toIndex(data, options, { feedSha256: sha256, fromCache: false });
}
