/**
 * Node built-ins that cost start-up time (crypto parses its provider tables, zlib binds its native code), loaded
 * on first use instead of when bulwark starts: `bulwark vulns` never needs them. Importable from any layer, like
 * errors.ts.
 */
export const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
export const zlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');
