/** The `local` target: this machine, commands run as child processes of Bulwark. */
import { runProcess } from './process.js';
import { ShellTransport } from './shell-transport.js';
import type { ExecOptions, ExecResult } from './transport.js';

/** Runs everything on this machine. */
export class LocalTransport extends ShellTransport {
  readonly target = 'local';
  readonly sharesHostKernel = false;

  protected run(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    return runProcess(argv, options);
  }
}
