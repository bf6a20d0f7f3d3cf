/**
 * The one error class Bulwark throws on purpose. Every error carries a stable code that scripts and tests can match,
 * and a message that says what was attempted, what was found and what to do next.
 */

/** Every stable error code, with the exit code its class of failure maps to. */
export const ERROR_CODES = {
  BULWARK_USAGE: 'usage',
  BULWARK_COOKBOOK_NOT_FOUND: 'usage',
  BULWARK_COOKBOOK_COMPILE: 'usage',
  BULWARK_COOKBOOK_TYPECHECK: 'usage',
  BULWARK_COOKBOOK_INVALID: 'usage',
  BULWARK_ATTRIBUTE_UNKNOWN: 'usage',
  BULWARK_RESOURCE_DUPLICATE: 'usage',
  BULWARK_PROFILE_INVALID: 'usage',
  BULWARK_CONTROL_DUPLICATE: 'usage',
  BULWARK_INPUT_UNKNOWN: 'usage',
  BULWARK_WAIVER_INVALID: 'usage',
  BULWARK_INVENTORY_INVALID: 'usage',
  BULWARK_FEED_INVALID: 'runtime',
  BULWARK_FEED_UNAVAILABLE: 'runtime',
  BULWARK_RESOURCE_INVALID: 'usage',
  BULWARK_NOTIFY_UNKNOWN_TARGET: 'usage',
  BULWARK_TARGET_INVALID: 'usage',
  BULWARK_TARGET_NOT_LINUX_ROOT: 'usage',
  BULWARK_NOT_ROOT: 'runtime',
  BULWARK_PROBE_FAILED: 'runtime',
  BULWARK_COMMAND_FAILED: 'runtime',
  BULWARK_COMMAND_TIMEOUT: 'runtime',
  BULWARK_VERIFY_FAILED: 'runtime',
  BULWARK_APPLY_FAILED: 'runtime',
  BULWARK_TRANSPORT: 'runtime',
  BULWARK_HOST_UNREACHABLE: 'runtime',
  BULWARK_AUTH_FAILED: 'runtime',
  BULWARK_HOST_KEY_UNKNOWN: 'runtime',
  BULWARK_HOST_KEY_CHANGED: 'runtime',
  BULWARK_SUDO_FAILED: 'runtime',
  BULWARK_CONNECTION_LOST: 'runtime',
  BULWARK_UNSAFE_VALUE: 'usage',
} as const;

/** A stable error code such as `BULWARK_RESOURCE_INVALID`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem found while validating input, with where it is and why it is wrong. */
export interface Problem {
  /** Stable code of the problem. */
  readonly code: ErrorCode;
  /** The resource address, file or option the problem is about. */
  readonly at: string;
  /** The property that is wrong, when there is one. */
  readonly property?: string;
  /** What is wrong and what to do about it. */
  readonly message: string;
}

/**
 * The mark every BulwarkError carries. `bulwark vulns` loads parts of itself as separate bundles, each with its
 * own copy of this class (and an application may hold two copies of bulwark): errors are recognised by this mark,
 * so `instanceof BulwarkError` and `isBulwarkError` hold across copies.
 */
const BRAND: unique symbol = Symbol.for('bulwark.BulwarkError') as never;

/** An error with a stable code; when validation found several problems, all of them are in `problems`. */
export class BulwarkError extends Error {
  override readonly name = 'BulwarkError';
  readonly code: ErrorCode;
  readonly problems: readonly Problem[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; problems?: readonly Problem[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.problems = options.problems ?? [];
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** An instance of this class, or of another copy of it (see BRAND). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}

/** Throws one error that lists every problem, or returns when there are none. */
export function throwProblems(code: ErrorCode, what: string, problems: readonly Problem[]): void {
  if (problems.length === 0) return;
  const lines = problems.map(
    (p) => `  ${p.at}${p.property === undefined ? '' : ` ${p.property}`}: ${p.message}`,
  );
  const noun = problems.length === 1 ? 'problem' : 'problems';
  throw new BulwarkError(code, `${what}: ${problems.length} ${noun}\n${lines.join('\n')}`, { problems });
}

/** True when `e` is a BulwarkError, optionally with the given code. */
export function isBulwarkError(e: unknown, code?: ErrorCode): e is BulwarkError {
  return e instanceof BulwarkError && (code === undefined || e.code === code);
}
