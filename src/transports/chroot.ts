/**
 * The `chroot:DIR` target: a directory holding a Linux root. Every command, including the ones behind file reads and
 * writes, runs inside the root, so absolute symlinks in it resolve within it and owners come from its /etc/passwd.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { BulwarkError } from '../errors.js';
import { runProcess } from './process.js';
import { ShellTransport } from './shell-transport.js';
import type { ExecOptions, ExecResult } from './transport.js';

/** Options for a chroot transport. */
export interface ChrootOptions {
  /**
   * How to enter the root: the argv prefix put before every command. Test hosts use `nsenter` into a process that
   * lives in the root with its own namespaces. @default ['chroot', dir]
   */
  readonly enter?: readonly string[];
  /** The name shown as the target. @default `chroot:${dir}` */
  readonly name?: string;
}

/** Checks that `dir` looks like a Linux root Bulwark can run in, and throws a clear error when it does not. */
export function assertLinuxRoot(dir: string): void {
  if (!isAbsolute(dir)) {
    throw new BulwarkError('BULWARK_TARGET_INVALID', `chroot target ${dir} must be an absolute path`);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new BulwarkError('BULWARK_TARGET_INVALID', `chroot target ${dir} is not a directory`);
  }
  const missing = ['bin/sh', 'etc/passwd', 'usr/bin/stat'].filter((p) => !existsSync(join(dir, p)));
  if (missing.length > 0) {
    throw new BulwarkError(
      'BULWARK_TARGET_NOT_LINUX_ROOT',
      `chroot target ${dir} is not a Linux root: it has no ${missing.join(', ')}. ` +
        'Point --target chroot:DIR at a directory holding a full system (for example one made by debootstrap).',
    );
  }
}

/** Runs everything inside a directory holding a Linux root. */
export class ChrootTransport extends ShellTransport {
  readonly target: string;
  readonly dir: string;
  readonly sharesHostKernel = true;
  readonly #enter: readonly string[];

  constructor(dir: string, options: ChrootOptions = {}) {
    super();
    assertLinuxRoot(dir);
    this.dir = dir;
    this.target = options.name ?? `chroot:${dir}`;
    this.#enter = options.enter ?? ['chroot', dir];
  }

  protected run(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    return runProcess([...this.#enter, ...argv], options).then((r) => ({ ...r, argv }));
  }
}
