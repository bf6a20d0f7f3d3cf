/**
 * Bulwark's public API: what cookbooks import as `bulwark`, and the library functions the CLI is a thin layer over.
 */
export { defineCookbook, notify } from './dsl/cookbook.js';
export type {
  AnyCookbook,
  AttributeOverrides,
  Attributes,
  CommonOptions,
  Cookbook,
  CookbookSpec,
  Guard,
  Notification,
  Recipe,
  ResourceRef,
  Timing,
} from './dsl/cookbook.js';
export type { Mode, OctalModeString } from './resources/mode.js';
export type { Facts, Change } from './resources/types.js';
export type { FileProps } from './resources/file.js';
export type { DirectoryProps } from './resources/directory.js';
export { compileCookbook } from './dsl/compile.js';
export type { CompiledCookbook, CompileOptions } from './dsl/compile.js';
export { converge } from './engine/converge.js';
export type { ConvergeOptions } from './engine/converge.js';
export type { RunReport, ResourceResult, Summary } from './engine/report.js';
export { loadCookbook } from './engine/load.js';
export { openTarget, openTargetLazily } from './transports/index.js';
export { defineInventory } from './fleet/define.js';
export type { GroupSpec, HostConnection, HostSpec, InventorySpec } from './fleet/inventory.js';
export type { Transport } from './transports/transport.js';
export { BulwarkError, isBulwarkError } from './errors.js';
export type { ErrorCode, Problem } from './errors.js';
export { defineProfile } from './audit/profile.js';
export type {
  AnyProfile,
  ControlBody,
  ControlContext,
  ControlFn,
  ControlGuard,
  ControlMeta,
  Expectation,
  Impact,
  Inputs,
  Profile,
  ProfileInclude,
  ProfileSpec,
} from './audit/profile.js';
export { compileProfile } from './audit/compile.js';
export type { CompiledProfile, ControlDecl } from './audit/compile.js';
export { audit, auditHost, buildAuditReport, summarizeAudit } from './audit/run.js';
export type { AuditOptions, AuditSources, HostAudit } from './audit/run.js';
export type {
  AuditReport,
  AuditResult,
  AuditStatus,
  AuditSummary,
  Bucket,
  CheckResult,
  Severity,
  Subject,
} from './audit/types.js';
export { parseWaivers } from './audit/waivers.js';
export type { Waiver, Waivers } from './audit/waivers.js';
export { scanHost, assessHost, vulnsProbe, readHostObservation, mergeIndexes } from './vulns/scan.js';
export type {
  Finding,
  FindingBinary,
  FixAvailability,
  HostScan,
  IndexLoader,
  PendingUpgrade,
  ScanOptions,
} from './vulns/scan.js';
export { findingResult, findingMessage, URGENCY_IMPACT } from './vulns/report.js';
export { loadTrackerIndex, parseTrackerFeed, prefetchTrackerIndexes } from './vulns/tracker.js';
export type {
  TrackerIndex,
  TrackerIndexPrefetch,
  TrackerOptions,
  LoadTrackerOptions,
} from './vulns/tracker.js';
export { loadOsvAdvisories } from './vulns/osv.js';
export type { OsvIndex, OsvOptions } from './vulns/osv.js';
export { updateTrackerFeed, readFeedMeta, TRACKER_FEED_URL } from './vulns/feed-download.js';
export type { FeedMeta, UpdateFeedOptions, UpdateFeedResult } from './vulns/feed-download.js';
export type { Advisory, AdvisoryIndex, AdvisoryStatus, Urgency } from './vulns/types.js';
export type { SecurityUpdatesProps } from './resources/security-updates.js';
