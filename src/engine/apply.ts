/**
 * Applying changes, directly or in batches. A provider's `apply` runs against an `ApplyContext`: the direct one
 * runs each command at once (one round trip each); the recording one turns each command and file replacement into
 * a step instead, so the engine can send the steps of many resources to the host as one script, in one round trip.
 *
 * Before a resource's steps run, the batch script reads again everything the engine observed of that resource and
 * compares its digest with the one the plan was made from (`observationDigest`). When an earlier step, or anyone
 * else, changed it, the script stops right there, observes the remaining resources anew and prints that too, so the
 * engine re-plans them from fresh data in the same round trip: no step ever acts on a stale observation.
 * Values reach the script only through `quote`; file contents and stdin travel base64-encoded.
 */
import { BulwarkError } from '../errors.js';
import type { ApplyContext, Facts, ProbeOp, RunOptions } from '../resources/types.js';
import { quote, quoteArgv } from '../transports/quote.js';
import { describeFailure, writeFileArgv, writeFileError } from '../transports/shell-transport.js';
import type { ExecResult, Transport, WriteFileOptions } from '../transports/transport.js';
import {
  DIGEST_FUNCTIONS,
  digestLines,
  PRELUDE,
  probeLines,
  parseProbeOutput,
  type ProbeOutput,
} from './probe.js';

/** How long a step may run when it names no timeout: what the transports allow one command. */
const STEP_DEFAULT_TIMEOUT_SEC = 600;

/** One command of a recorded apply. */
export interface Step {
  readonly argv: readonly string[];
  readonly stdin?: Uint8Array;
  readonly timeoutSec?: number;
  readonly okExitCodes: readonly number[];
  /** The error for a failed result. */
  readonly failure: (r: ExecResult) => Error;
  /** When set, a failure only records this warning. */
  readonly warning?: string;
}

function defaultFailure(argv: readonly string[]): (r: ExecResult) => Error {
  return (r) => new BulwarkError('BULWARK_APPLY_FAILED', `${argv.join(' ')} ${describeFailure(r)}`);
}

function succeeded(r: ExecResult, okExitCodes: readonly number[]): boolean {
  return !r.timedOut && r.exitCode !== null && okExitCodes.includes(r.exitCode);
}

/** What every apply context shares. */
export interface ContextBase {
  readonly transport: Transport;
  readonly facts: Facts;
  readonly backupDir: string;
  readonly warn: (message: string) => void;
  readonly signal?: AbortSignal;
}

/** The context that runs each command at once. */
export function directContext(base: ContextBase): ApplyContext {
  const { transport, signal } = base;
  const withSignal = signal === undefined ? {} : { signal };
  return {
    transport,
    facts: base.facts,
    backupDir: base.backupDir,
    warn: base.warn,
    run: async (argv, options: RunOptions = {}) => {
      const r = await transport.exec(argv, {
        ...withSignal,
        ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
      if (!succeeded(r, options.okExitCodes ?? [0])) throw (options.failure ?? defaultFailure(argv))(r);
      return r;
    },
    warnUnless: async (argv, warning) => {
      const r = await transport.exec(argv, withSignal);
      if (!succeeded(r, [0])) base.warn(warning);
    },
  };
}

/** A file replacement a recorded apply made, so the engine can predict what later observations of it will be. */
export interface RecordedWrite {
  readonly path: string;
  readonly data: Uint8Array;
  readonly options: WriteFileOptions;
}

/** A recording: the steps an apply made, or why it cannot be recorded (it needs answers from the host). */
export interface Recording {
  readonly steps: Step[];
  readonly writes: RecordedWrite[];
  /** Set when the apply asked the host something; its steps are then useless and it must run directly. */
  refused?: string;
}

/** Thrown into an apply that asks the host something while it is recorded. */
export class NotRecordable extends Error {}

/** The context that records steps instead of running them. */
export function recordingContext(base: ContextBase): { ctx: ApplyContext; recording: Recording } {
  const recording: Recording = { steps: [], writes: [] };
  const { transport } = base;
  const refuse = (what: string) => (): Promise<never> => {
    recording.refused = what;
    return Promise.reject(new NotRecordable(`${what} needs an answer from the host`));
  };
  const recorder: Transport = {
    target: transport.target,
    sharesHostKernel: transport.sharesHostKernel,
    get roundTrips() {
      return transport.roundTrips;
    },
    exec: refuse('exec'),
    script: refuse('script'),
    readFile: refuse('readFile'),
    stat: refuse('stat'),
    close: refuse('close'),
    writeFile: (path, data, options) => {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      recording.writes.push({ path, data: bytes, options });
      recording.steps.push({
        argv: writeFileArgv(path, options),
        stdin: bytes,
        okExitCodes: [0],
        failure: (r) => writeFileError(path, options, r, transport.target),
      });
      return Promise.resolve({});
    },
  };
  const ctx: ApplyContext = {
    transport: recorder,
    facts: base.facts,
    backupDir: base.backupDir,
    warn: base.warn,
    run: (argv, options: RunOptions = {}) => {
      recording.steps.push({
        argv: [...argv],
        ...(options.stdin === undefined
          ? {}
          : { stdin: typeof options.stdin === 'string' ? Buffer.from(options.stdin) : options.stdin }),
        ...(options.timeoutMs === undefined ? {} : { timeoutSec: Math.max(0.001, options.timeoutMs / 1000) }),
        okExitCodes: options.okExitCodes ?? [0],
        failure: options.failure ?? defaultFailure(argv),
      });
      const recorded: ExecResult = {
        argv: [...argv],
        exitCode: 0,
        signal: null,
        timedOut: false,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        durationMs: 0,
      };
      return Promise.resolve(recorded);
    },
    warnUnless: (argv, warning) => {
      recording.steps.push({ argv: [...argv], okExitCodes: [0], failure: defaultFailure(argv), warning });
      return Promise.resolve();
    },
  };
  return { ctx, recording };
}

/** One group of a batch: a resource (checked, then its steps) or a notification. */
export interface BatchGroup {
  /** A shell-name-safe id: `r<index>` for resources, `n<index>` for notifications. */
  readonly id: string;
  readonly kind: 'resource' | 'immediate' | 'delayed';
  /** For resources: the ops and the digest of what was observed, re-checked before anything runs. */
  readonly check?: { readonly ops: readonly (readonly [string, ProbeOp])[]; readonly digest: string };
  readonly steps: readonly Step[];
  /** For resources: a failure stops the batch (the run's stop policy). */
  readonly stopOnFailure?: boolean;
  /** For resources: the plan already failed; the group only confirms the observation and reports the failure. */
  readonly planFailed?: boolean;
  /** For notifications: the groups whose success triggers it; empty means triggered already. */
  readonly after?: readonly string[];
}

const BATCH_FUNCTIONS = `st=0
S() { s=$1 i=$2 t=$3; shift 3
  if [ "$t" = 0 ]; then ( exec "$@" ) <"$i" >"$T/so" 2>"$T/se"; else timeout -k 5 "$t" "$@" <"$i" >"$T/so" 2>"$T/se"; fi
  c=$?; printf 'S %s ' "$c"; e "$T/so"; printf ' '; e "$T/se"; printf ' %s\\n' "$s"; return $c; }
O() { c=$1; shift; for k do if [ "$c" = "$k" ]; then return 0; fi; done; return 1; }
`;

function isShellName(id: string): boolean {
  return /^[a-z][a-z0-9]*$/.test(id);
}

function base64Lines(data: Uint8Array): string {
  const b64 = Buffer.from(data).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\n');
}

function stepLines(group: BatchGroup): string[] {
  const lines: string[] = [];
  group.steps.forEach((step, k) => {
    const sid = `${group.id}.${k}`;
    const body: string[] = [];
    let input = '/dev/null';
    if (step.stdin !== undefined) {
      input = `"$T/i${group.id}_${k}"`;
      body.push(`base64 -d >${input} <<'BULWARK_STDIN'`, base64Lines(step.stdin), 'BULWARK_STDIN');
    }
    const run = `S ${sid} ${input} ${step.timeoutSec ?? STEP_DEFAULT_TIMEOUT_SEC} ${quoteArgv(step.argv)}`;
    body.push(step.warning === undefined ? `${run}; O $? ${step.okExitCodes.join(' ')} || g=0` : run);
    lines.push('if [ $g = 1 ]; then', ...body, 'fi');
  });
  return lines;
}

/** Builds the batch script. `final`: no resource follows, so delayed notifications run at its end. */
export function buildBatchScript(
  groups: readonly BatchGroup[],
  options: { readonly final: boolean; readonly reprobe: ReadonlyMap<string, ProbeOp> },
): string {
  const lines = [PRELUDE, DIGEST_FUNCTIONS, BATCH_FUNCTIONS];
  const delayed: string[] = [];
  for (const group of groups) {
    if (!isShellName(group.id)) throw new BulwarkError('BULWARK_USAGE', `bad batch group id ${group.id}`);
    if (group.kind === 'resource') {
      const check = group.check;
      if (check !== undefined) {
        lines.push(`k${group.id}() {`, ':', ...digestLines(check.ops), '}');
      }
      const verdict =
        group.planFailed === true
          ? [`echo 'G failed ${group.id}'`]
          : [
              `if [ $g = 1 ]; then o${group.id}=1; echo 'G ok ${group.id}'; else echo 'G failed ${group.id}';${group.stopOnFailure === true ? ' st=1;' : ''} fi`,
            ];
      if (group.planFailed === true && group.stopOnFailure === true) verdict.push('st=1');
      lines.push(
        'if [ $st = 0 ]; then',
        check === undefined
          ? 'if :; then'
          : `if [ "$(k${group.id} | sha256sum)" = ${quote(`${check.digest}  -`)} ]; then`,
        'g=1',
        ...(group.planFailed === true ? [] : stepLines(group)),
        ...verdict,
        `else echo 'G stale ${group.id}'; st=2; fi`,
        'fi',
      );
      continue;
    }
    const triggers = (group.after ?? []).map((id) => {
      if (!isShellName(id)) throw new BulwarkError('BULWARK_USAGE', `bad batch group id ${id}`);
      return `\${o${id}:-}`;
    });
    const when = triggers.length === 0 ? '' : ` && [ -n "${triggers.join('')}" ]`;
    const body = [
      'g=1',
      ...stepLines(group),
      `if [ $g = 1 ]; then echo 'G ok ${group.id}'; else echo 'G failed ${group.id}'; fi`,
      'fi',
    ];
    if (group.kind === 'immediate') lines.push(`if [ $st = 0 ]${when}; then`, ...body);
    else delayed.push(`if ${options.final ? '[ $st != 2 ]' : '[ $st = 1 ]'}${when}; then`, ...body);
  }
  lines.push('if [ $st = 2 ]; then', "echo 'E stale'", ...probeLines(options.reprobe), 'else', ...delayed);
  lines.push("echo 'E done'", 'fi');
  return lines.join('\n') + '\n';
}

/**
 * How long a whole batch may take: each step's own budget (or the default a command run alone would have), the
 * checks' and the observation's, and a minute of slack, so a batch of long apt runs is never cut short where the
 * same commands one by one would not have been.
 */
export function batchTimeoutMs(groups: readonly BatchGroup[]): number {
  let sec = 60;
  for (const g of groups) {
    for (const step of g.steps) sec += step.timeoutSec ?? STEP_DEFAULT_TIMEOUT_SEC;
    for (const [, op] of g.check?.ops ?? []) sec += op.kind === 'exec' ? (op.timeoutSec ?? 60) : 1;
  }
  return sec * 1000;
}

/**
 * Sends a batch as one script in one round trip and parses what it reported.
 * @throws BulwarkError when the script did not run to its end (the connection dropped, the shell failed).
 */
export async function runBatch(
  transport: Transport,
  groups: readonly BatchGroup[],
  options: {
    readonly final: boolean;
    readonly reprobe: ReadonlyMap<string, ProbeOp>;
    readonly signal?: AbortSignal;
  },
): Promise<BatchOutcome> {
  const { final, reprobe, signal } = options;
  const stdin = buildBatchScript(groups, { final, reprobe });
  const timeoutMs = batchTimeoutMs(groups) + reprobe.size * 60_000;
  const r = await transport.exec(
    ['/bin/sh', '-s'],
    signal === undefined ? { stdin, timeoutMs } : { stdin, timeoutMs, signal },
  );
  if (r.exitCode !== 0) {
    throw new BulwarkError(
      'BULWARK_APPLY_FAILED',
      `the apply script on ${transport.target} exited ${r.exitCode}: ${r.stderr.toString('utf8').trim().slice(0, 2000)}`,
    );
  }
  const byId = new Map(groups.map((g) => [g.id, g]));
  return parseBatchOutput(r.stdout.toString('utf8'), (id) => byId.get(id));
}

/** What a batch reported. */
export interface BatchOutcome {
  /** Each step's result, by `<group id>.<index>`. */
  readonly steps: Map<string, ExecResult>;
  /** Each group that was reached, by id. */
  readonly groups: Map<string, 'ok' | 'failed' | 'stale'>;
  /** When a group was stale: the fresh observation of the resources checked in this batch. */
  readonly reprobe?: ProbeOutput;
}

/** Parses what a batch script printed. */
export function parseBatchOutput(
  output: string,
  group: (id: string) => BatchGroup | undefined,
): BatchOutcome {
  const steps = new Map<string, ExecResult>();
  const groups = new Map<string, 'ok' | 'failed' | 'stale'>();
  const lines = output.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k] ?? '';
    if (line === '') continue;
    if (line === 'E done') return { steps, groups };
    if (line === 'E stale')
      return { steps, groups, reprobe: parseProbeOutput(lines.slice(k + 1).join('\n')) };
    const s = /^S (\d+) (\S+) (\S+) ([a-z0-9]+)\.(\d+)$/.exec(line);
    if (s !== null) {
      const [, code = '', out = '-', err = '-', gid = '', index = ''] = s;
      const step = group(gid)?.steps[Number(index)];
      const exitCode = Number(code);
      const decode = (v: string): Buffer => Buffer.from(v === '-' ? '' : v, 'base64');
      steps.set(`${gid}.${index}`, {
        argv: step?.argv ?? [],
        exitCode,
        signal: null,
        timedOut: exitCode === 124,
        stdout: decode(out),
        stderr: decode(err),
        durationMs: 0,
      });
      continue;
    }
    const g = /^G (ok|failed|stale) ([a-z0-9]+)$/.exec(line);
    if (g?.[1] !== undefined && g[2] !== undefined) {
      groups.set(g[2], g[1] as 'ok' | 'failed' | 'stale');
      continue;
    }
    throw new BulwarkError(
      'BULWARK_APPLY_FAILED',
      `the apply script printed an unexpected line: ${line.slice(0, 200)}`,
    );
  }
  throw new BulwarkError('BULWARK_APPLY_FAILED', 'the apply script ended before it finished');
}

/** The error of a failed group: the first of its steps that failed. */
export function groupError(group: BatchGroup, outcome: BatchOutcome): Error {
  for (const [k, step] of group.steps.entries()) {
    if (step.warning !== undefined) continue;
    const r = outcome.steps.get(`${group.id}.${k}`);
    if (r === undefined) break;
    if (!succeeded(r, step.okExitCodes)) return step.failure(r);
  }
  return new BulwarkError('BULWARK_APPLY_FAILED', 'a step failed without a result');
}

/** The warnings of a group's steps that failed softly. */
export function groupWarnings(group: BatchGroup, outcome: BatchOutcome): string[] {
  const warnings: string[] = [];
  group.steps.forEach((step, k) => {
    const r = outcome.steps.get(`${group.id}.${k}`);
    if (step.warning !== undefined && r !== undefined && !succeeded(r, step.okExitCodes))
      warnings.push(step.warning);
  });
  return warnings;
}

/**
 * What `stat` will print of a file after `write` replaced it, given what it printed before (undefined when it did
 * not exist), or undefined when that cannot be known here (an owner given by a name other than the one it had).
 */
export function predictedStatLine(write: RecordedWrite, before: string | undefined): string | undefined {
  const [type, uid, gid, , owner, group] = before?.split(' ') ?? [];
  if (before !== undefined && (type === undefined || (Number.parseInt(type, 16) & 0o170000) !== 0o100000)) {
    return undefined; // not a regular file: writeFile replaces only those
  }
  const wantOwner = write.options.owner ?? 'root';
  const wantGroup = write.options.group ?? 'root';
  const newUid = wantOwner === 'root' ? '0' : wantOwner === owner ? uid : undefined;
  const newGid = wantGroup === 'root' ? '0' : wantGroup === group ? gid : undefined;
  if (newUid === undefined || newGid === undefined) return undefined;
  const mode = (0o100000 | (write.options.mode & 0o7777)).toString(16);
  return `${mode} ${newUid} ${newGid} ${write.data.length} ${wantOwner} ${wantGroup}`;
}
