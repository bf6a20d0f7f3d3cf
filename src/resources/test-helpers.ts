/**
 * Scaffolding shared by the resource tests: facts and probe results for unit tests of `read` and `diff`, a stub
 * transport and an apply context that records commands instead of running them, and a checked shell on test hosts.
 * Test-only.
 */
import assert from 'node:assert/strict';
import { BulwarkError } from '../errors.js';
import type { TestHost } from '../testing/host.js';
import type { ExecResult, Transport, WriteFileOptions } from '../transports/transport.js';
import type { ApplyContext, Facts, ProbeResult } from './types.js';

/** The facts of a Debian 12 host whose PID 1 is not systemd and which shares this machine's kernel. */
export const FACTS: Facts = {
  hostname: 'h',
  osId: 'debian',
  osVersion: '12',
  osCodename: 'bookworm',
  arch: 'x86_64',
  init: 'sysv',
  liveKernel: false,
};

/** One probe op's result: for `stat` and `file` ops, `stderr` is the stat line and exit code 3 means missing. */
export function probeResult(stdout: string, exitCode = 0, stderr = ''): ProbeResult {
  return { exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) };
}

/** The result of running argv: exit code 0 and no output unless `fields` says otherwise. */
export function execResult(argv: readonly string[], fields: Partial<ExecResult> = {}): ExecResult {
  return {
    argv,
    exitCode: 0,
    signal: null,
    timedOut: false,
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
    durationMs: 0,
    ...fields,
  };
}

/** A transport to target `fake` whose methods fail the test unless `methods` provides them. */
export function stubTransport(methods: Partial<Transport> = {}): Transport {
  const unused = (): never => assert.fail('the transport is not used here');
  return {
    target: 'fake',
    sharesHostKernel: false,
    roundTrips: 0,
    exec: unused,
    script: unused,
    readFile: unused,
    writeFile: unused,
    stat: unused,
    close: async () => undefined,
    ...methods,
  };
}

/** One file written through a recording context's transport. */
export interface RecordedWrite {
  readonly path: string;
  readonly data: string;
  readonly mode: number;
  readonly backupDir: string | undefined;
}

/** An apply context that records what a provider asks for, and the records. */
export interface Recording {
  readonly ctx: ApplyContext;
  /** Every `ctx.run`, and every `transport.script` as `['script', ...args]`, in order. */
  readonly runs: string[][];
  /** The same, each joined with spaces. */
  readonly commands: string[];
  /** Every `transport.writeFile`. */
  readonly writes: RecordedWrite[];
  /** Every `ctx.warn`. */
  readonly warnings: string[];
}

/** Options for `recordingContext`. */
export interface RecordingOptions {
  /** A command that fails: `ctx.run` throws BULWARK_APPLY_FAILED with this text when it returns one. @default none */
  readonly fail?: (argv: readonly string[]) => string | undefined;
}

/**
 * An apply context whose commands, scripts and file writes are recorded and succeed, so nothing reaches a host or
 * this machine's kernel. Its transport shares this machine's kernel exactly when `facts.liveKernel` is false.
 */
export function recordingContext(facts: Facts, options: RecordingOptions = {}): Recording {
  const runs: string[][] = [];
  const commands: string[] = [];
  const writes: RecordedWrite[] = [];
  const warnings: string[] = [];
  const record = (argv: readonly string[]): void => {
    runs.push([...argv]);
    commands.push(argv.join(' '));
  };
  const transport = stubTransport({
    sharesHostKernel: !facts.liveKernel,
    script: async (_source, args) => {
      record(['script', ...args]);
      return execResult(args);
    },
    writeFile: async (path: string, data: string | Uint8Array, o: WriteFileOptions) => {
      writes.push({ path, data: Buffer.from(data).toString('utf8'), mode: o.mode, backupDir: o.backupDir });
      return {};
    },
  });
  const ctx: ApplyContext = {
    transport,
    facts,
    backupDir: '/var/backups/bulwark',
    warn: (m) => warnings.push(m),
    run: async (argv) => {
      record(argv);
      const failure = options.fail?.(argv);
      if (failure !== undefined)
        throw new BulwarkError('BULWARK_APPLY_FAILED', `${argv.join(' ')} ${failure}`);
      return execResult(argv);
    },
    warnUnless: async (argv, warning) => {
      record(argv);
      if (options.fail?.(argv) !== undefined) warnings.push(warning);
    },
  };
  return { ctx, runs, commands, writes, warnings };
}

/** Runs a shell script on a test host, checks that it exited 0, and returns its stdout. */
export async function sh(host: TestHost, script: string): Promise<string> {
  const r = await host.sh(script);
  assert.equal(r.exitCode, 0, r.stderr.toString());
  return r.stdout.toString();
}
