/** What the commands share: exit codes, output streams, override parsing and error printing. */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BulwarkError, ERROR_CODES, isBulwarkError } from '../errors.js';
import { colorWanted, makeStyle } from '../report/style.js';
import type { SshOptions } from '../transports/ssh.js';

/** Exit codes, as documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  usage: 1,
  runtime: 2,
  resourcesFailed: 3,
  auditFailed: 100,
  auditSkipped: 101,
} as const;

/** Bulwark's version, as `--version` prints it. */
export const VERSION = '0.1.0';

/** Where the CLI writes; tests pass their own. */
export interface Io {
  readonly stdout: { write(s: string): unknown; isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; isTTY?: boolean };
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
}

/** Parses `--attr NAME.key=value` words (or `--input`) and a JSON or YAML file into overrides keyed by name. */
export async function parseOverrides(
  words: readonly string[],
  file: string | undefined,
  flag = '--attr',
): Promise<Record<string, unknown>> {
  let overrides: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new BulwarkError('BULWARK_USAGE', `cannot read ${file}: ${String(e)}`);
    }
    try {
      const parsed: unknown = /\.ya?ml$/i.test(file) ? (await import('yaml')).parse(text) : JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not a mapping');
      overrides = parsed as Record<string, unknown>;
    } catch (e) {
      throw new BulwarkError('BULWARK_USAGE', `${file} is not a JSON or YAML mapping: ${String(e)}`);
    }
  }
  for (const word of words) {
    const eq = word.indexOf('=');
    const path = eq < 0 ? [] : word.slice(0, eq).split('.');
    if (eq < 0 || path.length < 2 || path.some((p) => p === '')) {
      throw new BulwarkError(
        'BULWARK_USAGE',
        `${flag} ${word}: write NAME.key=value, e.g. ssh-hardening.port=2222`,
      );
    }
    const raw = word.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: keep it as a string.
    }
    setPath(overrides, path, value);
  }
  return overrides;
}

/** The exit code for an error: 1 for usage and input errors, 2 for runtime errors. */
export function exitFor(e: unknown): number {
  if (isBulwarkError(e)) return ERROR_CODES[e.code] === 'usage' ? EXIT.usage : EXIT.runtime;
  return EXIT.runtime;
}

/** Prints an error as `error CODE: message` (and as JSON on stdout when asked); returns its exit code. */
export function reportError(e: unknown, io: Io, options: { json: boolean; noColor: boolean }): number {
  const code = isBulwarkError(e) ? e.code : 'BULWARK_INTERNAL';
  const message = e instanceof Error ? e.message : String(e);
  if (options.json)
    io.stdout.write(`${JSON.stringify({ schemaVersion: 1, error: { code, message } }, null, 2)}\n`);
  const style = makeStyle(!options.noColor && colorWanted(io.stderr));
  io.stderr.write(`${style.red('error')} ${code}: ${message}\n`);
  if (!isBulwarkError(e) && e instanceof Error && e.stack !== undefined) io.stderr.write(`${e.stack}\n`);
  return exitFor(e);
}

/** Refuses to go on unless running as root, naming what needed it. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new BulwarkError(
      'BULWARK_NOT_ROOT',
      `${what} needs root: run bulwark as root (for example with sudo)`,
    );
  }
}

/** Options every command that reaches hosts takes: SSH connection settings and inventories. */
export const REMOTE_OPTIONS = {
  inventory: { type: 'string' },
  limit: { type: 'string' },
  concurrency: { type: 'string' },
  key: { type: 'string', multiple: true, default: [] as string[] },
  sudo: { type: 'boolean', default: false },
  'password-env': { type: 'string' },
  'sudo-password-env': { type: 'string' },
  'known-hosts': { type: 'string' },
  'accept-new-host-keys': { type: 'boolean', default: false },
  bastion: { type: 'string' },
} satisfies ParseArgsConfig['options'];

/** The help lines of REMOTE_OPTIONS. */
export const REMOTE_HELP = `Remote hosts and fleets:
      --inventory FILE      run on the hosts of an inventory (YAML or TypeScript), in parallel, one merged report
      --limit NAMES         only these hosts and groups of the inventory (comma-separated)
      --concurrency N       hosts at once (default 16)
      --key FILE            SSH private key (repeatable; default: the keys OpenSSH would try, and ssh-agent)
      --sudo                run commands through sudo (for a login user that is not root)
      --password-env VAR    take the SSH password from this environment variable
      --sudo-password-env VAR
                            take the sudo password from this environment variable
      --known-hosts FILE    check host keys against this file (default ~/.ssh/known_hosts)
      --accept-new-host-keys
                            accept and record the key of a host seen for the first time (a changed key is
                            always refused)
      --bastion HOP[,HOP...]
                            reach the hosts through these jump hosts, in order (like ssh -J; each hop
                            ssh://[USER@]HOST[:PORT] or [USER@]HOST[:PORT], its key checked too; none for
                            none). Without it, a ProxyJump of ~/.ssh/config applies; HostName, User, Port,
                            IdentityFile and UserKnownHostsFile of ~/.ssh/config (Include and Match
                            honoured) apply where not given
`;

/** SSH options from the command line. */
export function sshOptionsFrom(values: {
  readonly key: readonly string[];
  readonly sudo: boolean;
  readonly 'password-env'?: string | undefined;
  readonly 'sudo-password-env'?: string | undefined;
  readonly 'known-hosts'?: string | undefined;
  readonly 'accept-new-host-keys': boolean;
  readonly bastion?: string | undefined;
}): SshOptions {
  return {
    ...(values.key.length > 0 ? { privateKeys: values.key } : {}),
    ...(values.sudo ? { sudo: true } : {}),
    ...(values['password-env'] === undefined ? {} : { passwordEnv: values['password-env'] }),
    ...(values['sudo-password-env'] === undefined ? {} : { sudoPasswordEnv: values['sudo-password-env'] }),
    ...(values['known-hosts'] === undefined ? {} : { knownHostsFile: values['known-hosts'] }),
    ...(values['accept-new-host-keys'] ? { acceptNewHostKeys: true } : {}),
    ...(values.bastion === undefined ? {} : { bastion: values.bastion }),
  };
}

/** Parses `--concurrency`. */
export function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new BulwarkError('BULWARK_USAGE', `--concurrency ${value}: give a whole number from 1 to 1000`);
  }
  return n;
}

/** A progress line on stderr while a fleet runs, when stderr is a terminal. */
export function fleetProgress(
  io: Io,
): ((p: { done: number; total: number; changed: number; failed: number }) => void) | undefined {
  if (io.stderr.isTTY !== true) return undefined;
  return (p) => {
    io.stderr.write(`\r\u001b[2Khosts ${p.done}/${p.total} done · ${p.changed} changed · ${p.failed} failed`);
    if (p.done === p.total) io.stderr.write('\r\u001b[2K');
  };
}

/** What `parseCommandArgs` returns when the command is to run. */
export type ParsedCommandArgs<O extends ParseArgsConfig['options']> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/**
 * Parses a command's arguments strictly. Prints the command's help (and returns exit 0) for --help, or the usage
 * error followed by the help (and returns exit 1); otherwise returns the parsed values and positionals.
 */
export function parseCommandArgs<O extends ParseArgsConfig['options']>(
  args: readonly string[],
  options: O,
  help: string,
  io: Io,
  allowPositionals = true,
): ParsedCommandArgs<O> | number {
  let parsed: ParsedCommandArgs<O>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`bulwark: ${e instanceof Error ? e.message : String(e)}\n\n${help}`);
    return EXIT.usage;
  }
  if ((parsed.values as { help?: unknown }).help === true) {
    io.stdout.write(help);
    return EXIT.ok;
  }
  if (!allowPositionals && parsed.positionals.length > 0) {
    io.stderr.write(`bulwark: unexpected argument ${JSON.stringify(parsed.positionals[0])}\n\n${help}`);
    return EXIT.usage;
  }
  return parsed;
}
