/**
 * The command line: parses arguments, calls one library function, prints through a reporter and maps the outcome
 * to an exit code. No business logic lives here. Imports the engine, dsl, transports and report layers.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { compileCookbook } from '../dsl/compile.js';
import { converge } from '../engine/converge.js';
import { loadCookbook } from '../engine/load.js';
import type { RunReport } from '../engine/report.js';
import { BulwarkError, ERROR_CODES, isBulwarkError } from '../errors.js';
import { formatRunReport } from '../report/converge-text.js';
import { colorWanted, makeStyle } from '../report/style.js';
import { openTarget } from '../transports/index.js';

/** Exit codes, as documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  usage: 1,
  runtime: 2,
  resourcesFailed: 3,
} as const;

const VERSION = '0.1.0';

const MAIN_HELP = `bulwark: security as code for Debian hosts.

Usage:
  bulwark converge COOKBOOK [options]   bring a host to the cookbook's desired state
  bulwark plan COOKBOOK [options]       show exactly what converge would change; change nothing
  bulwark help [COMMAND]                show help
  bulwark --version

Run 'bulwark COMMAND --help' for a command's options. Exit codes: 0 success, 1 usage or invalid input,
2 runtime error (host unreachable, probe failed), 3 converge finished with failed resources.
`;

const CONVERGE_HELP = `Usage: bulwark converge COOKBOOK [options]
       bulwark plan COOKBOOK [options]      (the same as converge --dry-run)

Brings the target to the desired state a TypeScript cookbook declares, idempotently. All reads go to the host in
one round trip; resources are applied in declared order; notifications run at the end (or immediately).

Options:
  -t, --target TARGET       local (default) or chroot:/absolute/dir (a directory holding a Linux root)
  -n, --dry-run             plan only: print what would change, change nothing
      --json                print the run report as one JSON object (schema: docs/report-schema.md)
  -a, --attr K=V            override an attribute: COOKBOOK.path.to.key=value (value parsed as JSON when it
                            parses, else a string); repeatable
      --attributes FILE     attribute overrides from a JSON or YAML file, keyed by cookbook name
      --continue-on-failure go on with later resources after one fails (default: stop)
      --backup-dir DIR      where replaced files are kept on the host (default /var/backups/bulwark)
      --no-typecheck        skip type-checking the cookbook (it is cached by content, so this rarely matters)
  -v, --verbose             list up-to-date resources too
      --no-color            no colour (also: NO_COLOR=1); colour is used only on a terminal
  -h, --help                this help

Exit codes: 0 converged (or planned), 1 usage error or invalid cookbook, 2 runtime error,
3 one or more resources or notifications failed.
`;

const CONVERGE_OPTIONS = {
  target: { type: 'string', short: 't', default: 'local' },
  'dry-run': { type: 'boolean', short: 'n', default: false },
  json: { type: 'boolean', default: false },
  attr: { type: 'string', short: 'a', multiple: true, default: [] },
  attributes: { type: 'string' },
  'continue-on-failure': { type: 'boolean', default: false },
  'backup-dir': { type: 'string' },
  'no-typecheck': { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  'no-color': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsConfig['options'];

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

/** Parses `--attr cookbook.key=value` words and an attributes file into overrides keyed by cookbook name. */
export async function parseAttributeOverrides(
  words: readonly string[],
  file: string | undefined,
): Promise<Record<string, unknown>> {
  let overrides: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new BulwarkError('BULWARK_USAGE', `cannot read the attributes file ${file}: ${String(e)}`);
    }
    try {
      const parsed: unknown = /\.ya?ml$/i.test(file) ? (await import('yaml')).parse(text) : JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not a mapping');
      overrides = parsed as Record<string, unknown>;
    } catch (e) {
      throw new BulwarkError(
        'BULWARK_USAGE',
        `the attributes file ${file} is not a JSON or YAML mapping: ${String(e)}`,
      );
    }
  }
  for (const word of words) {
    const eq = word.indexOf('=');
    const path = eq < 0 ? [] : word.slice(0, eq).split('.');
    if (eq < 0 || path.length < 2 || path.some((p) => p === '')) {
      throw new BulwarkError(
        'BULWARK_USAGE',
        `--attr ${word}: write COOKBOOK.key=value, e.g. ssh-hardening.port=2222`,
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

function exitFor(e: unknown): number {
  if (isBulwarkError(e)) return ERROR_CODES[e.code] === 'usage' ? EXIT.usage : EXIT.runtime;
  return EXIT.runtime;
}

async function runConverge(args: readonly string[], dryRunCommand: boolean, io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: CONVERGE_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`bulwark: ${e instanceof Error ? e.message : String(e)}\n\n${CONVERGE_HELP}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(CONVERGE_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1 || positionals[0] === undefined) {
    io.stderr.write(`bulwark: give exactly one cookbook file\n\n${CONVERGE_HELP}`);
    return EXIT.usage;
  }
  const cookbookFile = positionals[0];
  const dryRun = dryRunCommand || values['dry-run'];
  const style = makeStyle(!values['no-color'] && !values.json && colorWanted(io.stdout));
  const errStyle = makeStyle(!values['no-color'] && colorWanted(io.stderr));
  try {
    if (process.getuid?.() !== 0 && (!dryRun || values.target !== 'local')) {
      throw new BulwarkError(
        'BULWARK_NOT_ROOT',
        `${dryRun ? 'planning on a chroot target' : 'converging'} needs root: run bulwark as root (for example with sudo)`,
      );
    }
    const attributes = await parseAttributeOverrides(values.attr, values.attributes);
    const transport = openTarget(values.target);
    const cookbook = await loadCookbook(cookbookFile, { typecheck: !values['no-typecheck'] });
    const compiled = compileCookbook(cookbook, { attributes });
    let report: RunReport;
    try {
      report = await converge(compiled, transport, {
        dryRun,
        continueOnFailure: values['continue-on-failure'],
        ...(values['backup-dir'] === undefined ? {} : { backupDir: values['backup-dir'] }),
      });
    } finally {
      await transport.close();
    }
    io.stdout.write(
      values.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : `${formatRunReport(report, style, values.verbose)}\n`,
    );
    const failed = report.summary.failed > 0 || report.notifications.some((n) => n.status === 'failed');
    return failed ? EXIT.resourcesFailed : EXIT.ok;
  } catch (e) {
    const code = isBulwarkError(e) ? e.code : 'BULWARK_INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ schemaVersion: 1, error: { code, message } }, null, 2)}\n`);
    }
    io.stderr.write(`${errStyle.red('error')} ${code}: ${message}\n`);
    if (!isBulwarkError(e) && e instanceof Error && e.stack !== undefined) io.stderr.write(`${e.stack}\n`);
    return exitFor(e);
  }
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'converge':
      return runConverge(rest, false, io);
    case 'plan':
      return runConverge(rest, true, io);
    case 'help':
    case '--help':
    case '-h':
    case undefined:
      if (rest[0] === 'converge' || rest[0] === 'plan') io.stdout.write(CONVERGE_HELP);
      else (command === undefined ? io.stderr : io.stdout).write(MAIN_HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    case '--version':
    case 'version':
      io.stdout.write(`bulwark ${VERSION}\n`);
      return EXIT.ok;
    default:
      io.stderr.write(`bulwark: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
      return EXIT.usage;
  }
}
