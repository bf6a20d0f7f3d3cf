/**
 * The command line: parses arguments, calls one library function, prints through a reporter and maps the outcome
 * to an exit code. No business logic lives here. Imports the engine, audit, dsl, transports and report layers.
 */
import { EXIT, VERSION, type Io } from './common.js';
import type { MainOptions } from './rerun.js';

export { EXIT, type Io } from './common.js';
export type { MainOptions } from './rerun.js';

const MAIN_HELP = `bulwark: security as code for Debian hosts.

Usage:
  bulwark audit [FILE...] [options]     check a host against profiles and cookbooks; change nothing
  bulwark converge COOKBOOK [options]   bring a host to the cookbook's desired state
  bulwark plan COOKBOOK [options]       show exactly what converge would change; change nothing
  bulwark vulns [options]               list missing patches (vulnerable packages); 'vulns update' fetches the feed
  bulwark help [COMMAND]                show help
  bulwark --version

Run 'bulwark COMMAND --help' for a command's options. Exit codes: 0 success, 1 usage or invalid input,
2 runtime error, 3 converge finished with failed resources, 100 audit found failures, 101 audit skipped controls.
`;

// Each command's code is loaded only when that command runs (or its help is asked for).
const HELP: Readonly<Record<string, () => Promise<string>>> = {
  audit: async () => (await import('./audit.js')).AUDIT_HELP,
  converge: async () => (await import('./converge.js')).CONVERGE_HELP,
  plan: async () => (await import('./converge.js')).CONVERGE_HELP,
  vulns: async () => (await import('./vulns.js')).VULNS_HELP,
};

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(
  argv: readonly string[],
  io: Io = process,
  options: MainOptions = {},
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'audit':
      return (await import('./audit.js')).runAudit(rest, io);
    case 'converge':
      return (await import('./converge.js')).runConverge(rest, false, io);
    case 'plan':
      return (await import('./converge.js')).runConverge(rest, true, io);
    case 'vulns':
      // The same entry as the vulns bundle's, which also re-runs `vulns update` to load deferred certificates.
      return (await import('./vulns-entry.js')).main(argv, io, options);
    case 'help':
    case '--help':
    case '-h':
    case undefined: {
      const topic = rest[0] === undefined ? undefined : HELP[rest[0]];
      (command === undefined ? io.stderr : io.stdout).write(topic === undefined ? MAIN_HELP : await topic());
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    case '--version':
    case 'version':
      io.stdout.write(`bulwark ${VERSION}\n`);
      return EXIT.ok;
    default:
      io.stderr.write(`bulwark: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
      return EXIT.usage;
  }
}
