/**
 * The transport layer: how Bulwark reaches a host. It owns running commands, reading and atomically writing files,
 * and stat; it knows nothing about resources or cookbooks. It may import only `../errors.js` and Node built-ins.
 */

/** Options for running one command on the target. */
export interface ExecOptions {
  /** Bytes written to the command's standard input, then closed. @default no input (closed at once) */
  readonly stdin?: string | Uint8Array;
  /** Kill the command after this many milliseconds and report a timeout. @default 600000 */
  readonly timeoutMs?: number;
  /** Extra environment variables, on top of Bulwark's fixed, clean environment. @default none */
  readonly env?: Readonly<Record<string, string>>;
  /** Cancels the command. */
  readonly signal?: AbortSignal;
}

/** The result of one command: a value, never an exception, whatever the exit code. */
export interface ExecResult {
  readonly argv: readonly string[];
  /** Exit code, or null when the command was killed by a signal. */
  readonly exitCode: number | null;
  /** The signal that killed the command, if one did. */
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly durationMs: number;
}

/** What `stat` reports of one path (symlinks are not followed). */
export interface FileStat {
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits including setuid, setgid and sticky (`mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Owner name, or the numeric id as a string when it has no name. */
  readonly owner: string;
  /** Group name, or the numeric id as a string when it has no name. */
  readonly group: string;
  readonly size: number;
}

/** Options for replacing a file atomically. */
export interface WriteFileOptions {
  /** Permission bits of the new file. */
  readonly mode: number;
  /** Owner name or id. @default root */
  readonly owner?: string;
  /** Group name or id. @default root */
  readonly group?: string;
  /** Keep a copy of the file being replaced in this directory, named after its path and the time. @default no copy */
  readonly backupDir?: string;
  /**
   * A command run against the new content before it is installed; `%{path}` in any word is replaced by the path of
   * the new content. When it fails the old file stays in place. @default none
   */
  readonly verify?: readonly string[];
}

/** What a write did. */
export interface WriteFileResult {
  /** Where the replaced file was copied to, when a backup was taken. */
  readonly backupPath?: string;
}

/**
 * How Bulwark talks to one host. Every implementation (local, chroot, SSH) passes the same contract suite.
 * Every call is one round trip to the host, and the transport counts them.
 */
export interface Transport {
  /** The target as the user wrote it, e.g. `local` or `chroot:/srv/root`. */
  readonly target: string;
  /**
   * True when the target runs on this machine's kernel without being this machine (a chroot), so live kernel
   * settings must not be changed through it: they would change this machine.
   */
  readonly sharesHostKernel: boolean;
  /** How many round trips this transport has made so far. */
  readonly roundTrips: number;
  /** Runs one command given as argv; no shell is involved. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs a fixed POSIX shell script with `args` as its positional parameters `$1 ...`. */
  script(source: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** The file's bytes, or null when it does not exist. */
  readFile(path: string): Promise<Buffer | null>;
  /** Replaces a file atomically (write beside it, then rename), with mode, owner, an optional backup and verify. */
  writeFile(path: string, data: string | Uint8Array, options: WriteFileOptions): Promise<WriteFileResult>;
  /** Facts about a path without following symlinks, or null when it does not exist. */
  stat(path: string): Promise<FileStat | null>;
  /** Releases the connection; further calls fail. */
  close(): Promise<void>;
}
