/**
 * Batched observation: every read a run needs, from every resource plus the host facts, becomes one shell script
 * sent to the host in one round trip, and one parse of its output. Values reach the script only through `quote`.
 */
import { crypto } from '../builtins.js';
import { BulwarkError } from '../errors.js';
import type { Facts, ProbeOp, ProbeResult } from '../resources/types.js';
import { quote, quoteArgv } from '../transports/quote.js';
import { describeFailure } from '../transports/shell-transport.js';
import type { Transport } from '../transports/transport.js';

// The probe's output is line records, each self-delimiting, so any bytes survive:
//   R <exit code> <base64 stdout> <base64 stderr> <id>   one exec op (the id is last: it may hold spaces)
//   M <base64 of NUL-terminated stat records>            every stat and file op's path, in one stat call
//   C <base64 of NUL-terminated size records> <base64 of the contents, concatenated>
//                                                        every regular file to read, in one stat and one cat
//   V <0|3> <id>, then lines starting with '|', then '.'  a kernel file (/proc) read with shell builtins
// Builtins decide whether a path exists or a file is empty, so a probe of many files costs a handful of processes
// rather than several per file; commands run eight at a time, in the background, beside the file reads.
export const PRELUDE = `BULWARK_PROBE_PID=$$; export BULWARK_PROBE_PID
T=$(mktemp -d) || exit 97
trap 'rm -rf -- "$T"' EXIT
e() { if [ -s "$1" ]; then base64 -w0 -- "$1"; else printf -; fi; }
n=0
X() { n=$((n + 1)); (i=$1; t=$2; shift 2; o="$T/o$n" r="$T/e$n"
  if [ "$t" = 0 ]; then ( exec "$@" ) >"$o" 2>"$r" </dev/null; else timeout -k 2 "$t" "$@" >"$o" 2>"$r" </dev/null; fi
  c=$?; { printf 'R %s ' "$c"; e "$o"; printf ' '; e "$r"; printf ' %s\\n' "$i"; } >"$T/r$n") &
  if [ $((n % 8)) = 0 ]; then wait; fi; }
Z() { wait; if [ "$n" -gt 0 ]; then cat -- "$T"/r*; fi; }
M() { printf 'M '; if [ $# -gt 0 ]; then stat --printf '%f %u %g %s %U %G %n\\0' -- "$@" 2>/dev/null | base64 -w0; fi; echo; }
C() { q=$#; for p do if [ -f "$p" ]; then set -- "$@" "$p"; fi; done; shift "$q"; printf 'C '
  if [ $# -gt 0 ]; then stat -L --printf '%s %n\\0' -- "$@" 2>/dev/null | base64 -w0; printf ' '; cat -- "$@" 2>/dev/null | base64 -w0
  else printf -- '- -'; fi; echo; }
V() { if [ -f "$2" ] && [ -r "$2" ]; then printf 'V 0 %s\\n' "$1"; while IFS= read -r l || [ -n "$l" ]; do printf '|%s\\n' "$l"; done <"$2"
  else printf 'V 3 %s\\n' "$1"; fi; echo .; }
`;

/**
 * The host facts every probe reads. Hostname and machine architecture come from the kernel's own files, read
 * with shell builtins (no process); /proc/sys/kernel/hostname existing also tells that /proc/sys is mounted.
 */
export const FACT_OPS: Readonly<Record<string, ProbeOp>> = {
  'fact:os': { kind: 'file', path: '/etc/os-release' },
  'fact:hostname': { kind: 'file', path: '/proc/sys/kernel/hostname' },
  'fact:arch': { kind: 'file', path: '/proc/sys/kernel/arch' },
  'fact:systemd': { kind: 'stat', path: '/run/systemd/system' },
};

/**
 * Where the kernel files of FACT_OPS cannot be read (older kernels have no /proc/sys/kernel/arch; a chroot
 * may have no /proc), `uname` tells both: the probe runs it only then, as the exec record `fact:uname`.
 */
const UNAME_FALLBACK = `[ -r /proc/sys/kernel/hostname ] && [ -r /proc/sys/kernel/arch ] || X fact:uname 0 uname -nm`;

/** Kernel files report size 0 and are read line by line with builtins instead. */
const isKernelFile = (path: string): boolean => path.startsWith('/proc/') || path.startsWith('/sys/');

/** Builds the probe script for a set of ops keyed by id. Exported for tests. */
export function buildProbeScript(ops: ReadonlyMap<string, ProbeOp>): string {
  return [PRELUDE, ...probeLines(ops)].join('\n') + '\n';
}

// Runs one fixed script ($1) once per remaining argument, each in a subshell of this one shell, and prints for
// each '<index> <exit code> <byte length>' and a newline, then exactly that many bytes of its stdout (the '|'
// sentinel keeps trailing newlines; LC_ALL=C makes the length count bytes). Its stderr is dropped.
const MERGED_SCRIPT = `LC_ALL=C; export LC_ALL; s=$1; shift; k=0
for a do
  o=$( ( set -- "$a"; eval "$s" ) 2>/dev/null; printf '|%s' "$?")
  r=\${o##*|}; o=\${o%|*}
  printf '%s %s %s\\n%s' "$k" "$r" "\${#o}" "$o"
  k=$((k + 1))
done`;

/** Mergeable exec ops that share a script and timeout, two or more, keyed by the id of their merged op. */
export function mergedGroups(
  ops: ReadonlyMap<string, ProbeOp>,
): Map<string, { ids: string[]; argv: string[]; timeoutSec: number }> {
  const byShape = new Map<string, { ids: string[]; script: string; args: string[]; timeoutSec: number }>();
  for (const [id, op] of ops) {
    if (op.kind !== 'exec' || op.mergeable !== true || op.argv.length !== 5) continue;
    const [shell, dashC, script, zero, arg] = op.argv;
    if (shell !== '/bin/sh' || dashC !== '-c' || zero !== 'sh' || script === undefined || arg === undefined)
      continue;
    const shape = `${op.timeoutSec ?? 0}\0${script}`;
    const group = byShape.get(shape) ?? { ids: [], script, args: [], timeoutSec: op.timeoutSec ?? 0 };
    group.ids.push(id);
    group.args.push(arg);
    byShape.set(shape, group);
  }
  const groups = new Map<string, { ids: string[]; argv: string[]; timeoutSec: number }>();
  let k = 0;
  for (const g of byShape.values()) {
    if (g.ids.length < 2) continue;
    groups.set(`merged:${k++}`, {
      ids: g.ids,
      argv: ['/bin/sh', '-c', MERGED_SCRIPT, 'sh', g.script, ...g.args],
      timeoutSec: g.timeoutSec,
    });
  }
  return groups;
}

/** Splits a merged op's record into the results of its ops. */
function splitMerged(ids: readonly string[], merged: ProbeResult): Map<string, ProbeResult> {
  const out = new Map<string, ProbeResult>();
  const buf = merged.stdout;
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(10, at);
    if (nl < 0) break;
    const m = /^(\d+) (\d+) (\d+)$/.exec(buf.subarray(at, nl).toString('latin1'));
    if (m === null) break;
    const length = Number(m[3]);
    const id = ids[Number(m[1])];
    if (id !== undefined) {
      out.set(id, {
        exitCode: Number(m[2]),
        stdout: buf.subarray(nl + 1, nl + 1 + length),
        stderr: Buffer.alloc(0),
      });
    }
    at = nl + 1 + length;
  }
  // Ops the merged run never reached (it timed out or was killed) share its failure.
  for (const id of ids) {
    if (!out.has(id))
      out.set(id, {
        exitCode: merged.exitCode === 0 ? 1 : merged.exitCode,
        stdout: Buffer.alloc(0),
        stderr: merged.stderr,
      });
  }
  return out;
}

/** The probe's commands for `ops`, to follow PRELUDE; they end with `Z`, which prints the commands' records. */
export function probeLines(ops: ReadonlyMap<string, ProbeOp>): string[] {
  const lines: string[] = [];
  const statPaths = new Set<string>();
  const readPaths = new Set<string>();
  const merged = mergedGroups(ops);
  const inGroup = new Set([...merged.values()].flatMap((g) => g.ids));
  for (const [id, g] of merged) lines.push(`X ${quote(id)} ${g.timeoutSec} ${quoteArgv(g.argv)}`);
  for (const [id, op] of ops) {
    if (/[\n\r]/.test(id)) {
      throw new BulwarkError('BULWARK_USAGE', `probe op id ${JSON.stringify(id)} holds a line break`);
    }
    switch (op.kind) {
      case 'exec':
        if (inGroup.has(id)) break;
        lines.push(`X ${quote(id)} ${op.timeoutSec ?? 0} ${quoteArgv(op.argv)}`);
        break;
      case 'stat':
        statPaths.add(quote(op.path));
        break;
      case 'file':
        statPaths.add(quote(op.path));
        if (isKernelFile(op.path)) lines.push(`V ${quote(id)} ${quote(op.path)}`);
        else readPaths.add(quote(op.path));
        break;
    }
  }
  // exec ops run in the background, eight at a time, while the shell reads files; Z prints their records.
  lines.push(`M ${[...statPaths].join(' ')}`.trimEnd(), `C ${[...readPaths].join(' ')}`.trimEnd(), 'Z');
  return lines;
}

// The observation digest: what a resource's ops returned, in a canonical form that the engine computes from the
// probe's results and the host computes anew (the functions below) before a batched apply touches the resource.
//   exec: 'x <exit code>\n' + stdout (stderr is left out: it is diagnostics, often with times or pids in it)
//   stat, file: '-\n' when missing, else the stat line + '\n', then for a file its content
// each op preceded by '@<id>\n'; the digest is the SHA-256 of it all, in hex.
export const DIGEST_FUNCTIONS = `Kx() { t=$1; shift
  if [ "$t" = 0 ]; then ( exec "$@" ) >"$T/ko" 2>/dev/null </dev/null; else timeout -k 2 "$t" "$@" >"$T/ko" 2>/dev/null </dev/null; fi
  printf 'x %s\\n' "$?"; cat -- "$T/ko"; }
Ks() { if s=$(stat --printf '%f %u %g %s %U %G' -- "$1" 2>/dev/null); then printf '%s\\n' "$s"; else echo -; fi; }
Kf() { if s=$(stat --printf '%f %u %g %s %U %G' -- "$1" 2>/dev/null); then printf '%s\\n' "$s"
  if [ -f "$1" ]; then cat -- "$1" 2>/dev/null; fi; else echo -; fi; }
Kv() { if [ -f "$1" ] && [ -r "$1" ] && s=$(stat --printf '%f %u %g %s %U %G' -- "$1" 2>/dev/null); then printf '%s\\n' "$s"
  while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done <"$1"; else echo -; fi; }
`;

/** The shell lines that print the canonical observation of `ops`; pipe them to sha256sum. */
export function digestLines(ops: readonly (readonly [string, ProbeOp])[]): string[] {
  const lines: string[] = [];
  for (const [id, op] of ops) {
    if (/[\n\r]/.test(id)) {
      throw new BulwarkError('BULWARK_USAGE', `probe op id ${JSON.stringify(id)} holds a line break`);
    }
    lines.push(`printf '@%s\\n' ${quote(id)}`);
    if (op.kind === 'exec') lines.push(`Kx ${op.timeoutSec ?? 0} ${quoteArgv(op.argv)}`);
    else if (op.kind === 'stat') lines.push(`Ks ${quote(op.path)}`);
    else lines.push(`${isKernelFile(op.path) ? 'Kv' : 'Kf'} ${quote(op.path)}`);
  }
  return lines;
}

/** The digest of what `ops` returned in `results`, as the host computes it with `digestLines`. */
export function observationDigest(
  ops: readonly (readonly [string, ProbeOp])[],
  results: ReadonlyMap<string, ProbeResult>,
): string {
  const h = crypto().createHash('sha256');
  for (const [id, op] of ops) {
    h.update(`@${id}\n`);
    const r = results.get(id);
    if (op.kind === 'exec') {
      h.update(`x ${r?.exitCode ?? 'none'}\n`);
      if (r !== undefined) h.update(r.stdout);
    } else if (r === undefined || r.exitCode !== 0) {
      h.update('-\n');
    } else {
      h.update(Buffer.concat([r.stderr, Buffer.from('\n')]));
      if (op.kind === 'file') h.update(r.stdout);
    }
  }
  return h.digest('hex');
}

/** What the probe printed, before it is matched to ops. */
export interface ProbeOutput {
  /** exec results by id. */
  readonly execs: Map<string, ProbeResult>;
  /** stat lines (`%f %u %g %s %U %G`) by path, for paths that exist. */
  readonly stats: Map<string, string>;
  /** Contents of regular files by path. */
  readonly contents: Map<string, Buffer>;
  /** Kernel files read with builtins, by id: null when missing. */
  readonly kernel: Map<string, Buffer | null>;
}

function splitRecords(b64: string): string[] {
  if (b64 === '' || b64 === '-') return [];
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return text.split('\0').slice(0, -1);
}

function unexpected(line: string): BulwarkError {
  return new BulwarkError(
    'BULWARK_PROBE_FAILED',
    `the probe printed an unexpected line: ${line.slice(0, 200)}`,
  );
}

/** Parses the probe output into its records. Exported for tests. */
export function parseProbeOutput(output: string): ProbeOutput {
  const out: ProbeOutput = { execs: new Map(), stats: new Map(), contents: new Map(), kernel: new Map() };
  const lines = output.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k] ?? '';
    if (line === '') continue;
    const tag = line.slice(0, 2);
    const rest = line.slice(2);
    if (tag === 'R ') {
      const m = /^(\d+) (\S+) (\S+) (.*)$/.exec(rest);
      if (m === null || m[4] === undefined || m[4] === '') throw unexpected(line);
      const decode = (v: string | undefined): Buffer =>
        Buffer.from(v === '-' || v === undefined ? '' : v, 'base64');
      out.execs.set(m[4], { exitCode: Number(m[1]), stdout: decode(m[2]), stderr: decode(m[3]) });
    } else if (tag === 'M ' || line === 'M') {
      for (const record of splitRecords(rest)) {
        const m = /^(\S+ \S+ \S+ \S+ \S+ \S+) ([\s\S]*)$/.exec(record);
        if (m?.[1] === undefined || m[2] === undefined) throw unexpected(line);
        out.stats.set(m[2], m[1]);
      }
    } else if (tag === 'C ' || line === 'C') {
      const [sizes = '-', data = '-'] = rest.split(' ');
      const blob = Buffer.from(data === '-' ? '' : data, 'base64');
      let offset = 0;
      for (const record of splitRecords(sizes)) {
        const space = record.indexOf(' ');
        const size = Number(record.slice(0, space));
        out.contents.set(record.slice(space + 1), blob.subarray(offset, offset + size));
        offset += size;
      }
      if (offset !== blob.length) {
        throw new BulwarkError('BULWARK_PROBE_FAILED', 'files changed size while the probe read them');
      }
    } else if (tag === 'V ') {
      const m = /^([03]) (.*)$/.exec(rest);
      if (m?.[1] === undefined || m[2] === undefined) throw unexpected(line);
      const body: string[] = [];
      for (k++; k < lines.length && lines[k] !== '.'; k++) body.push((lines[k] ?? '').slice(1) + '\n');
      out.kernel.set(m[2], m[1] === '0' ? Buffer.from(body.join('')) : null);
    } else {
      throw unexpected(line);
    }
  }
  return out;
}

const MISSING: ProbeResult = { exitCode: 3, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

/** Matches parsed output back to ops: the result of each op by id. Exported for tests. */
export function resultsFor(ops: ReadonlyMap<string, ProbeOp>, out: ProbeOutput): Map<string, ProbeResult> {
  const results = new Map<string, ProbeResult>();
  const split = new Map<string, ProbeResult>();
  for (const [mid, g] of mergedGroups(ops)) {
    const r = out.execs.get(mid);
    if (r === undefined)
      throw new BulwarkError('BULWARK_PROBE_FAILED', `the probe returned no result for ${mid}`);
    for (const [id, result] of splitMerged(g.ids, r)) split.set(id, result);
  }
  for (const [id, op] of ops) {
    if (op.kind === 'exec') {
      const r = split.get(id) ?? out.execs.get(id);
      if (r === undefined) {
        throw new BulwarkError('BULWARK_PROBE_FAILED', `the probe returned no result for ${id}`);
      }
      results.set(id, r);
      continue;
    }
    const stat = out.stats.get(op.path);
    if (op.kind === 'stat') {
      results.set(
        id,
        stat === undefined ? MISSING : { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.from(stat) },
      );
      continue;
    }
    const content = isKernelFile(op.path) ? out.kernel.get(id) : out.contents.get(op.path);
    if (stat === undefined || content === null) {
      results.set(id, MISSING);
      continue;
    }
    results.set(id, { exitCode: 0, stdout: content ?? Buffer.alloc(0), stderr: Buffer.from(stat) });
  }
  return results;
}

function parseOsRelease(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) values.set(m[1], m[2].replace(/^(["'])(.*)\1$/, '$2'));
  }
  return values;
}

function factsFrom(
  results: ReadonlyMap<string, ProbeResult>,
  uname: ProbeResult | undefined,
  transport: Transport,
): Facts {
  const os = parseOsRelease(results.get('fact:os')?.stdout.toString('utf8') ?? '');
  const kernel = (id: string): string => results.get(id)?.stdout.toString('utf8').trim() ?? '';
  const [hostname = '', arch = ''] =
    uname === undefined
      ? [kernel('fact:hostname'), kernel('fact:arch')]
      : uname.stdout.toString('utf8').trim().split(/\s+/);
  return {
    hostname,
    arch,
    osId: os.get('ID') ?? '',
    osVersion: os.get('VERSION_ID') ?? '',
    osCodename: os.get('VERSION_CODENAME') ?? '',
    init: results.get('fact:systemd')?.exitCode === 0 ? 'systemd' : 'sysv',
    liveKernel: !transport.sharesHostKernel && results.get('fact:hostname')?.exitCode === 0,
  };
}

/** The outcome of one batched probe. */
export interface ProbeOutcome {
  readonly facts: Facts;
  readonly results: ReadonlyMap<string, ProbeResult>;
}

/** Runs every op plus the fact ops in one round trip. */
export async function runProbe(
  transport: Transport,
  ops: ReadonlyMap<string, ProbeOp>,
  options: { signal?: AbortSignal } = {},
): Promise<ProbeOutcome> {
  // Identical ops (several keys of one config file, say) run once and share their result.
  const unique = new Map<string, ProbeOp>();
  const aliases = new Map<string, string>();
  const byShape = new Map<string, string>();
  for (const [id, op] of [...Object.entries(FACT_OPS), ...ops]) {
    const shape = JSON.stringify(op);
    const first = byShape.get(shape);
    if (first === undefined) {
      byShape.set(shape, id);
      unique.set(id, op);
    } else {
      aliases.set(id, first);
    }
  }
  // The script goes on stdin: a single argument is capped at 128 KiB, and large runs need more. Every op reads
  // /dev/null or a named file, so nothing in the script consumes the script itself.
  const stdin = [PRELUDE, UNAME_FALLBACK, ...probeLines(unique)].join('\n') + '\n';
  let results: Map<string, ProbeResult> | undefined;
  let uname: ProbeResult | undefined;
  // A file that changes size between its stat and its read makes the batch unreadable; one more try settles it.
  for (let attempt = 1; results === undefined; attempt++) {
    const r = await transport.exec(
      ['/bin/sh', '-s'],
      options.signal ? { stdin, signal: options.signal } : { stdin },
    );
    if (r.exitCode !== 0) {
      throw new BulwarkError(
        'BULWARK_PROBE_FAILED',
        `observing ${transport.target} failed: the probe ${describeFailure(r)}`,
      );
    }
    try {
      const out = parseProbeOutput(r.stdout.toString('utf8'));
      results = resultsFor(unique, out);
      uname = out.execs.get('fact:uname');
    } catch (e) {
      if (attempt >= 2 || !(e instanceof BulwarkError && /changed size/.test(e.message))) throw e;
    }
  }
  for (const [id, first] of aliases) {
    const shared = results.get(first);
    if (shared !== undefined) results.set(id, shared);
  }
  return { facts: factsFrom(results, uname, transport), results };
}
