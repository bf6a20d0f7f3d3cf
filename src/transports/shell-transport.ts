/**
 * File operations built from fixed shell scripts over one primitive, "run this argv on the host". Local, chroot and
 * SSH transports share them, so every target reads, stats and replaces files the same way, inside the target's own
 * root and with its own user database.
 */
import { BulwarkError } from '../errors.js';
import type {
  ExecOptions,
  ExecResult,
  FileStat,
  Transport,
  WriteFileOptions,
  WriteFileResult,
} from './transport.js';

const READ_SCRIPT = `if [ -e "$1" ] || [ -L "$1" ]; then exec cat -- "$1"; else exit 3; fi`;

const STAT_SCRIPT = `if [ -e "$1" ] || [ -L "$1" ]; then exec stat -c '%f %u %g %s %U %G' -- "$1"; else exit 3; fi`;

// $1 path, $2 octal mode, $3 owner, $4 group, $5 backup dir ('' for none), $6... verify argv ('' for none).
// The new content arrives on stdin. It is written beside the target and renamed over it, so readers see the old
// file or the new one, never a part.
const WRITE_SCRIPT = `set -eu
p=$1 mode=$2 owner=$3 group=$4 bdir=$5
shift 5
d=$(dirname -- "$p") b=$(basename -- "$p")
[ -d "$d" ] || { echo "directory $d does not exist" >&2; exit 4; }
if [ -d "$p" ] && [ ! -L "$p" ]; then echo "$p is a directory" >&2; exit 5; fi
t=$(mktemp -- "$d/.$b.bulwark.XXXXXX")
trap 'rm -f -- "$t"' EXIT
cat > "$t"
chown -- "$owner:$group" "$t"
chmod -- "$mode" "$t"
if [ $# -gt 0 ]; then
  n=$#
  for a do
    r=
    while :; do case $a in *'%{path}'*) r=$r\${a%%'%{path}'*}$t; a=\${a#*'%{path}'} ;; *) r=$r$a; break ;; esac; done
    set -- "$@" "$r"
  done
  shift "$n"
  if ! ( exec "$@" ) >&2; then echo "verify command failed; the file was not replaced" >&2; exit 90; fi
fi
if [ -n "$bdir" ] && [ -f "$p" ]; then
  mkdir -p -- "$bdir"
  bk="$bdir/$(printf '%s' "$p" | tr / _).$(date -u +%Y%m%dT%H%M%S%N)"
  cp -p -- "$p" "$bk"
  printf '%s' "$bk"
fi
mv -fT -- "$t" "$p"
trap - EXIT
`;

const TYPES: Record<string, FileStat['type']> = { '8': 'file', '4': 'directory', a: 'symlink' };

/** Parses the output of `stat -c '%f %u %g %s %U %G'`. */
export function parseStat(line: string): FileStat {
  const [rawMode, uid, gid, size, owner, group] = line.trim().split(' ');
  if (rawMode === undefined || group === undefined || owner === undefined || uid === undefined) {
    throw new BulwarkError('BULWARK_TRANSPORT', `stat printed an unexpected line: ${JSON.stringify(line)}`);
  }
  const raw = Number.parseInt(rawMode, 16);
  return {
    type: TYPES[(raw >> 12).toString(16)] ?? 'other',
    mode: raw & 0o7777,
    uid: Number(uid),
    gid: Number(gid),
    owner: owner === 'UNKNOWN' ? uid : owner,
    group: group === 'UNKNOWN' ? (gid ?? '') : group,
    size: Number(size),
  };
}

/** Describes a failed command for an error message. */
export function describeFailure(r: ExecResult): string {
  const how = r.timedOut
    ? 'timed out'
    : r.exitCode === null
      ? `was killed by ${r.signal}`
      : `exited ${r.exitCode}`;
  const err = r.stderr.toString('utf8').trim();
  return `${how}${err === '' ? '' : `: ${err.slice(0, 2000)}`}`;
}

/**
 * The command that replaces `path` atomically with what it reads on stdin (mode, owner, verify, backup as
 * `options` say); it prints the backup's path, if any. Shared by `writeFile` and the engine's batched apply.
 */
export function writeFileArgv(path: string, options: WriteFileOptions): string[] {
  return [
    '/bin/sh',
    '-c',
    WRITE_SCRIPT,
    'sh',
    path,
    options.mode.toString(8).padStart(4, '0'),
    options.owner ?? 'root',
    options.group ?? 'root',
    options.backupDir ?? '',
    ...(options.verify ?? []),
  ];
}

/** The error for a failed `writeFileArgv` command. */
export function writeFileError(
  path: string,
  options: WriteFileOptions,
  r: ExecResult,
  target: string,
): BulwarkError {
  if (r.exitCode === 90) {
    return new BulwarkError(
      'BULWARK_VERIFY_FAILED',
      `the new content of ${path} failed its verify command (${(options.verify ?? []).join(' ')}); ` +
        `the old file was kept: ${r.stderr.toString('utf8').trim().slice(0, 2000)}`,
    );
  }
  return new BulwarkError('BULWARK_TRANSPORT', `writing ${path} on ${target} ${describeFailure(r)}`);
}

/** A transport whose file operations are shell scripts run through `exec`; subclasses say how to run argv. */
export abstract class ShellTransport implements Transport {
  abstract readonly target: string;
  abstract readonly sharesHostKernel: boolean;
  #roundTrips = 0;
  #closed = false;

  get roundTrips(): number {
    return this.#roundTrips;
  }

  /** Runs argv on the host; implementations do not count round trips, `exec` does. */
  protected abstract run(argv: readonly string[], options: ExecOptions): Promise<ExecResult>;

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closed)
      throw new BulwarkError('BULWARK_TRANSPORT', `the transport to ${this.target} is closed`);
    if (argv.length === 0) throw new BulwarkError('BULWARK_USAGE', 'an empty command cannot be run');
    for (const word of argv) {
      if (word.includes('\0')) {
        throw new BulwarkError(
          'BULWARK_UNSAFE_VALUE',
          'a command argument holding a NUL byte cannot be passed',
        );
      }
    }
    this.#roundTrips += 1;
    try {
      return await this.run(argv, options);
    } catch (e) {
      // A transport's own errors (host unreachable, host key changed...) keep their precise codes.
      if (e instanceof BulwarkError) throw e;
      throw new BulwarkError(
        'BULWARK_TRANSPORT',
        `could not run ${argv[0]} on ${this.target}: ${String(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  script(source: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(['/bin/sh', '-c', source, 'sh', ...args], options);
  }

  async readFile(path: string): Promise<Buffer | null> {
    const r = await this.script(READ_SCRIPT, [path]);
    if (r.exitCode === 3) return null;
    if (r.exitCode !== 0) {
      throw new BulwarkError('BULWARK_TRANSPORT', `reading ${path} on ${this.target} ${describeFailure(r)}`);
    }
    return r.stdout;
  }

  async stat(path: string): Promise<FileStat | null> {
    const r = await this.script(STAT_SCRIPT, [path]);
    if (r.exitCode === 3) return null;
    if (r.exitCode !== 0) {
      throw new BulwarkError('BULWARK_TRANSPORT', `stat of ${path} on ${this.target} ${describeFailure(r)}`);
    }
    return parseStat(r.stdout.toString('utf8'));
  }

  async writeFile(
    path: string,
    data: string | Uint8Array,
    options: WriteFileOptions,
  ): Promise<WriteFileResult> {
    const r = await this.exec(writeFileArgv(path, options), { stdin: data });
    if (r.exitCode !== 0) throw writeFileError(path, options, r, this.target);
    const backupPath = r.stdout.toString('utf8');
    return backupPath === '' ? {} : { backupPath };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
