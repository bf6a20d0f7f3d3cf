/**
 * The entry point of `bulwark vulns` (dist/bulwark-vulns.js): a bundle of its own, holding the vulns command and
 * nothing else, so that a scan compiles about a fifth of the code the whole CLI holds. It can stand apart because it
 * never loads a cookbook or profile (those import `bulwark` and must share module instances with the engine,
 * which dist/bulwark.js gives them). bin/bulwark.js picks the bundle by the command's name.
 */
import type { Io } from './common.js';
import { rerun, type MainOptions } from './rerun.js';
import { runVulns } from './vulns.js';

/** Runs `bulwark vulns ...` (`argv` without node and script) and returns the exit code. */
export async function main(
  argv: readonly string[],
  io: Io = process,
  options: MainOptions = {},
): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'vulns')
    throw new Error(`the vulns bundle runs only 'vulns', not ${JSON.stringify(command)}`);
  if (rest[0] === 'update' && options.caCertsDeferred === true) return rerun(argv);
  return runVulns(rest, io);
}
