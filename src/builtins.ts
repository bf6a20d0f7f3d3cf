/**
 * Node built-ins that cost start-up time (crypto parses its provider tables, zlib binds its native code), loaded
 * on first use instead of when bulwark starts: `bulwark vulns` never needs them. Importable from any layer, like
 * errors.ts.
 */
export const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
export const zlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');

/**
 * A monotonic clock in milliseconds, for durations. `performance.now()` would do, but the first use of the
 * `performance` global loads nine of Node's internal modules (about a millisecond at every start).
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
