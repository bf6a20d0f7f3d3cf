/**
 * How the `bulwark` process was started, and running it again: bin/bulwark defers NODE_EXTRA_CA_CERTS (see
 * there), so the one command that opens TLS connections runs again in a Node that loads it.
 */
import { EXIT } from './common.js';

/** How the process was started. */
export interface MainOptions {
  /**
   * bin/bulwark moved NODE_EXTRA_CA_CERTS aside so Node would not load it at start-up (and bin/bulwark.js restored
   * it in the environment): the one command that opens TLS connections is then run again in a Node that loads it.
   */
  readonly caCertsDeferred?: boolean;
}

/** Runs this same CLI again as a child process with the current environment; resolves to its exit code. */
export async function rerun(argv: readonly string[]): Promise<number> {
  const [{ spawn }, { constants }] = await Promise.all([import('node:child_process'), import('node:os')]);
  const entry = process.argv[1];
  if (entry === undefined) return EXIT.runtime;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...argv], { stdio: 'inherit' });
    child.on('error', () => resolve(EXIT.runtime));
    child.on('exit', (code, signal) =>
      resolve(code ?? (signal === null ? EXIT.runtime : 128 + constants.signals[signal])),
    );
  });
}
