/**
 * CVE ids from Debian changelogs: for the pending upgrades from the security suite, the candidate `.deb` of one
 * binary per source package is taken from apt's cache or fetched with `apt-get download`, its
 * `usr/share/doc/<binary>/changelog.Debian.gz` is read, and the entries newer than the installed source version
 * name the CVE ids the upgrade fixes. This is the only evidence there is when no feed is given, and it names the
 * ids even when the tracker is stale.
 *
 * All hosts' work is one round trip: a fixed script (`CHANGELOG_SCRIPT`) with every value as a positional
 * argument, validated first. It makes a private download directory with `mktemp -d` (owned by apt's `_apt` user
 * so that apt's download sandbox works), removes each `.deb` as soon as it is read and everything on exit, and
 * prints only the part of each changelog above the installed version's entry (at most `MAX_LINES` lines).
 *
 * What is handled of the doc-directory layouts: a binary's own `changelog.Debian.gz`, a native package's
 * `changelog.gz`, and a doc directory that is a symlink to a sibling's (`libfoo-dev -> libfoo1`): the next binary
 * of the same source is tried, up to `MAX_TRIES` per source, so the source's own binary or its library usually
 * answers. What is left: a source whose every pending binary links its docs to a package of another source, or
 * whose changelog file is itself a symlink, is reported as "no changelog", not followed. Parsing is pure.
 */
import { compareDebianVersions, isValidDebianVersion } from '../audit/debversion.js';
import { BulwarkError } from '../errors.js';
import type { Transport } from '../transports/transport.js';
import type { Inventory } from './inventory.js';
import type { PendingUpgrade } from './scan.js';
import { isValidPackageName } from './types.js';

/** The most binaries tried per source before giving up on its changelog. */
export const MAX_TRIES = 3;

/** The most changelog lines printed per source (the newest entries come first). */
export const MAX_LINES = 20000;

/**
 * The script run on the host, with records of six positional parameters each: source, binary, candidate
 * version, architecture, installed source version, native (1 or 0). Per source it prints one line:
 * `C SOURCE BINARY cache|download BASE64` (the changelog's newest lines) or `E SOURCE BINARY REASON BASE64`
 * (the detail of the last failure). A source is done at its first changelog.
 */
export const CHANGELOG_SCRIPT = `D=$(mktemp -d) || exit 97
X=$(mktemp -d) || { rm -rf -- "$D"; exit 97; }
trap 'rm -rf -- "$D" "$X"' EXIT
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$D" 2>/dev/null; fi
done=' '
last=
fail() { last="E $src $pkg $1 $(printf '%s' "$2" | base64 -w0)"; }
flush() { if [ -n "$last" ]; then printf '%s\\n' "$last"; last=; fi; }
prev=
while [ $# -ge 6 ]; do
  src=$1 pkg=$2 ver=$3 arch=$4 since=$5 native=$6
  shift 6
  if [ "$src" != "$prev" ]; then flush; prev=$src; fi
  case "$done" in *" $src "*) continue ;; esac
  file="\${pkg}_$(printf '%s' "$ver" | sed 's/:/%3a/')_\${arch}.deb"
  deb=/var/cache/apt/archives/$file
  from=cache
  if [ ! -f "$deb" ]; then
    from=download
    want="$pkg:$arch=$ver"
    if [ "$arch" = all ]; then want="$pkg=$ver"; fi
    if ! (cd "$D" && LC_ALL=C timeout -k 5 300 apt-get download -q -o Debug::NoLocking=1 "$want") >"$X/log" 2>&1; then
      fail download "$(tail -n 3 "$X/log")"
      continue
    fi
    deb=$D/$file
    if [ ! -f "$deb" ]; then fail download "apt-get download left no $file"; continue; fi
  fi
  rm -rf -- "$X/t" && mkdir -- "$X/t" || exit 96
  dpkg-deb --fsys-tarfile "$deb" 2>"$X/log" | tar -x -C "$X/t" --no-same-owner --no-same-permissions "./usr/share/doc/$pkg" 2>/dev/null
  rm -rf -- "$D"/* 2>/dev/null
  doc=$X/t/usr/share/doc/$pkg
  if [ -L "$doc" ]; then fail symlink "$(readlink -- "$doc")"; continue; fi
  f=$doc/changelog.Debian.gz
  if [ ! -f "$f" ] || [ -L "$f" ]; then
    f=$doc/changelog.gz
    if [ "$native" != 1 ] || [ ! -f "$f" ] || [ -L "$f" ]; then fail missing "$(head -c 500 "$X/log")"; continue; fi
  fi
  last=
  printf 'C %s %s %s ' "$src" "$pkg" "$from"
  gzip -dc -- "$f" 2>/dev/null | V="($since)" awk -v max=${MAX_LINES} 'NR > max { exit }
    /^[a-z0-9]/ && index($0, ENVIRON["V"]) > 0 { exit }
    { print }' | base64 -w0
  echo
  done="$done$src "
done
flush
exit 0
`;

/** One binary whose candidate changelog may name the CVE ids of its source's pending upgrade. */
export interface ChangelogRequest {
  /** The finding's source package (for a signed binary, the source it signs). */
  readonly source: string;
  readonly binary: string;
  /** The candidate binary version to fetch. */
  readonly version: string;
  readonly arch: string;
  /**
   * The installed version of the source whose changelog the `.deb` carries: dpkg's own source version (for a
   * signed binary the template's, which its changelog's headers name). Entries above it are new.
   */
  readonly since: string;
}

/** A native version has no Debian revision: its `changelog.gz` is the Debian changelog. */
function isNative(version: string): boolean {
  return !version.replace(/^\d+:/, '').includes('-');
}

/**
 * The binaries to try, per source, for the pending upgrades from the security suite (pure). Only upgrades of
 * installed binaries count: their installed source version says where the new entries end. Per source the
 * binary named like its source comes first (its doc directory is rarely a symlink), then the others by name, at
 * most `MAX_TRIES`.
 */
export function changelogRequests(
  inventory: Inventory,
  pending: readonly PendingUpgrade[],
): ChangelogRequest[] {
  const bySource = new Map<string, ChangelogRequest[]>();
  for (const p of pending) {
    if (!p.security || p.installed === undefined) continue;
    const pkg = inventory.packages.find(
      (b) => b.name === p.name && (p.arch === undefined || b.arch === p.arch),
    );
    if (pkg === undefined) continue;
    const ownSource = pkg.signedTemplate?.source ?? pkg.source;
    const request: ChangelogRequest = {
      source: pkg.source,
      binary: pkg.name,
      version: p.candidate,
      arch: pkg.arch,
      since: pkg.signedTemplate?.sourceVersion ?? pkg.sourceVersion,
    };
    const list = bySource.get(pkg.source) ?? [];
    if (!list.some((r) => r.binary === request.binary)) list.push(request);
    bySource.set(pkg.source, list);
    // Keep the binary named like its own source at the front.
    list.sort((a, b) => {
      const ownA = a.binary === ownSource ? 0 : 1;
      const ownB = b.binary === ownSource ? 0 : 1;
      return ownA !== ownB ? ownA - ownB : a.binary < b.binary ? -1 : a.binary > b.binary ? 1 : 0;
    });
  }
  return [...bySource.keys()].sort().flatMap((s) => (bySource.get(s) ?? []).slice(0, MAX_TRIES));
}

/**
 * The positional arguments of `CHANGELOG_SCRIPT` (pure). Every value is checked once more, although all come
 * from dpkg and apt on the host: a value that is not a Debian name, version or architecture is refused here
 * rather than passed on.
 * @throws BulwarkError (`BULWARK_USAGE`) on such a value.
 */
export function changelogArgs(requests: readonly ChangelogRequest[]): string[] {
  const args: string[] = [];
  for (const r of requests) {
    const bad =
      !isValidPackageName(r.source) || !isValidPackageName(r.binary)
        ? 'package name'
        : !isValidDebianVersion(r.version) || !isValidDebianVersion(r.since)
          ? 'version'
          : !/^[a-z0-9][a-z0-9-]*$/.test(r.arch)
            ? 'architecture'
            : undefined;
    if (bad !== undefined) {
      throw new BulwarkError(
        'BULWARK_USAGE',
        `refusing to fetch the changelog of ${JSON.stringify(r.binary)}: invalid ${bad} in ${JSON.stringify(r)}`,
      );
    }
    args.push(r.source, r.binary, r.version, r.arch, r.since, isNative(r.version) ? '1' : '0');
  }
  return args;
}

/** What the script printed for one source. */
export type ChangelogFetch =
  | {
      readonly kind: 'read';
      readonly source: string;
      readonly binary: string;
      /** Where the `.deb` came from. */
      readonly from: 'cache' | 'download';
      /** The changelog's lines above the installed version's entry. */
      readonly text: string;
    }
  | {
      readonly kind: 'failed';
      readonly source: string;
      /** The last binary tried. */
      readonly binary: string;
      readonly reason: 'download' | 'symlink' | 'missing';
      readonly detail: string;
    };

const REASONS = new Set(['download', 'symlink', 'missing']);

/** Parses the output of `CHANGELOG_SCRIPT` (pure); lines of another shape are ignored. */
export function parseChangelogOutput(output: string): ChangelogFetch[] {
  const out: ChangelogFetch[] = [];
  const decode = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  for (const line of output.split('\n')) {
    const [tag, source = '', binary = '', what = '', b64] = line.split(' ');
    if (!isValidPackageName(source) || !isValidPackageName(binary)) continue;
    if (tag === 'C' && (what === 'cache' || what === 'download')) {
      out.push({ kind: 'read', source, binary, from: what, text: decode(b64) });
    } else if (tag === 'E' && REASONS.has(what)) {
      const reason = what as 'download' | 'symlink' | 'missing';
      out.push({ kind: 'failed', source, binary, reason, detail: decode(b64).trim() });
    }
  }
  return out;
}

/** One entry of a Debian changelog. */
export interface ChangelogEntry {
  /** The source package its header names. */
  readonly source: string;
  readonly version: string;
  /** The distributions it was uploaded to, e.g. `bookworm-security`. */
  readonly distributions: readonly string[];
  /** The upload urgency, e.g. `high`, when the header gives one. */
  readonly urgency?: string;
  /** The CVE ids its text names, upper-cased, unique, in order of appearance. */
  readonly cves: readonly string[];
}

/**
 * An entry header (deb-changelog(5)): `package (version) distribution(s); key=value, ...`. The package name
 * starts the line, so lines of the body (indented) and the trailer (` -- `) never match.
 */
const HEADER = /^([a-z0-9][a-z0-9+.-]+) \(([^()\s]+)\)((?: +[A-Za-z0-9./+-]+)+) *;(.*)$/;

/** What starts a header, valid or not: a line that does is never part of the entry before it. */
const HEADER_START = /^[a-z0-9][a-z0-9+.-]+ \(/;

/** CVE ids as changelogs write them; some write the prefix in lower case. */
const CVE = /\bCVE-(\d{4})-(\d{4,7})\b/gi;

/**
 * Parses a Debian changelog into its entries (pure). Lines before the first header, and headers with a version
 * dpkg would refuse, are skipped; the text of a skipped header's entry is not attributed to the entry before it.
 */
export function parseChangelog(text: string): ChangelogEntry[] {
  const entries: ChangelogEntry[] = [];
  let current: { source: string; version: string; distributions: string[]; urgency?: string } | undefined;
  let cves: string[] = [];
  const finish = (): void => {
    if (current !== undefined) entries.push({ ...current, cves: [...new Set(cves)] });
    current = undefined;
    cves = [];
  };
  for (const line of text.split('\n')) {
    if (HEADER_START.test(line)) {
      finish();
      const h = HEADER.exec(line);
      const [, source = '', version = '', dists = '', meta = ''] = h ?? [];
      if (h === null || !isValidDebianVersion(version)) continue;
      const urgency = /(?:^|[\s,])urgency=([A-Za-z]+)/.exec(meta)?.[1]?.toLowerCase();
      current = {
        source,
        version,
        distributions: dists.trim().split(/ +/),
        ...(urgency === undefined ? {} : { urgency }),
      };
      continue;
    }
    if (current === undefined) continue;
    for (const m of line.matchAll(CVE)) cves.push(`CVE-${m[1] ?? ''}-${m[2] ?? ''}`);
  }
  finish();
  return entries;
}

/**
 * The CVE ids of the entries newer than `installed` (pure), sorted and unique. Entries are compared one by one
 * in Debian ordering rather than assumed to be in order, so an entry merged from an older branch is judged by
 * its own version.
 */
export function cvesSince(entries: readonly ChangelogEntry[], installed: string): string[] {
  const ids = new Set<string>();
  for (const e of entries) {
    if (compareDebianVersions(e.version, installed) > 0) for (const id of e.cves) ids.add(id);
  }
  return [...ids].sort();
}

/** The CVE ids a source's pending upgrade fixes, from the changelog of one of its candidate binaries. */
export interface ChangelogIds {
  readonly source: string;
  /** The binary whose candidate `.deb` was read. */
  readonly binary: string;
  /** Its candidate version. */
  readonly version: string;
  readonly from: 'cache' | 'download';
  /** Sorted and unique; empty when the new entries name none. */
  readonly ids: readonly string[];
}

/** The outcome of reading changelogs on one host. */
export interface ChangelogScan {
  /** By source package. */
  readonly bySource: ReadonlyMap<string, ChangelogIds>;
  /** One sentence per source whose changelog could not be read, or for the whole fetch when it failed. */
  readonly problems: readonly string[];
}

/** Matches the script's output back to the requests and reads the ids (pure). */
export function readChangelogFetches(
  requests: readonly ChangelogRequest[],
  fetches: readonly ChangelogFetch[],
): ChangelogScan {
  const bySource = new Map<string, ChangelogIds>();
  const problems: string[] = [];
  for (const f of fetches) {
    const request = requests.find((r) => r.source === f.source && r.binary === f.binary);
    if (request === undefined) continue;
    if (f.kind === 'failed') {
      const why =
        f.reason === 'symlink'
          ? `the doc directory of ${f.binary} is a symlink to ${JSON.stringify(f.detail)}, which is not followed`
          : f.reason === 'missing'
            ? `${f.binary} ${request.version} has no changelog.Debian.gz`
            : `downloading ${f.binary} ${request.version} failed${f.detail === '' ? '' : `: ${f.detail.split('\n').join(' ')}`}`;
      problems.push(`changelog of ${f.source} not read: ${why}`);
      continue;
    }
    bySource.set(f.source, {
      source: f.source,
      binary: f.binary,
      version: request.version,
      from: f.from,
      ids: cvesSince(parseChangelog(f.text), request.since),
    });
  }
  return { bySource, problems };
}

/** Options of `fetchChangelogs`. */
export interface FetchChangelogOptions {
  /** Gives up on the whole fetch after this long. @default 1800000 (30 min: each download may take 5) */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Reads the changelogs of the pending security upgrades of one host in one round trip (none when there is no
 * such upgrade). A failed fetch is reported in `problems`, never thrown: findings stand without the ids.
 */
export async function fetchChangelogs(
  transport: Transport,
  inventory: Inventory,
  pending: readonly PendingUpgrade[],
  options: FetchChangelogOptions = {},
): Promise<ChangelogScan> {
  const requests = changelogRequests(inventory, pending);
  if (requests.length === 0) return { bySource: new Map(), problems: [] };
  const r = await transport.script(CHANGELOG_SCRIPT, changelogArgs(requests), {
    timeoutMs: options.timeoutMs ?? 1_800_000,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const result = readChangelogFetches(requests, parseChangelogOutput(r.stdout.toString('utf8')));
  if (r.exitCode === 0) return result;
  const how = r.timedOut ? 'timed out' : `exited ${r.exitCode ?? r.signal ?? '?'}`;
  const err = r.stderr.toString('utf8').trim().split('\n').slice(-2).join(' ').slice(0, 300);
  return {
    bySource: result.bySource,
    problems: [...result.problems, `reading changelogs ${how}${err === '' ? '' : `: ${err}`}`],
  };
}
