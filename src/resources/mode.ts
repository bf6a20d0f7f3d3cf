/** File modes as cookbooks write them: a number written in octal (`0o644`) or an octal string (`'0644'`). */
import type { Problem } from '../errors.js';
import { problem } from './validate.js';

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
  const bad = (message: string): { problem: Problem } => ({ problem: problem(at, 'mode', message) });
  let bits: number;
  if (typeof mode === 'string') {
    if (!/^[0-7]{3,4}$/.test(mode)) return bad(`${JSON.stringify(mode)} is not an octal mode like '0644'`);
    bits = Number.parseInt(mode, 8);
  } else if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      return bad(`${mode} is not a mode: write it in octal, like 0o644 or '0644'`);
    }
    bits = mode;
    if (mode > 0o777 && /^[0-7]{3}$/.test(String(mode))) {
      return bad(
        `${mode} is a decimal number (octal ${formatMode(bits)}); write 0o${mode} or '0${mode}' for an octal mode`,
      );
    }
  } else {
    return bad("a mode is a number written in octal (0o644) or an octal string ('0644')");
  }
  if (kind === 'file' && (bits & 0o1000) !== 0) {
    return bad(`mode ${formatMode(bits)} sets the sticky bit, which means nothing on a plain file`);
  }
  if ((bits & SPECIAL & 0o6000) !== 0 && (bits & 0o002) !== 0) {
    return bad(`mode ${formatMode(bits)} makes a setuid/setgid ${kind} writable by everyone`);
  }
  return { mode: bits };
}

/** A `mode` prop that is left out or a sensible mode for a `kind` of path (see `parseMode`). */
export function checkMode(mode: unknown, kind: 'file' | 'directory', at: string): Problem | undefined {
  if (mode === undefined) return undefined;
  const m = parseMode(mode, kind, at);
  return 'problem' in m ? m.problem : undefined;
}

/** The permission bits of a desired mode, or `fallback` when it is not given (validation refused anything else). */
export function modeBits(mode: Mode | undefined, kind: 'file' | 'directory', fallback: number): number {
  if (mode === undefined) return fallback;
  const m = parseMode(mode, kind, '');
  return 'mode' in m ? m.mode : fallback;
}
