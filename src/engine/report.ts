/** The result of a converge or plan run: a value that every reporter and the CLI read. */
import type { AuditReport } from '../audit/types.js';
import type { Change, Facts } from '../resources/types.js';

/** The status of one resource after a run. */
export type ResourceStatus = 'up-to-date' | 'changed' | 'failed' | 'skipped';

/** An error as it appears in reports: a stable code and a message. */
export interface ReportedError {
  readonly code: string;
  readonly message: string;
}

/** The outcome of one resource; fields appear only where they mean something. */
export type ResourceResult =
  | { readonly address: string; readonly status: 'up-to-date'; readonly durationMs: number }
  | {
      readonly address: string;
      readonly status: 'changed';
      readonly changes: readonly Change[];
      readonly durationMs: number;
      /** True in a dry run: the changes were planned, not made. */
      readonly planned: boolean;
      readonly warnings?: readonly string[];
    }
  | {
      readonly address: string;
      readonly status: 'failed';
      readonly changes: readonly Change[];
      readonly error: ReportedError;
      /** The resource had `ignoreFailure`: the run went on as if it had not failed. */
      readonly ignored: boolean;
      readonly durationMs: number;
    }
  | { readonly address: string; readonly status: 'skipped'; readonly reason: string };

/** One notification action that ran (or, in a dry run, would run). */
export interface NotificationResult {
  readonly target: string;
  readonly action: string;
  readonly timing: 'delayed' | 'immediate';
  /** The resources whose change triggered it. */
  readonly by: readonly string[];
  readonly status: 'ran' | 'planned' | 'failed';
  readonly error?: ReportedError;
}

/** Counts of resource statuses. */
export interface Summary {
  readonly changed: number;
  readonly upToDate: number;
  /** Failures that were not ignored. */
  readonly failed: number;
  readonly ignoredFailures: number;
  readonly skipped: number;
}

/** Everything a run did. Version 1 of the JSON report schema. */
export interface RunReport {
  readonly schemaVersion: 1;
  readonly command: 'converge' | 'plan';
  readonly dryRun: boolean;
  readonly target: string;
  readonly cookbook: string;
  readonly startedAt: string;
  readonly durationMs: number;
  /** Round trips made to the host during the run. */
  readonly roundTrips: number;
  readonly summary: Summary;
  readonly resources: readonly ResourceResult[];
  readonly notifications: readonly NotificationResult[];
  readonly warnings: readonly string[];
  readonly facts?: Facts;
  /** Set when the run could not reach or observe the host at all. */
  readonly error?: ReportedError;
  /** With `converge --audit`: the audit run right after the converge. */
  readonly audit?: AuditReport;
}

/** Counts results by status. */
export function summarize(results: readonly ResourceResult[]): Summary {
  const count = { changed: 0, upToDate: 0, failed: 0, ignoredFailures: 0, skipped: 0 };
  for (const r of results) {
    switch (r.status) {
      case 'changed':
        count.changed++;
        break;
      case 'up-to-date':
        count.upToDate++;
        break;
      case 'failed':
        if (r.ignored) count.ignoredFailures++;
        else count.failed++;
        break;
      case 'skipped':
        count.skipped++;
        break;
    }
  }
  return count;
}
