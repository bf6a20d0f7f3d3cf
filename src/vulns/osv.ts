/**
 * OSV records (https://ossf.github.io/osv-schema/) for Debian, from a directory of `.json` files or an OSV
 * `all.zip` export, normalised to the same `Advisory` as the tracker. Debian's records name the *source* package
 * in `affected[].package.name`, use the ecosystem `Debian:<version>` (e.g. `Debian:12`), and give `ECOSYSTEM`
 * ranges of `introduced`/`fixed` events in Debian version syntax; the tracker urgency, when present, is in
 * `ecosystem_specific.urgency` (or `database_specific.urgency`). Each affected interval becomes one advisory:
 * with a `fixed` event it is `fixable`, without one `no-fix-yet`; an entry with no usable range is `unknown`.
 * OSV has no notion of postponed updates, so that status never comes from here.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidDebianVersion } from '../audit/debversion.js';
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
      const ranges = Array.isArray(affected['ranges']) ? affected['ranges'] : [];
      let intervals = 0;
      for (const range of ranges) {
        if (!isObject(range) || range['type'] !== 'ECOSYSTEM' || !Array.isArray(range['events'])) continue;
        let introduced: string | undefined;
        let open = false;
        for (const event of range['events']) {
          if (!isObject(event)) continue;
          const intro = event['introduced'];
          const fixed = event['fixed'];
          if (typeof intro === 'string') {
            if (intro !== '0' && !isValidDebianVersion(intro)) {
              this.skipped.add({
                reason: 'invalid-version',
                package: source,
                id: osvId,
                detail: `introduced ${JSON.stringify(intro)}`,
              });
              open = false;
              continue;
            }
            introduced = intro === '0' ? undefined : intro;
            open = true;
          } else if (typeof fixed === 'string' && open) {
            open = false;
            intervals++;
            if (fixed === '0') {
              this.notAffected++;
            } else if (!isValidDebianVersion(fixed)) {
              this.skipped.add({
                reason: 'invalid-version',
                package: source,
                id: osvId,
                detail: `fixed ${JSON.stringify(fixed)}`,
              });
            } else {
              this.push({
                ...base,
                source,
                status: 'fixable',
                fixedVersion: fixed,
                urgency,
                ...(introduced === undefined ? {} : { introducedVersion: introduced }),
              });
            }
          }
        }
        if (open) {
          intervals++;
          this.push({
            ...base,
            source,
            status: 'no-fix-yet',
            urgency,
            ...(introduced === undefined ? {} : { introducedVersion: introduced }),
          });
        }
      }
      if (intervals === 0) this.push({ ...base, source, status: 'unknown', urgency });
    }
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
