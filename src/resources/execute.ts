/**
 * The `execute` resource: runs one command given as argv, never through an implicit shell. It is idempotent only
 * through `creates` (a path whose existence means the work is done) or an engine guard (`onlyIf`/`notIf`); `lint`
 * says so when neither is given. Its `run` action runs the command for a notification whatever `creates` says.
 */
import { BulwarkError, type Problem } from '../errors.js';
import { quoteArgv } from '../transports/quote.js';
import type { ApplyContext, Provider } from './types.js';
import { checkAccount, checkArgv, checkPath, problem, problems } from './validate.js';

/** Props of an `execute` resource; its name is a label chosen by the author, e.g. `execute[update-grub]`. */
export interface ExecuteProps {
  /** The command as argv; for a shell, write `['/bin/sh', '-c', 'script']` explicitly. */
  readonly command: readonly string[];
  /** An absolute path whose existence means the command has already done its work. @default none: always runs */
  readonly creates?: string;
  /** Absolute working directory of the command. @default the transport's (/ for chroot and SSH targets) */
  readonly cwd?: string;
  /** Extra environment variables, on top of Bulwark's clean environment. @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Kill the command and fail after this many seconds. @default 600 */
  readonly timeoutSeconds?: number;
  /** The exit codes that mean success. @default [0] */
  readonly returns?: readonly number[];
  /** Run as this user, through `runuser -u USER --`. @default root (Bulwark's own user) */
  readonly user?: string;
}

/** What `execute` observed: whether its `creates` path exists (false when there is none). */
export interface ExecuteState {
  readonly createsExists: boolean;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_BAD = /[\p{Cc}]/u;
const DEFAULT_TIMEOUT_SECONDS = 600;
const TAIL = 2000;

/** The argv actually run: the command, wrapped in `env` for cwd/environment and `runuser` for another user. */
export function commandArgv(props: ExecuteProps): string[] {
  const argv = [...props.command];
  const env = Object.entries(props.environment ?? {}).map(([k, v]) => `${k}=${v}`);
  // env's own options end at `--`; NAME=VALUE words follow, then the command (whose program has no `=`).
  const wrapped =
    props.cwd !== undefined || env.length > 0
      ? ['env', ...(props.cwd === undefined ? [] : ['-C', props.cwd]), '--', ...env, ...argv]
      : argv;
  return props.user === undefined ? wrapped : ['runuser', '-u', props.user, '--', ...wrapped];
}

function tail(b: Buffer): string {
  const s = b.toString('utf8').trim();
  return s.length > TAIL ? `...${s.slice(-TAIL)}` : s;
}

async function run(name: string, props: ExecuteProps, ctx: ApplyContext): Promise<void> {
  const timeoutSeconds = props.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const shown = quoteArgv(props.command);
  const returns = props.returns ?? [0];
  await ctx.run(commandArgv(props), {
    timeoutMs: Math.round(timeoutSeconds * 1000),
    okExitCodes: returns,
    failure: (r) => {
      if (r.timedOut) {
        return new BulwarkError(
          'BULWARK_COMMAND_TIMEOUT',
          `execute[${name}] (${shown}) was killed after ${timeoutSeconds} s; raise timeoutSeconds if it needs longer`,
        );
      }
      const how = r.exitCode === null ? `was killed by ${r.signal ?? 'a signal'}` : `exited ${r.exitCode}`;
      const expected = returns.length === 1 ? String(returns[0]) : `one of ${returns.join(', ')}`;
      const err = tail(r.stderr);
      const out = err === '' ? tail(r.stdout) : err;
      return new BulwarkError(
        'BULWARK_APPLY_FAILED',
        `execute[${name}] (${shown}) ${how}, expected ${expected}${out === '' ? '' : `: ${out}`}`,
      );
    },
  });
}

/** The `execute` provider. */
export const executeProvider: Provider<ExecuteProps, ExecuteState> = {
  type: 'execute',
  knownProps: ['command', 'creates', 'cwd', 'environment', 'timeoutSeconds', 'returns', 'user'],

  validate(name, props) {
    const at = `execute[${name}]`;
    const found: Problem[] = [];
    const bad = (property: string | undefined, message: string): void => {
      found.push(problem(at, property, message));
    };
    if (name.trim() === '' || LABEL_BAD.test(name)) {
      bad(undefined, 'the name must be a non-empty one-line label without control characters');
    }
    const command: unknown = props.command;
    const notArgv = checkArgv(command, at, 'command', "['/usr/sbin/update-grub']");
    if (notArgv !== undefined) {
      found.push(notArgv);
    } else {
      const [program = '', ...args] = command as readonly string[];
      if (program.includes('=') || program.startsWith('-')) {
        bad('command', 'the program (first word) must not contain `=` or start with `-`');
      } else if (args.length === 0 && /\s/.test(program)) {
        bad(
          'command',
          `${JSON.stringify(program)} is one program name with spaces; split the words into argv`,
        );
      }
    }
    const env: unknown = props.environment;
    if (env !== undefined) {
      if (typeof env !== 'object' || env === null || Array.isArray(env)) {
        bad('environment', 'must be an object of NAME: value strings');
      } else {
        for (const [k, v] of Object.entries(env)) {
          if (!ENV_NAME.test(k)) bad('environment', `${JSON.stringify(k)} is not a valid variable name`);
          else if (typeof v !== 'string') bad('environment', `${k} must be a string`);
          else if (v.includes('\0')) bad('environment', `${k} must not contain a NUL byte`);
        }
      }
    }
    const timeout: unknown = props.timeoutSeconds;
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)) {
      bad('timeoutSeconds', 'must be a positive number of seconds');
    }
    const returns: unknown = props.returns;
    if (returns !== undefined) {
      if (
        !Array.isArray(returns) ||
        returns.length === 0 ||
        !returns.every((c) => typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 255)
      ) {
        bad('returns', 'must be a non-empty array of exit codes between 0 and 255');
      }
    }
    return [
      ...found,
      ...problems(
        props.creates === undefined
          ? undefined
          : checkPath(props.creates, at, 'creates', { trailingSlash: true }),
        props.cwd === undefined ? undefined : checkPath(props.cwd, at, 'cwd', { trailingSlash: true }),
        props.user === undefined ? undefined : checkAccount(props.user, at, 'user'),
      ),
    ];
  },

  probe(_name, props) {
    return props.creates === undefined ? {} : { creates: { kind: 'stat', path: props.creates } };
  },

  read(_name, props, results) {
    return { createsExists: props.creates !== undefined && results['creates']?.exitCode === 0 };
  },

  diff(_name, props, state) {
    if (state.createsExists) return [];
    return [{ property: 'run', from: null, to: quoteArgv(props.command) }];
  },

  async apply(name, props, _state, _changes, ctx) {
    await run(name, props, ctx);
    if (props.creates !== undefined) {
      await ctx.warnUnless(
        ['test', '-e', props.creates],
        `execute[${name}] succeeded but did not create ${props.creates}, so it will run again next time`,
      );
    }
  },

  actions: {
    run: (name, props, ctx) => run(name, props, ctx),
  },

  lint(name, props, hasGuard) {
    if (props.creates !== undefined || hasGuard) return undefined;
    return `execute[${name}] runs on every converge: add creates, onlyIf or notIf so it is idempotent`;
  },
};
