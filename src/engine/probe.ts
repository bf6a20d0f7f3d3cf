/**
 * Batched observation: every read a run needs, from every resource plus the host facts, becomes one shell script
 * sent to the host in one round trip, and one parse of its output. Values reach the script only through `quote`.
 */
import { BulwarkError } from '../errors.js';
import type { Facts, ProbeOp, ProbeResult } from '../resources/types.js';
import { quote, quoteArgv } from '../transports/quote.js';
import { describeFailure } from '../transports/shell-transport.js';
import type { Transport } from '../transports/transport.js';

// Each op prints one line: "<id> <exit code> <base64 stdout> <base64 stderr-or-stat>", so any bytes survive.
// Builtins decide whether a file is empty or a path exists, so the common cases (empty stderr, missing files)
// cost no extra process.
const PRELUDE = `T=$(mktemp -d) || exit 97
trap 'rm -rf -- "$T"' EXIT
e() { if [ -s "$1" ]; then base64 -w0 -- "$1"; else printf -; fi; }
X() { i=$1; t=$2; shift 2
  if [ "$t" = 0 ]; then ( exec "$@" ) >"$T/o" 2>"$T/e" </dev/null; else timeout -k 2 "$t" "$@" >"$T/o" 2>"$T/e" </dev/null; fi
  c=$?; printf '%s %s ' "$i" "$c"; e "$T/o"; printf ' '; e "$T/e"; echo; }
S() { if [ -e "$2" ] || [ -L "$2" ]; then stat -c '%f %u %g %s %U %G' -- "$2" >"$T/s" 2>"$T/e" && c=0 || c=1
  printf '%s %s - ' "$1" "$c"; e "$T/s"; echo; else printf '%s 3 - -\\n' "$1"; fi; }
F() { if [ -e "$2" ] || [ -L "$2" ]; then stat -c '%f %u %g %s %U %G' -- "$2" >"$T/s" 2>&1 && c=0 || c=1
  if [ -f "$2" ]; then base64 -w0 -- "$2" >"$T/o" 2>/dev/null || c=1; else : >"$T/o"; fi
  printf '%s %s ' "$1" "$c"; if [ -s "$T/o" ]; then cat -- "$T/o"; else printf -; fi; printf ' '; e "$T/s"; echo
  else printf '%s 3 - -\\n' "$1"; fi; }
`;

const FACT_OPS: Readonly<Record<string, ProbeOp>> = {
  'fact:os': { kind: 'file', path: '/etc/os-release' },
  'fact:uname': { kind: 'exec', argv: ['uname', '-nm'] },
  'fact:systemd': { kind: 'stat', path: '/run/systemd/system' },
  'fact:procsys': { kind: 'stat', path: '/proc/sys/kernel/hostname' },
};

function opLine(id: string, op: ProbeOp): string {
  switch (op.kind) {
    case 'stat':
      return `S ${quote(id)} ${quote(op.path)}`;
    case 'file':
      return `F ${quote(id)} ${quote(op.path)}`;
    case 'exec':
      return `X ${quote(id)} ${op.timeoutSec ?? 0} ${quoteArgv(op.argv)}`;
  }
}

/** Builds the probe script for a set of ops keyed by id. Exported for tests. */
export function buildProbeScript(ops: ReadonlyMap<string, ProbeOp>): string {
  const lines = [PRELUDE];
  for (const [id, op] of ops) {
    if (/[\n\r]/.test(id))
      throw new BulwarkError('BULWARK_USAGE', `probe op id ${JSON.stringify(id)} holds a line break`);
    lines.push(opLine(id, op));
  }
  return lines.join('\n') + '\n';
}

/** Parses the probe output back into results keyed by id. Exported for tests. */
export function parseProbeOutput(output: string): Map<string, ProbeResult> {
  const results = new Map<string, ProbeResult>();
  for (const line of output.split('\n')) {
    if (line === '') continue;
    // The id may hold spaces; the last three fields never do.
    const fields = line.split(' ');
    const err = fields.pop();
    const out = fields.pop();
    const code = fields.pop();
    const id = fields.join(' ');
    if (id === '' || code === undefined || out === undefined || err === undefined || !/^\d+$/.test(code)) {
      throw new BulwarkError(
        'BULWARK_PROBE_FAILED',
        `the probe printed an unexpected line: ${line.slice(0, 200)}`,
      );
    }
    results.set(id, {
      exitCode: Number(code),
      stdout: Buffer.from(out === '-' ? '' : out, 'base64'),
      stderr: Buffer.from(err === '-' ? '' : err, 'base64'),
    });
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

function factsFrom(results: ReadonlyMap<string, ProbeResult>, transport: Transport): Facts {
  const os = parseOsRelease(results.get('fact:os')?.stdout.toString('utf8') ?? '');
  const [hostname = '', arch = ''] = (results.get('fact:uname')?.stdout.toString('utf8') ?? '')
    .trim()
    .split(/\s+/);
  return {
    hostname,
    arch,
    osId: os.get('ID') ?? '',
    osVersion: os.get('VERSION_ID') ?? '',
    osCodename: os.get('VERSION_CODENAME') ?? '',
    init: results.get('fact:systemd')?.exitCode === 0 ? 'systemd' : 'sysv',
    liveKernel: !transport.sharesHostKernel && results.get('fact:procsys')?.exitCode === 0,
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
  const stdin = buildProbeScript(unique);
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
  const results = parseProbeOutput(r.stdout.toString('utf8'));
  for (const id of unique.keys()) {
    if (!results.has(id)) {
      throw new BulwarkError(
        'BULWARK_PROBE_FAILED',
        `the probe of ${transport.target} returned no result for ${id}`,
      );
    }
  }
  for (const [id, first] of aliases) {
    const shared = results.get(first);
    if (shared !== undefined) results.set(id, shared);
  }
  return { facts: factsFrom(results, transport), results };
}
