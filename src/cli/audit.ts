/** `bulwark audit`: check profiles and cookbooks against a target, report through one or more reporters. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { compileProfile } from '../audit/compile.js';
import { isProfile } from '../audit/profile.js';
import { audit, type AuditSources } from '../audit/run.js';
import { parseWaivers, type Waivers } from '../audit/waivers.js';
import { compileCookbook, type CompiledCookbook } from '../dsl/compile.js';
import { isCookbook } from '../dsl/cookbook.js';
import { loadDefaultExport, PACKAGE_ROOT } from '../engine/load.js';
import { BulwarkError } from '../errors.js';
import { parseReporterSpecs } from '../report/reporters.js';
import { openTarget } from '../transports/index.js';
import {
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
import { emitAuditReport } from './audit-report.js';

export { auditExitCode, emitAuditReport } from './audit-report.js';
import type { CompiledProfile } from '../audit/compile.js';

/** The profile `bulwark audit` runs when no file is given. */
export const BASELINE_PROFILE = join(PACKAGE_ROOT, 'content', 'baseline', 'profile.ts');

/** `bulwark audit --help`. */
export const AUDIT_HELP = `Usage: bulwark audit [FILE...] [options]

Checks what was really built. Each FILE is a profile (defineProfile: controls) or a cookbook (defineCookbook: each
resource is checked against its desired state, plus the controls it carries). Without FILE, the bundled Debian 12
baseline profile runs. Nothing on the target changes; everything is observed in one round trip.

Options:
  -t, --target TARGET       local (default), chroot:/absolute/dir or ssh://[user@]host[:port]
  -i, --input K=V           override a profile input: PROFILE.key=value (JSON when it parses); repeatable
      --input-file FILE     input overrides from a JSON or YAML file, keyed by profile name
  -a, --attr K=V            override a cookbook attribute: COOKBOOK.key=value; repeatable
      --attributes FILE     cookbook attribute overrides from a JSON or YAML file
  -w, --waivers FILE        waivers (YAML): control id -> justification, approver, expires, run
  -r, --reporter SPEC       cli (default), json, json:PATH, junit:PATH, sarif:PATH, html:PATH; repeatable
      --json                the same as --reporter json (the report on stdout)
      --no-distinct-exit    exit 0 instead of 100/101 when controls failed or were skipped
      --no-typecheck        skip type-checking the files
  -v, --verbose             list passed controls and every check
      --no-color            no colour (also: NO_COLOR=1)
  -h, --help                this help

${REMOTE_HELP}
With --inventory and no FILE, each host is audited with the profiles and cookbooks of its groups' run lists (the
baseline when they have none). Inputs and attributes: --input/--attr over the host's over its groups'.

Exit codes (the worst host counts): 0 every control passed or was waived, 100 at least one control failed or could not be evaluated,
101 none failed but some were skipped, 1 usage error or invalid input, 2 runtime error (target unreachable).
`;

const OPTIONS = {
  target: { type: 'string', short: 't', default: 'local' },
  input: { type: 'string', short: 'i', multiple: true, default: [] },
  'input-file': { type: 'string' },
  attr: { type: 'string', short: 'a', multiple: true, default: [] },
  attributes: { type: 'string' },
  waivers: { type: 'string', short: 'w' },
  reporter: { type: 'string', short: 'r', multiple: true, default: [] },
  json: { type: 'boolean', default: false },
  'no-distinct-exit': { type: 'boolean', default: false },
  'no-typecheck': { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  'no-color': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  ...REMOTE_OPTIONS,
} satisfies ParseArgsConfig['options'];

/** Loads each file once, however many hosts use it, and compiles it with the overrides it is given. */
function sourceLoader(
  typecheck: boolean,
): (
  files: readonly string[],
  overrides: { inputs: Record<string, unknown>; attributes: Record<string, unknown> },
) => Promise<AuditSources> {
  const loaded = new Map<string, Promise<unknown>>();
  return async (files, overrides) => {
    const profiles: CompiledProfile[] = [];
    const cookbooks: CompiledCookbook[] = [];
    for (const file of files) {
      let p = loaded.get(file);
      if (p === undefined) {
        p = loadDefaultExport(file, { typecheck, what: 'profile or cookbook' });
        loaded.set(file, p);
      }
      const value = await p;
      if (isProfile(value)) profiles.push(compileProfile(value, { inputs: overrides.inputs }));
      else if (isCookbook(value))
        cookbooks.push(compileCookbook(value, { attributes: overrides.attributes }));
      else {
        throw new BulwarkError(
          'BULWARK_PROFILE_INVALID',
          `${file} must export a profile (defineProfile) or a cookbook (defineCookbook) as its default export`,
        );
      }
    }
    return { profiles, cookbooks };
  };
}

/** Runs `audit` and returns the exit code. */
export async function runAudit(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, AUDIT_HELP, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const json = values.json || values.reporter.some((r) => r === 'json');
  try {
    if (values.target.startsWith('chroot:')) requireRoot('auditing a chroot target');
    const specs = parseReporterSpecs(
      values.json ? [...values.reporter, 'json'] : values.reporter.length > 0 ? values.reporter : ['cli'],
    );
    const inputs = await parseOverrides(values.input, values['input-file'], '--input');
    const attributes = await parseOverrides(values.attr, values.attributes);
    let waivers: Waivers = new Map();
    if (values.waivers !== undefined) {
      let text: string;
      try {
        text = readFileSync(values.waivers, 'utf8');
      } catch (e) {
        throw new BulwarkError(
          'BULWARK_USAGE',
          `cannot read the waiver file ${values.waivers}: ${String(e)}`,
        );
      }
      waivers = await parseWaivers(text, values.waivers);
    }
    const load = sourceLoader(!values['no-typecheck']);
    let report;
    if (values.inventory !== undefined) {
      // Fleet code (inventories, SSH) is loaded only for --inventory.
      const { deepMerge, limitHosts, loadInventory } = await import('../fleet/inventory.js');
      const { auditFleet } = await import('../fleet/run.js');
      const inventory = await loadInventory(values.inventory);
      const hosts = limitHosts(inventory, values.limit);
      const concurrency = parseConcurrency(values.concurrency);
      const progress = json ? undefined : fleetProgress(io);
      report = await auditFleet(
        hosts,
        (host) => {
          const runList = [...host.profiles, ...host.cookbooks];
          const files =
            positionals.length > 0 ? positionals : runList.length > 0 ? runList : [BASELINE_PROFILE];
          return load(files, {
            inputs: deepMerge(host.inputs, inputs),
            attributes: deepMerge(host.attributes, attributes),
          });
        },
        {
          waivers,
          ssh: sshOptionsFrom(values),
          ...(concurrency === undefined ? {} : { concurrency }),
          ...(progress === undefined ? {} : { onProgress: progress }),
        },
      );
    } else {
      const files = positionals.length > 0 ? positionals : [BASELINE_PROFILE];
      const sources = await load(files, { inputs, attributes });
      const transport = openTarget(values.target, { ssh: sshOptionsFrom(values) });
      report = await audit(sources, transport, { waivers }).finally(() => transport.close());
    }
    return await emitAuditReport(report, specs, io, {
      noColor: values['no-color'],
      verbose: values.verbose,
      noDistinctExit: values['no-distinct-exit'],
    });
  } catch (e) {
    return reportError(e, io, { json, noColor: values['no-color'] });
  }
}
