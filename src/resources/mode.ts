/** File modes as cookbooks write them: a number written in octal (`0o644`) or an octal string (`'0644'`). */
import type { Problem } from '../errors.js';

type D = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7';

/** An octal mode string such as `'0644'`, `'644'` or `'4755'`; anything else is an editor error. */
export type OctalModeString = `${D}${D}${D}` | `${D}${D}${D}${D}`;

/** A file mode: a number written in octal (`0o644`) or an octal string (`'0644'`). */
export type Mode = number | OctalModeString;

const SPECIAL = 0o7000;

/** Formats permission bits the way `ls` users read them: `0644`. */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * Turns a mode into permission bits, or reports why it is not a sensible mode for a `kind` of path. A plain number
 * like 644 is decimal (0o1204: sticky bit on a file), the most common mistake, so it gets its own message.
 */
export function parseMode(
  mode: unknown,
  kind: 'file' | 'directory',
  at: string,
): { readonly mode: number } | { readonly problem: Problem } {
  const problem = (message: string): { problem: Problem } => ({
    problem: { code: 'BULWARK_RESOURCE_INVALID', at, property: 'mode', message },
  });
  let bits: number;
  if (typeof mode === 'string') {
    if (!/^[0-7]{3,4}$/.test(mode))
      return problem(`${JSON.stringify(mode)} is not an octal mode like '0644'`);
    bits = Number.parseInt(mode, 8);
  } else if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      return problem(`${mode} is not a mode: write it in octal, like 0o644 or '0644'`);
    }
    bits = mode;
    if (mode > 0o777 && /^[0-7]{3}$/.test(String(mode))) {
      return problem(
        `${mode} is a decimal number (octal ${formatMode(bits)}); write 0o${mode} or '0${mode}' for an octal mode`,
      );
    }
  } else {
    return problem("a mode is a number written in octal (0o644) or an octal string ('0644')");
  }
  if (kind === 'file' && (bits & 0o1000) !== 0) {
    return problem(`mode ${formatMode(bits)} sets the sticky bit, which means nothing on a plain file`);
  }
  if ((bits & SPECIAL & 0o6000) !== 0 && (bits & 0o002) !== 0) {
    return problem(`mode ${formatMode(bits)} makes a setuid/setgid ${kind} writable by everyone`);
  }
  return { mode: bits };
}
