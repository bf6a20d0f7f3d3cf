/** Spawns one local process with a clean environment, collects its output and enforces a timeout. */
import { monotonicMs } from '../builtins.js';
import { spawn } from 'node:child_process';
import type { ExecOptions, ExecResult } from './transport.js';

/** The environment every command starts from, so runs do not depend on the caller's shell. */
export const CLEAN_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  HOME: '/root',
  DEBIAN_FRONTEND: 'noninteractive',
  APT_LISTCHANGES_FRONTEND: 'none',
};

const DEFAULT_TIMEOUT_MS = 600_000;

/** Runs argv as a child process (no shell) and resolves with its result; rejects only when it cannot start. */
export function runProcess(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('empty argv'));
  const started = monotonicMs();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...CLEAN_ENV, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const onAbort = (): void => killGroup();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted === true) killGroup();
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      // the command exited without reading its input; its exit code tells the story
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        argv,
        exitCode: code,
        signal,
        timedOut,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        durationMs: monotonicMs() - started,
      });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
