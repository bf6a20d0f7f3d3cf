/** The `local` target: this machine, commands run as child processes of Bulwark. */
import { runProcess } from './process.js';
import { ShellTransport } from './shell-transport.js';
import type { ExecOptions, ExecResult } from './transport.js';

/** Runs everything on this machine. */
export class LocalTransport extends ShellTransport {
  readonly target = 'local';
  readonly sharesHostKernel = false;

  protected async run(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    try {
      return await runProcess(argv, options);
    } catch (e) {
      // Answer like a shell and like the other transports do: 127 for a missing program, 126 for one not executable.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EACCES') throw e;
      const exitCode = code === 'ENOENT' ? 127 : 126;
      const what = code === 'ENOENT' ? 'not found' : 'permission denied';
      return {
        argv,
        exitCode,
        signal: null,
        timedOut: false,
        stdout: Buffer.alloc(0),
        stderr: Buffer.from(`${argv[0] ?? ''}: ${what}\n`),
        durationMs: 0,
      };
    }
  }
}
