/** `bulwark converge` and `bulwark plan`: parse, load, compile, converge, print, map to an exit code. */
import type { ParseArgsConfig } from 'node:util';
import { audit } from '../audit/run.js';
import { compileCookbook } from '../dsl/compile.js';
import { converge } from '../engine/converge.js';
import { loadCookbook } from '../engine/load.js';
import type { RunReport } from '../engine/report.js';
import { formatAuditReport } from '../report/audit-text.js';
import {
  formatResource,
  formatRunFooter,
  formatRunHeader,
  formatRunReport,
} from '../report/converge-text.js';
import { colorWanted, makeStyle } from '../report/style.js';
import { openTarget } from '../transports/index.js';
import { BulwarkError } from '../errors.js';
import { auditExitCode } from './audit-report.js';
import { defineCookbook, type AnyCookbook } from '../dsl/cookbook.js';
import type { InventoryHost } from '../fleet/inventory.js';
import {
  EXIT,
  fleetProgress,
  parseConcurrency,
  parseCommandArgs,
  parseOverrides,
  REMOTE_HELP,
  REMOTE_OPTIONS,
  reportError,
  requireRoot,
  sshOptionsFrom,
  type Io,
} from './common.js';

/** `bulwark converge --help`. */
export const CONVERGE_HELP = `Usage: bulwark converge COOKBOOK [options]
       bulwark converge [COOKBOOK] --inventory FILE [options]
       bulwark plan COOKBOOK [options]      (the same as converge --dry-run)

Brings the target to the desired state a TypeScript cookbook declares, idempotently. All reads go to the host in
one round trip; resources are applied in declared order; notifications run at the end (or immediately).

Options:
  -t, --target TARGET       local (default), chroot:/absolute/dir (a directory holding a Linux root) or
                            ssh://[user@]host[:port]
  -n, --dry-run             plan only: print what would change, change nothing
      --json                print the run report as one JSON object (schema: docs/report-schema.md)
  -a, --attr K=V            override an attribute: COOKBOOK.path.to.key=value (value parsed as JSON when it
                            parses, else a string); repeatable
      --attributes FILE     attribute overrides from a JSON or YAML file, keyed by cookbook name
      --continue-on-failure go on with later resources after one fails (default: stop)
      --backup-dir DIR      where replaced files are kept on the host (default /var/backups/bulwark)
      --audit               after converging (also after a failed converge), audit the cookbook: every resource
                            against its desired state, plus the controls the cookbook carries
      --enforce             with --audit: exit 100 when a control failed (101 when some were skipped)
      --no-typecheck        skip type-checking the cookbook (it is cached by content, so this rarely matters)
  -v, --verbose             list up-to-date resources too
      --no-color            no colour (also: NO_COLOR=1); colour is used only on a terminal
  -h, --help                this help

${REMOTE_HELP}
With --inventory and no COOKBOOK, each host converges the cookbooks of its groups' run lists. Attributes: --attr
over the host's over its groups' over the cookbook's defaults.

Exit codes: 0 converged (or planned), 1 usage error or invalid cookbook, 2 runtime error (with an inventory: some
host could not be reached), 3 one or more resources or notifications failed (on some host); with --audit
--enforce, 100 or 101 as for bulwark audit.
`;

const OPTIONS = {
  target: { type: 'string', short: 't', default: 'local' },
  'dry-run': { type: 'boolean', short: 'n', default: false },
  json: { type: 'boolean', default: false },
  attr: { type: 'string', short: 'a', multiple: true, default: [] },
  attributes: { type: 'string' },
  'continue-on-failure': { type: 'boolean', default: false },
  'backup-dir': { type: 'string' },
  audit: { type: 'boolean', default: false },
  enforce: { type: 'boolean', default: false },
  'no-typecheck': { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  'no-color': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  ...REMOTE_OPTIONS,
} satisfies ParseArgsConfig['options'];

/** Loads each cookbook file once, however many hosts use it. */
function cookbookCache(typecheck: boolean): (file: string) => Promise<AnyCookbook> {
  const loaded = new Map<string, Promise<AnyCookbook>>();
  return (file) => {
    let p = loaded.get(file);
    if (p === undefined) {
      p = loadCookbook(file, { typecheck });
      loaded.set(file, p);
    }
    return p;
  };
}

/** The cookbook a host's run list converges: one file, or several included in order into one run. */
export async function runListCookbook(
  files: readonly string[],
  load: (file: string) => Promise<AnyCookbook>,
  host: InventoryHost,
  cliAttributes: Record<string, unknown>,
): Promise<ReturnType<typeof compileCookbook>> {
  if (files.length === 0) {
    throw new BulwarkError(
      'BULWARK_USAGE',
      `host ${host.name} has no cookbook in its run list: give COOKBOOK or add cookbooks to its groups`,
    );
  }
  const cookbooks = await Promise.all(files.map(load));
  const top =
    cookbooks.length === 1
      ? (cookbooks[0] as AnyCookbook)
      : defineCookbook({ name: 'run-list', include: cookbooks, recipe: () => undefined });
  const { deepMerge } = await import('../fleet/inventory.js');
  return compileCookbook(top, { attributes: deepMerge(host.attributes, cliAttributes) });
}

/** Runs `converge` (or `plan` when `dryRunCommand`) and returns the exit code. */
export async function runConverge(args: readonly string[], dryRunCommand: boolean, io: Io): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, CONVERGE_HELP, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const dryRun = dryRunCommand || values['dry-run'];
  const style = makeStyle(!values['no-color'] && !values.json && colorWanted(io.stdout));
  if (values.inventory !== undefined) {
    if (positionals.length > 1) {
      io.stderr.write(`bulwark: give at most one cookbook with --inventory\n\n${CONVERGE_HELP}`);
      return EXIT.usage;
    }
    try {
      // Fleet code (inventories, SSH) is loaded only for --inventory.
      const { limitHosts, loadInventory } = await import('../fleet/inventory.js');
      const { convergeFleet } = await import('../fleet/run.js');
      const { formatFleetReport } = await import('../report/fleet-text.js');
      const inventory = await loadInventory(values.inventory);
      const hosts = limitHosts(inventory, values.limit);
      const attributes = await parseOverrides(values.attr, values.attributes);
      const load = cookbookCache(!values['no-typecheck']);
      const concurrency = parseConcurrency(values.concurrency);
      const progress = values.json ? undefined : fleetProgress(io);
      const report = await convergeFleet(
        hosts,
        (host) =>
          runListCookbook(
            positionals.length === 1 ? [positionals[0] as string] : host.cookbooks,
            load,
            host,
            attributes,
          ),
        {
          dryRun,
          continueOnFailure: values['continue-on-failure'],
          ssh: sshOptionsFrom(values),
          ...(concurrency === undefined ? {} : { concurrency }),
          ...(progress === undefined ? {} : { onProgress: progress }),
          ...(values['backup-dir'] === undefined ? {} : { backupDir: values['backup-dir'] }),
        },
      );
      io.stdout.write(
        values.json
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${formatFleetReport(report, style, values.verbose)}\n`,
      );
      if (report.summary.errors > 0) return EXIT.runtime;
      return report.summary.failed > 0 ? EXIT.resourcesFailed : EXIT.ok;
    } catch (e) {
      return reportError(e, io, { json: values.json, noColor: values['no-color'] });
    }
  }
  if (positionals.length !== 1 || positionals[0] === undefined) {
    io.stderr.write(`bulwark: give exactly one cookbook file\n\n${CONVERGE_HELP}`);
    return EXIT.usage;
  }
  try {
    if (values.target === 'local' || values.target.startsWith('chroot:')) {
      if (!dryRun) requireRoot('converging');
      else if (values.target !== 'local') requireRoot('planning on a chroot target');
    }
    const attributes = await parseOverrides(values.attr, values.attributes);
    const transport = openTarget(values.target, { ssh: sshOptionsFrom(values) });
    const cookbook = await loadCookbook(positionals[0], { typecheck: !values['no-typecheck'] });
    const compiled = compileCookbook(cookbook, { attributes });
    let report: RunReport;
    let auditCode: number = EXIT.ok;
    let auditOut = '';
    // On a terminal, resources are printed as they finish, so a long converge shows its progress.
    const live = io.stdout.isTTY === true && !values.json;
    if (live) io.stdout.write(`${formatRunHeader(compiled.name, transport.target, dryRun, style)}\n`);
    try {
      report = await converge(compiled, transport, {
        dryRun,
        continueOnFailure: values['continue-on-failure'],
        ...(live
          ? {
              onResource: (r) => {
                const lines = formatResource(r, style, values.verbose);
                if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
              },
              // All changes go in one script; say so while it runs, which may be minutes of apt.
              onApply: (addresses) => {
                const what = addresses.length === 1 ? '1 change' : `${addresses.length} changes`;
                io.stdout.write(`${style.dim(`  applying ${what} in one round trip...`)}\n`);
              },
            }
          : {}),
        ...(values['backup-dir'] === undefined ? {} : { backupDir: values['backup-dir'] }),
      });
      if (values.audit) {
        const audited = await audit({ profiles: [], cookbooks: [compiled] }, transport);
        auditCode = auditExitCode(audited.summary, false);
        auditOut = values.json ? '' : `\n${formatAuditReport(audited, style, { verbose: values.verbose })}\n`;
        if (values.json) report = { ...report, audit: audited };
      }
    } finally {
      await transport.close();
    }
    const text = live ? formatRunFooter(report, style) : formatRunReport(report, style, values.verbose);
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${text}\n${auditOut}`);
    const failed = report.summary.failed > 0 || report.notifications.some((n) => n.status === 'failed');
    if (failed) return EXIT.resourcesFailed;
    return values.enforce ? auditCode : EXIT.ok;
  } catch (e) {
    return reportError(e, io, { json: values.json, noColor: values['no-color'] });
  }
}
