/**
 * `bulwark vulns`: find missing patches on one host or a fleet (results in the audit `patch` bucket, through the
 * audit reporters and exit codes), and `bulwark vulns update`: refresh the cached Debian tracker feed.
 */
import { monotonicMs } from '../builtins.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { buildAuditReport } from '../audit/report.js';
import type { AuditReport } from '../audit/types.js';
import { BulwarkError } from '../errors.js';
import { DEFAULT_CONCURRENCY, mapConcurrent } from '../fleet/concurrency.js';
import { parseReporterSpecs } from '../report/reporters.js';
import type { Facts } from '../resources/types.js';
import { openTargetLazily } from '../transports/open.js';
import { FEED_FILE, readFeedMeta, TRACKER_FEED_URL, updateTrackerFeed } from '../vulns/feed-download.js';
import { mergeIndexes, scanHost, type HostScan, type IndexLoader } from '../vulns/scan.js';
import { loadTrackerIndex, prefetchTrackerIndexes } from '../vulns/tracker.js';
import type { AdvisoryIndex, AdvisoryStatus, SkipReport } from '../vulns/types.js';
import { emitAuditReport } from './audit-report.js';
import {
  EXIT,
  parseConcurrency,
  parseCommandArgs,
  REMOTE_HELP,
  REMOTE_OPTIONS,
  reportError,
  requireRoot,
  sshOptionsFrom,
  type Io,
} from './common.js';

/** Where feeds are cached unless `--cache-dir` says otherwise: `$XDG_CACHE_HOME/bulwark/feeds`. */
export function defaultFeedCacheDir(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.cache');
  return join(base, 'bulwark', 'feeds');
}

/** `bulwark vulns --help`. */
export const VULNS_HELP = `Usage: bulwark vulns [options]
       bulwark vulns update [--url URL] [--cache-dir DIR] [--timeout SEC]

Lists each vulnerable source package of a host: installed binaries, installed and fixed versions, CVE ids,
urgency, and whether the fix is available from the host's configured sources. Nothing on the target changes;
everything is observed in one round trip. Data sources, combined:
  - the host's own apt lists: pending upgrades from the Debian security suite (always; needs no download)
  - the Debian Security Tracker feed: --feed FILE, else the copy 'bulwark vulns update' cached
  - OSV records: --osv DIR|ZIP (ecosystem Debian:<VERSION_ID>)

Options:
  -t, --target TARGET       local (default), chroot:/absolute/dir or ssh://[user@]host[:port]
      --feed FILE           the tracker JSON to use instead of the cached copy
      --osv PATH            a directory or zip of OSV JSON records
      --cache-dir DIR       where feeds and their indexes are cached (default ~/.cache/bulwark/feeds)
      --admindir DIR        read installed packages from this dpkg database (an image); apt is not asked
      --changelogs          also name the CVE ids the pending security updates fix, read from the changelog of
                            one candidate .deb per source (apt's cache, else apt-get download on the target:
                            one more round trip, and downloads take time)
      --include-unimportant also report issues Debian rates unimportant
      --only-fixable        report only issues a fixed version exists for
  -r, --reporter SPEC       cli (default), json, json:PATH, junit:PATH, sarif:PATH, html:PATH; repeatable
      --json                the same as --reporter json (the report on stdout)
      --no-distinct-exit    exit 0 instead of 100 when vulnerable packages were found
  -v, --verbose             list every check
      --no-color            no colour (also: NO_COLOR=1)
  -h, --help                this help

'update' downloads ${TRACKER_FEED_URL}
with a conditional request into the cache directory; a failed download keeps the cached copy and says its age.

${REMOTE_HELP}
Exit codes (the worst host counts): 0 no vulnerable package, 100 at least one, 1 usage error or invalid input,
2 runtime error (target unreachable, feed unreadable or for another release, download failed).
`;

const OPTIONS = {
  target: { type: 'string', short: 't', default: 'local' },
  feed: { type: 'string' },
  osv: { type: 'string' },
  'cache-dir': { type: 'string' },
  admindir: { type: 'string' },
  changelogs: { type: 'boolean', default: false },
  'include-unimportant': { type: 'boolean', default: false },
  'only-fixable': { type: 'boolean', default: false },
  reporter: { type: 'string', short: 'r', multiple: true, default: [] },
  json: { type: 'boolean', default: false },
  'no-distinct-exit': { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  'no-color': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  ...REMOTE_OPTIONS,
} satisfies ParseArgsConfig['options'];

const UPDATE_OPTIONS = {
  url: { type: 'string' },
  'cache-dir': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  'no-color': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsConfig['options'];

/** The audit report of a vulnerability scan: the scans' results plus the run's notes and the hosts' warnings. */
export function buildVulnsReport(
  scans: readonly HostScan[],
  timing: { readonly startedAt: string; readonly durationMs: number },
  notes: readonly string[] = [],
): AuditReport {
  const base = buildAuditReport({ profiles: [], cookbooks: [] }, scans, timing);
  return { ...base, warnings: [...notes, ...scans.flatMap((s) => s.warnings)] };
}

/** "3 h" / "2 days" style age of an ISO time. */
export function describeAge(iso: string, now: Date = new Date()): string {
  const min = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} days`;
}

function describeSkips(what: string, skipped: SkipReport): string | undefined {
  const parts = Object.entries(skipped.counts)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`);
  if (parts.length === 0) return undefined;
  const first = skipped.examples[0];
  const example =
    first === undefined ? '' : `; e.g. package ${JSON.stringify(first.package)}: ${first.detail}`;
  return `${what}: refused entries (${parts.join(', ')})${example}`;
}

/** The advisory loader of a run: feeds read once per release, whatever the number of hosts. */
async function advisoryLoader(
  values: {
    readonly feed?: string | undefined;
    readonly osv?: string | undefined;
    readonly 'include-unimportant': boolean;
  },
  cacheDir: string,
  notes: string[],
): Promise<IndexLoader | undefined> {
  const includeUnimportant = values['include-unimportant'];
  let tracker: { path: string; sha256?: string } | undefined;
  if (values.feed !== undefined) {
    tracker = { path: values.feed };
    notes.push(`data: the security suite's pending upgrades, the tracker feed ${values.feed}`);
  } else {
    const meta = await readFeedMeta(cacheDir);
    if (meta !== undefined) {
      tracker = { path: join(cacheDir, FEED_FILE), sha256: meta.sha256 };
      notes.push(
        `data: the security suite's pending upgrades, the cached tracker feed downloaded ${meta.downloadedAt} (${describeAge(meta.downloadedAt)} old)`,
      );
    } else if (values.osv === undefined) {
      notes.push(
        "data: only the security suite's pending upgrades (no tracker feed is cached: run 'bulwark vulns update' or give --feed)",
      );
    }
  }
  if (values.osv !== undefined) notes.push(`data: OSV records ${values.osv}`);
  if (tracker === undefined && values.osv === undefined) return undefined;
  const indexDir = join(cacheDir, 'index');
  // The cached index of the feed is read while the host is probed; the release it needs is known only then.
  const prefetched =
    tracker?.sha256 === undefined ? undefined : prefetchTrackerIndexes(indexDir, tracker.sha256);
  const load = async (facts: Facts, sources: ReadonlySet<string>): Promise<AdvisoryIndex> => {
    const indexes: AdvisoryIndex[] = [];
    if (tracker !== undefined) {
      const t = await loadTrackerIndex(tracker.path, {
        release: facts.osCodename,
        includeUnimportant,
        cacheDir: indexDir,
        sources,
        ...(tracker.sha256 === undefined ? {} : { sha256: tracker.sha256 }),
        ...(prefetched === undefined ? {} : { prefetched }),
      });
      const skipped = describeSkips(`tracker feed (${facts.osCodename})`, t.skipped);
      if (skipped !== undefined) notes.push(skipped);
      indexes.push(t.advisories);
    }
    if (values.osv !== undefined) {
      // OSV records are an option few runs use: their reader (and its zip reader) loads only then.
      const { loadOsvAdvisories } = await import('../vulns/osv.js');
      const o = await loadOsvAdvisories(values.osv, {
        ecosystem: `Debian:${facts.osVersion}`,
        includeUnimportant,
      });
      const skipped = describeSkips(`OSV records (Debian:${facts.osVersion})`, o.skipped);
      if (skipped !== undefined) notes.push(skipped);
      indexes.push(o.advisories);
    }
    return mergeIndexes(...indexes);
  };
  // Each host loads only its own sources' advisories from the cached index, which is cheap; no sharing needed.
  return (facts, sources) => {
    if (facts.osCodename === '') {
      return Promise.reject(
        new BulwarkError(
          'BULWARK_USAGE',
          'the host has no VERSION_CODENAME in /etc/os-release, so its Debian release is unknown',
        ),
      );
    }
    return load(facts, sources);
  };
}

async function runUpdate(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(args, UPDATE_OPTIONS, VULNS_HELP, io, false);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  try {
    let timeoutMs: number | undefined;
    if (values.timeout !== undefined) {
      const n = Number(values.timeout);
      if (!Number.isFinite(n) || n <= 0)
        throw new BulwarkError('BULWARK_USAGE', `--timeout ${values.timeout}: give a number of seconds`);
      timeoutMs = n * 1000;
    }
    const cacheDir = values['cache-dir'] ?? defaultFeedCacheDir();
    const r = await updateTrackerFeed({
      cacheDir,
      ...(values.url === undefined ? {} : { url: values.url }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    if (values.json) io.stdout.write(`${JSON.stringify({ schemaVersion: 1, ...r }, null, 2)}\n`);
    else if (r.status === 'downloaded')
      io.stdout.write(`downloaded the tracker feed (${r.meta.size} bytes) to ${r.path}\n`);
    else
      io.stdout.write(
        `the tracker feed is up to date (not modified since ${r.meta.downloadedAt}, ${describeAge(r.meta.downloadedAt)} old)\n`,
      );
    return EXIT.ok;
  } catch (e) {
    return reportError(e, io, { json: values.json, noColor: values['no-color'] });
  }
}

/** Runs `vulns` (or `vulns update`) and returns the exit code. */
export async function runVulns(args: readonly string[], io: Io): Promise<number> {
  if (args[0] === 'update') return runUpdate(args.slice(1), io);
  const parsed = parseCommandArgs(args, OPTIONS, VULNS_HELP, io, false);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const json = values.json || values.reporter.some((r) => r === 'json');
  try {
    if (values.target.startsWith('chroot:') && values.inventory === undefined)
      requireRoot('scanning a chroot target');
    if (values.admindir !== undefined && !values.admindir.startsWith('/'))
      throw new BulwarkError('BULWARK_USAGE', `--admindir ${values.admindir}: give an absolute path`);
    if (values.admindir !== undefined && values.changelogs)
      throw new BulwarkError(
        'BULWARK_USAGE',
        '--changelogs needs apt on the target, which --admindir does not ask: give one or the other',
      );
    const specs = parseReporterSpecs(
      values.json ? [...values.reporter, 'json'] : values.reporter.length > 0 ? values.reporter : ['cli'],
    );
    const started = monotonicMs();
    const startedAt = new Date().toISOString();
    const notes: string[] = [];
    const cacheDir = values['cache-dir'] ?? defaultFeedCacheDir();
    // The advisory data is found (feed metadata read, cached index read) while the hosts are probed.
    const loading = advisoryLoader(values, cacheDir, notes);
    loading.catch(() => undefined); // observed below; a failure is reported through the hosts' scans
    const index: IndexLoader = async (facts, sources) => {
      const load = await loading;
      return load === undefined ? new Map() : load(facts, sources);
    };
    const statuses: AdvisoryStatus[] | undefined = values['only-fixable'] ? ['fixable'] : undefined;
    const scanOptions = {
      index,
      ...(statuses === undefined ? {} : { statuses }),
      ...(values.admindir === undefined ? {} : { admindir: values.admindir }),
      ...(values.changelogs ? { changelogs: true } : {}),
    };
    const ssh = sshOptionsFrom(values);
    let scans: readonly HostScan[];
    if (values.inventory !== undefined) {
      const { limitHosts, loadInventory } = await import('../fleet/inventory.js');
      const hosts = limitHosts(await loadInventory(values.inventory), values.limit);
      scans = await mapConcurrent(
        hosts,
        parseConcurrency(values.concurrency) ?? DEFAULT_CONCURRENCY,
        async (h) => {
          const transport = await openTargetLazily(h.target, { ssh: { ...ssh, ...h.ssh } });
          return scanHost(transport, { ...scanOptions, host: h.name }).finally(() => transport.close());
        },
      );
    } else {
      const transport = await openTargetLazily(values.target, { ssh });
      scans = [await scanHost(transport, scanOptions).finally(() => transport.close())];
    }
    await loading.catch(() => undefined); // its notes are complete
    const report = buildVulnsReport(scans, { startedAt, durationMs: monotonicMs() - started }, notes);
    return await emitAuditReport(report, specs, io, {
      noColor: values['no-color'],
      verbose: values.verbose,
      noDistinctExit: values['no-distinct-exit'],
    });
  } catch (e) {
    return reportError(e, io, { json, noColor: values['no-color'] });
  }
}
