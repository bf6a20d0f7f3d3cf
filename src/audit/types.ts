/**
 * The audit model: read-only observers (audit resources) whose observations are gathered in the same single probe
 * as everything else, subjects that select one typed value from an observation, and the results of controls.
 * This layer may import resources/types (probe ops, facts), transports and errors; never the engine or cli.
 */
import type { Facts, ProbeRequest, ProbeResults } from '../resources/types.js';

/** The three kinds of vulnerability every result is filed under. */
export type Bucket = 'configuration' | 'patch' | 'code';

/** Every bucket, in report order. */
export const BUCKETS: readonly Bucket[] = ['configuration', 'patch', 'code'];

/**
 * A read-only observer of one aspect of a host (its listening ports, one file, sshd's effective settings...).
 * Observers with the same `key` are observed once per run, however many checks use them.
 */
export interface AuditResource<O> {
  /** The resource type, e.g. `port`, `file`, `sshdConfig`. */
  readonly type: string;
  /** Identity: two resources with the same key share one observation, e.g. `file:/etc/shadow` or `ports`. */
  readonly key: string;
  /** How the resource is shown in messages, e.g. `file /etc/shadow`, `port 21`. */
  readonly label: string;
  /** The observations needed, batched by the audit engine into the run's one probe. */
  probe(): ProbeRequest;
  /** Turns probe results into a typed observation (pure); throws when they cannot be read. */
  read(results: ProbeResults, facts: Facts): O;
}

/**
 * One typed value to check, selected from a resource's observation: `file('/etc/shadow').mode`,
 * `port(21).listening`. Subjects are descriptions, evaluated only after the probe answered.
 */
export interface Subject<T> {
  readonly resource: AuditResource<unknown>;
  /** e.g. `file /etc/shadow mode`. */
  readonly label: string;
  /** Picks the value from the observation. */
  readonly select: (observation: never) => T;
  /** How to show a value of this subject in messages (e.g. modes in octal). @default JSON-ish text */
  format?(value: T): string;
}

/** Makes a subject of `resource` whose value is `select(observation)`. */
export function subject<O, T>(
  resource: AuditResource<O>,
  label: string,
  select: (observation: O) => T,
  format?: (value: T) => string,
): Subject<T> {
  return {
    resource: resource as AuditResource<unknown>,
    label: `${resource.label} ${label}`.trim(),
    select: select as (observation: never) => T,
    ...(format === undefined ? {} : { format }),
  };
}

/** The outcome of one check inside a control. */
export type CheckResult =
  | { readonly status: 'passed'; readonly description: string }
  | {
      readonly status: 'failed';
      readonly description: string;
      readonly expected: string;
      readonly actual: string;
    }
  | { readonly status: 'error'; readonly description: string; readonly message: string };

/** The status of a control or a cookbook resource checked in audit mode. */
export type AuditStatus = 'passed' | 'failed' | 'skipped' | 'error';

/** A waiver applied to a result. */
export interface AppliedWaiver {
  readonly justification: string;
  readonly approver?: string;
  readonly expires?: string;
  /** True when the waiver's date has passed: the control counts again and the report says so. */
  readonly expired: boolean;
}

/** Severity names for impact ranges, as InSpec and CVSS use them. */
export type Severity = 'none' | 'low' | 'medium' | 'high' | 'critical';

/** One result of an audit: a control or a cookbook resource, on one host. */
export interface AuditResult {
  /** `control[ssh-07]` or a cookbook resource address such as `file[/etc/shadow]`. */
  readonly address: string;
  readonly host: string;
  readonly status: AuditStatus;
  readonly bucket: Bucket;
  /** 0..1. */
  readonly impact: number;
  readonly severity: Severity;
  readonly title: string;
  /** One line: why it failed, was skipped or errored; empty when it passed. */
  readonly message: string;
  readonly checks: readonly CheckResult[];
  /** The profile or cookbook it came from. */
  readonly source: string;
  readonly tags: Readonly<Record<string, string | readonly string[]>>;
  readonly refs: readonly { readonly url?: string; readonly title?: string }[];
  readonly description?: string;
  /** Present when a waiver matched this control; a waived failure still shows status `failed`. */
  readonly waiver?: AppliedWaiver;
}

/** Counts of results by status; waived failures are counted in `waived`, not in `failed`. */
export interface StatusCounts {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly errors: number;
  readonly waived: number;
}

/** Totals of a report. */
export interface AuditSummary extends StatusCounts {
  readonly total: number;
  readonly byBucket: Readonly<Record<Bucket, StatusCounts>>;
  readonly bySeverity: Readonly<Record<Severity, StatusCounts>>;
}

/** Per-host facts and costs in a report. */
export interface AuditHost {
  readonly name: string;
  readonly target: string;
  /** Round trips made to this host for the audit (1 when everything was observed in one probe). */
  readonly roundTrips: number;
  readonly durationMs: number;
  /** Set when the host could not be observed at all; its controls are then `error`. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly facts?: Facts;
}

/** Everything an audit found. Version 1 of the audit JSON schema (docs/audit-report-schema.md). */
export interface AuditReport {
  readonly schemaVersion: 1;
  readonly kind: 'bulwark.audit';
  readonly startedAt: string;
  readonly durationMs: number;
  /** The profiles and cookbooks audited, by name. */
  readonly sources: readonly {
    readonly name: string;
    readonly kind: 'profile' | 'cookbook';
    readonly title: string;
    readonly version?: string;
  }[];
  readonly hosts: readonly AuditHost[];
  readonly summary: AuditSummary;
  readonly results: readonly AuditResult[];
  /** Waivers that matched no control: probably a typo or a removed control. */
  readonly unusedWaivers: readonly string[];
  readonly warnings: readonly string[];
}
