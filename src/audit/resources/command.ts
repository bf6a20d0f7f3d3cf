/**
 * `command(argv)`: runs one command (argv, never a shell string) inside the batched probe and exposes its exit
 * status and output. The command must only observe: audits never change the host.
 */
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { misuse, resultOf } from './common.js';

/** What a command did. */
export interface CommandObservation {
  readonly exitStatus: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the probe's `timeout` stopped it (exit 124). */
  readonly timedOut: boolean;
}

/** Options of `command()`. */
export interface CommandOptions {
  /** Seconds before the command is stopped and counted as timed out. @default 30 */
  readonly timeoutSec?: number;
}

/** What a control can check about a command's run. */
export interface CommandView {
  /** The exit status (124 when it timed out, 127 when the program does not exist). */
  readonly exitStatus: Subject<number>;
  readonly stdout: Subject<string>;
  readonly stderr: Subject<string>;
  /** True when it ran longer than its timeout. */
  readonly timedOut: Subject<boolean>;
}

/** The default timeout of a command, in seconds. */
export const DEFAULT_COMMAND_TIMEOUT_SEC = 30;

/** Runs `argv` on the target as part of the probe. */
export function command(argv: readonly string[], options: CommandOptions = {}): CommandView {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    misuse(`command() needs a non-empty argv array of strings, not ${JSON.stringify(argv)}`);
  }
  if (argv[0] === '') misuse('command() needs a program name as argv[0]');
  const timeoutSec = options.timeoutSec ?? DEFAULT_COMMAND_TIMEOUT_SEC;
  if (!Number.isInteger(timeoutSec) || timeoutSec < 1 || timeoutSec > 3600) {
    misuse(
      `command() timeoutSec must be a whole number of seconds from 1 to 3600, not ${JSON.stringify(timeoutSec)}`,
    );
  }
  const shown = argv.map((a) => (/^[\w./:=@%+,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  const resource: AuditResource<CommandObservation> = {
    type: 'command',
    key: `command:${timeoutSec}:${JSON.stringify(argv)}`,
    label: `command ${shown}`,
    probe() {
      return { run: { kind: 'exec', argv: [...argv], timeoutSec } };
    },
    read(results: ProbeResults) {
      const r = resultOf(results, 'run', `command ${shown}`);
      return {
        exitStatus: r.exitCode,
        stdout: r.stdout.toString('utf8'),
        stderr: r.stderr.toString('utf8'),
        timedOut: r.exitCode === 124,
      };
    },
  };
  return {
    exitStatus: subject(resource, 'exit status', (o) => o.exitStatus),
    stdout: subject(resource, 'stdout', (o) => o.stdout),
    stderr: subject(resource, 'stderr', (o) => o.stderr),
    timedOut: subject(resource, 'timed out', (o) => o.timedOut),
  };
}
