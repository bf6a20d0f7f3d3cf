/**
 * Helpers shared by the audit resources: reading probe results (missing files, failed commands), checking the
 * arguments controls pass (misuse throws at once), and decoding the record lines the fixed probe scripts print.
 */
import { BulwarkError } from '../../errors.js';
import type { ProbeResult, ProbeResults } from '../../resources/types.js';

/** The result of the op `id`; throws when the probe returned none (an engine bug, not a host state). */
export function resultOf(results: ProbeResults, id: string, what: string): ProbeResult {
  const r = results[id];
  if (r === undefined) {
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `observing ${what} failed: the probe returned no result for ${id}`,
    );
  }
  return r;
}

/** The text of a `file` op, or undefined when the path does not exist (exit 3). */
export function fileText(results: ProbeResults, id: string, path: string): string | undefined {
  const r = resultOf(results, id, path);
  if (r.exitCode === 3) return undefined;
  if (r.exitCode !== 0) {
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `could not read ${path} (exit ${r.exitCode}); check that it is readable by the probe's user`,
    );
  }
  return r.stdout.toString('utf8');
}

/** The stdout of an `exec` op that must succeed; throws with its exit code and stderr otherwise. */
export function execText(results: ProbeResults, id: string, what: string): string {
  const r = resultOf(results, id, what);
  if (r.exitCode !== 0) {
    const how = r.exitCode === 124 ? 'timed out' : `exited ${r.exitCode}`;
    const err = r.stderr.toString('utf8').trim().slice(0, 2000);
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `observing ${what} failed: the probe command ${how}${err === '' ? '' : `: ${err}`}`,
    );
  }
  return r.stdout.toString('utf8');
}

/** Throws a usage error: a control called a resource function with an argument it cannot mean. */
export function misuse(message: string): never {
  throw new BulwarkError('BULWARK_USAGE', message);
}

/** Checks that `path` is a clean absolute path (no NUL or line break) and returns it. */
export function absolutePath(path: unknown, what: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    misuse(`${what} needs an absolute path, not ${JSON.stringify(path)}`);
  }
  if (/[\0\n\r]/.test(path)) misuse(`${what} path ${JSON.stringify(path)} holds a NUL or a line break`);
  return path;
}

/** Checks that `value` is a non-empty string without NUL, line breaks or other control characters. */
export function plainString(value: unknown, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value === '' || /[\0-\x1f\x7f]/.test(value)) {
    misuse(`${what} must be a non-empty string without control characters, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** Compiles a regular expression source given by a control; a bad one throws at once with the reason. */
export function regExp(source: string, what: string): RegExp {
  try {
    return new RegExp(source);
  } catch (e) {
    return misuse(
      `${what}: ${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message})`,
    );
  }
}

/** The lines of a text, without the empty string after a final newline. */
export function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Decodes one base64 field of a record line; `-` stands for empty. */
export function b64(field: string | undefined): string {
  return field === undefined || field === '-' ? '' : Buffer.from(field, 'base64').toString('utf8');
}

/** One file printed by a fixed probe script as `F <base64 path> <base64 content>`. */
export interface ProbedFile {
  readonly path: string;
  readonly content: string;
}

/**
 * Shell function for fixed probe scripts: `F PATH` prints the file as one record line, `F <b64 path> <b64 content>`
 * (`-` for empty), so any bytes survive and the TypeScript side sees where each file starts and ends.
 */
export const EMIT_FILE_FN = `F() { printf 'F %s ' "$(printf %s "$1" | base64 -w0)"
  if [ -s "$1" ]; then base64 -w0 <"$1"; else printf -; fi; echo; }`;

/** Parses the `F` records of a fixed probe script, in the order printed; other lines are left to the caller. */
export function parseFileRecords(text: string): ProbedFile[] {
  const files: ProbedFile[] = [];
  for (const line of text.split('\n')) {
    const [tag, path, content] = line.split(' ');
    if (tag === 'F' && path !== undefined) files.push({ path: b64(path), content: b64(content) });
  }
  return files;
}

/** Sorted numbers or strings without duplicates. */
export function uniqueSorted<T extends number | string>(values: Iterable<T>): T[] {
  return [...new Set(values)].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number'
      ? a - b
      : String(a) < String(b)
        ? -1
        : String(a) > String(b)
          ? 1
          : 0,
  );
}

/** The values that occur more than once, sorted. */
export function duplicates<T extends number | string>(values: readonly T[]): T[] {
  const seen = new Set<T>();
  const twice = new Set<T>();
  for (const v of values) {
    if (seen.has(v)) twice.add(v);
    seen.add(v);
  }
  return uniqueSorted(twice);
}
