/**
 * Debian package versions: parsing, validation and ordering exactly as dpkg defines them (deb-version(7), dpkg's
 * `parseversion` and `verrevcmp`). Pure functions with no I/O; the audit layer uses them to decide whether an
 * installed package is older than a fixed version.
 *
 * Which strings are accepted was settled by experiment against `dpkg --compare-versions` (dpkg 1.21.22, Debian 12):
 * - dpkg *errors* (exit 2) on: an empty epoch (`:1`, `a:1`), an epoch that is not a number (`0x1:1`, `1.0-1:2`),
 *   a negative epoch (`-1:1`), an epoch above 2147483647, nothing after the colon (`1:`), an empty upstream version
 *   (`1:-1`, `-1`), an empty revision (`1.0-`), and blanks inside the string (`1 0`). We refuse all of these.
 * - dpkg only *warns* (and still compares) on characters outside the allowed sets (`1.0;touch`, `1_0`, `1.0\nx`,
 *   `ä`) and on an upstream version that does not start with a digit (`a1.0`, `~`). We refuse the former, because
 *   such a string is never a real package version and may be hostile, and accept the latter, as dpkg does.
 * - Deliberately stricter than dpkg: the empty string (dpkg reads it as "no version" and orders it before every
 *   version), leading or trailing whitespace (dpkg trims blanks), and a signed epoch (`+1:1`, `-0:1`, which dpkg's
 *   `strtol` accepts) are refused.
 * - A missing revision compares equal to revision `0` (`1.0` eq `1.0-0`), since both are read as empty digit runs.
 */

import { BulwarkError } from '../errors.js';

/** A Debian version split into its three parts; `revision` is `''` when the version has none. */
export interface DebianVersion {
  /** The epoch, 0 when the version has none; at most 2147483647, as in dpkg. */
  readonly epoch: number;
  /** The upstream version: what follows the epoch colon, up to the last hyphen. */
  readonly upstream: string;
  /** The Debian revision after the last hyphen, or `''` when there is no hyphen. */
  readonly revision: string;
}

/** The largest epoch dpkg accepts (C `INT_MAX`). */
const MAX_EPOCH = 2147483647;

/** Upstream characters dpkg allows: ASCII letters and digits and `.+~-:`. */
const UPSTREAM_CHARS = /^[A-Za-z0-9.+~:-]*$/;

/** Revision characters dpkg allows: ASCII letters and digits and `.+~`. */
const REVISION_CHARS = /^[A-Za-z0-9.+~]*$/;

/** Returns why `v` is not an acceptable Debian version, or the parsed version. */
function parseOrExplain(v: string): DebianVersion | string {
  if (v.length === 0) return 'it is empty; give a version such as "1.2.3-1"';
  if (/\s/.test(v)) return 'it contains whitespace; remove it';
  const colon = v.indexOf(':');
  let epoch = 0;
  let rest = v;
  if (colon !== -1) {
    const epochText = v.slice(0, colon);
    if (epochText.length === 0)
      return 'the epoch before ":" is empty; write a number such as "1:" or drop the colon';
    if (!/^[0-9]+$/.test(epochText)) {
      return `the epoch "${epochText}" is not an unsigned decimal number; write digits only, such as "1:"`;
    }
    const digits = epochText.replace(/^0+/, '');
    if (digits.length > 10 || Number(digits) > MAX_EPOCH) {
      return `the epoch ${epochText} is larger than dpkg allows (${MAX_EPOCH})`;
    }
    epoch = Number(digits);
    rest = v.slice(colon + 1);
    if (rest.length === 0)
      return `nothing follows the epoch "${epochText}:"; write the upstream version after it`;
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const revision = hyphen === -1 ? '' : rest.slice(hyphen + 1);
  if (upstream.length === 0) return 'the upstream version (before the last "-") is empty';
  if (hyphen !== -1 && revision.length === 0) {
    return 'the revision after the last "-" is empty; remove the trailing "-" or add a revision such as "-1"';
  }
  if (!UPSTREAM_CHARS.test(upstream)) {
    return `the upstream version "${upstream}" has characters outside A-Z a-z 0-9 . + ~ - :`;
  }
  if (!REVISION_CHARS.test(revision)) {
    return `the revision "${revision}" has characters outside A-Z a-z 0-9 . + ~`;
  }
  return { epoch, upstream, revision };
}

// Matching compares the same few versions thousands of times (one installed version against every advisory of
// its source), so valid parses are remembered; the memo is dropped whole when it grows past its bound.
const MEMO_LIMIT = 20_000;
const memo = new Map<string, DebianVersion>();

/** The parse of `v`, or why it is invalid; valid parses are remembered. */
function parseRemembered(v: string): DebianVersion | string {
  const known = memo.get(v);
  if (known !== undefined) return known;
  const parsed = parseOrExplain(v);
  if (typeof parsed !== 'string') {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(v, parsed);
  }
  return parsed;
}

/**
 * Splits a Debian version `[epoch:]upstream[-revision]` into its parts.
 * @throws BulwarkError `BULWARK_RESOURCE_INVALID` when `v` is not a valid version (see the header for the rules).
 */
export function parseDebianVersion(v: string): DebianVersion {
  const parsed = parseRemembered(v);
  if (typeof parsed === 'string') {
    throw new BulwarkError(
      'BULWARK_RESOURCE_INVALID',
      `Debian version ${JSON.stringify(v)} is invalid: ${parsed}.`,
    );
  }
  return parsed;
}

/** True when `v` is a Debian version that `parseDebianVersion` accepts (validated versions are compared next). */
export function isValidDebianVersion(v: string): boolean {
  return typeof parseRemembered(v) !== 'string';
}

/** True when the character code is an ASCII digit. */
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The weight dpkg gives one character of a non-digit part: `~` lowest, then the end, letters, everything else. */
function weight(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1;
  return c + 256;
}

/**
 * dpkg's `verrevcmp`: compares alternating non-digit and digit parts. Digit runs are compared as numbers of any
 * length: after leading zeros are dropped, the longer run is larger, and runs of equal length compare as text.
 */
function compareFragment(a: string, b: string): -1 | 0 | 1 {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const wa = weight(a, i);
      const wb = weight(b, j);
      if (wa !== wb) return wa < wb ? -1 : 1;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    const startA = i;
    const startB = j;
    while (isDigit(a.charCodeAt(i))) i++;
    while (isDigit(b.charCodeAt(j))) j++;
    const length = i - startA;
    if (length !== j - startB) return length < j - startB ? -1 : 1;
    // Runs of equal length compare digit by digit (no substrings: matching calls this thousands of times).
    for (let k = 0; k < length; k++) {
      const d = a.charCodeAt(startA + k) - b.charCodeAt(startB + k);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
  }
  return 0;
}

/**
 * Orders two Debian versions as dpkg does: by epoch, then upstream version, then revision.
 * @returns -1 when `a` is older than `b`, 0 when they are equal, 1 when `a` is newer.
 * @throws BulwarkError `BULWARK_RESOURCE_INVALID` when either version is invalid.
 */
export function compareDebianVersions(a: string, b: string): -1 | 0 | 1 {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  return compareFragment(va.upstream, vb.upstream) || compareFragment(va.revision, vb.revision);
}

/** True when `a` is strictly older than `b` (dpkg `lt`, `<<`). */
export function debVersionLt(a: string, b: string): boolean {
  return compareDebianVersions(a, b) < 0;
}

/** True when `a` is older than or equal to `b` (dpkg `le`, `<=`). */
export function debVersionLe(a: string, b: string): boolean {
  return compareDebianVersions(a, b) <= 0;
}

/** True when `a` and `b` are the same version, e.g. `1.0` and `0:1.0-0` (dpkg `eq`, `=`). */
export function debVersionEq(a: string, b: string): boolean {
  return compareDebianVersions(a, b) === 0;
}

/** True when `a` is newer than or equal to `b` (dpkg `ge`, `>=`). */
export function debVersionGe(a: string, b: string): boolean {
  return compareDebianVersions(a, b) >= 0;
}

/** True when `a` is strictly newer than `b` (dpkg `gt`, `>>`). */
export function debVersionGt(a: string, b: string): boolean {
  return compareDebianVersions(a, b) > 0;
}
