/**
 * The resource model: each resource type is a readonly props type plus a provider with `probe`/`read` (observe the
 * current state, batched by the engine into one round trip), a pure `diff` and `apply`. This layer may import the
 * transports layer and `../errors.js`; it never imports the engine, dsl or cli.
 */
import type { Problem } from '../errors.js';
import type { ExecResult, Transport } from '../transports/transport.js';

/** Facts about a host, gathered in the same round trip as the resources' reads. */
export interface Facts {
  readonly hostname: string;
  /** `ID` from /etc/os-release, e.g. `debian`. */
  readonly osId: string;
  /** `VERSION_ID`, e.g. `12`. */
  readonly osVersion: string;
  /** `VERSION_CODENAME`, e.g. `bookworm`. */
  readonly osCodename: string;
  /** `uname -m`. */
  readonly arch: string;
  /** `systemd` when systemd runs as PID 1 (/run/systemd/system exists), otherwise `sysv`. */
  readonly init: 'systemd' | 'sysv';
  /** Whether live kernel parameters can be read and set (/proc/sys is mounted and this is not a chroot). */
  readonly liveKernel: boolean;
}

/** One observation the engine runs on the host as part of the batched probe. */
export type ProbeOp =
  /** stat of a path, not following symlinks. */
  | { readonly kind: 'stat'; readonly path: string }
  /** stat plus the content of a regular file. */
  | { readonly kind: 'file'; readonly path: string }
  /**
   * One command given as argv, with a timeout in seconds. `mergeable`: the argv is `['/bin/sh', '-c', SCRIPT,
   * 'sh', ARG]` with a fixed SCRIPT that reads only `$1`, so the probe may run it for many ARGs in one process (one
   * subshell each) instead of one process each; the timeout then bounds them together.
   */
  | {
      readonly kind: 'exec';
      readonly argv: readonly string[];
      readonly timeoutSec?: number;
      readonly mergeable?: boolean;
    };

/** The result of one probe op. */
export interface ProbeResult {
  /** Exit code; for `stat` and `file` 3 means the path does not exist, 124 a timeout for `exec`. */
  readonly exitCode: number;
  /** stdout (for `file`, the content). */
  readonly stdout: Buffer;
  /** For `stat` and `file`, the raw stat line; for `exec`, stderr. */
  readonly stderr: Buffer;
}

/** The probe ops one resource needs, keyed by names the provider chooses. */
export type ProbeRequest = Readonly<Record<string, ProbeOp>>;

/** Results keyed like the request. */
export type ProbeResults = Readonly<Record<string, ProbeResult>>;

/** One property that differs between the desired and the observed state. */
export interface Change {
  /** What differs: `content`, `mode`, `installed`, `running`... */
  readonly property: string;
  /** The observed value, as text; null when absent. */
  readonly from: string | null;
  /** The desired value, as text; null when it is to be removed. */
  readonly to: string | null;
  /** A unified diff for content changes. */
  readonly diff?: string;
}

/** What a provider hands `apply` besides its props and observed state. */
export interface ApplyContext {
  readonly transport: Transport;
  readonly facts: Facts;
  /** Where replaced files are copied to. */
  readonly backupDir: string;
  /** Records a message for the report (e.g. a sysctl that could not be applied live). */
  warn(message: string): void;
  /**
   * Runs argv on the host and throws when it exits with a code outside `okExitCodes`: the error `failure` makes of
   * the result, else BULWARK_APPLY_FAILED. The engine may batch the commands of several resources into one round
   * trip, so an `apply` must not depend on what `run` returns: decide from the observed state instead.
   */
  run(argv: readonly string[], options?: RunOptions): Promise<ExecResult>;
  /** Runs argv after the commands before it; when it fails, `warning` is recorded and the run goes on. */
  warnUnless(argv: readonly string[], warning: string): Promise<void>;
}

/** Options of `ApplyContext.run`. */
export interface RunOptions {
  readonly stdin?: string | Uint8Array;
  readonly timeoutMs?: number;
  /** Exit codes that count as success. @default [0] */
  readonly okExitCodes?: readonly number[];
  /** The error to report for a failed result (a non-zero exit, a timeout). */
  readonly failure?: (r: ExecResult) => Error;
}

/** The provider of one resource type. `P` is its props, `S` its observed state. */
export interface Provider<P, S> {
  /** The type name used in addresses, e.g. `file`. */
  readonly type: string;
  /** The props each call accepts besides the common options; unknown ones are errors. */
  readonly knownProps: readonly string[];
  /** Checks props and returns every problem found; must not touch the host. */
  validate(name: string, props: P): Problem[];
  /** The observations needed to know the current state. */
  probe(name: string, props: P): ProbeRequest;
  /** Turns probe results into the observed state (pure). */
  read(name: string, props: P, results: ProbeResults, facts: Facts): S;
  /** What must change to reach the desired state (pure, no I/O); empty when up to date. */
  diff(name: string, props: P, state: S, facts: Facts): Change[];
  /** Makes the changes; throws a BulwarkError on failure. */
  apply(name: string, props: P, state: S, changes: readonly Change[], ctx: ApplyContext): Promise<void>;
  /** Actions other resources can trigger through `notifies`, e.g. `restart`. */
  readonly actions?: Readonly<Record<string, (name: string, props: P, ctx: ApplyContext) => Promise<void>>>;
  /** A warning shown when the resource is declared as it is (e.g. an execute without a guard). */
  lint?(name: string, props: P, hasGuard: boolean): string | undefined;
}
