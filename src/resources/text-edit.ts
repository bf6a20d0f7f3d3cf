/**
 * Shared helpers for resources that edit single lines of a text file in place (`keyValue`, `configLine`): byte-exact
 * decoding, line splitting that keeps each line's own ending, a small unified line diff, reading the `file` probe
 * result, checking the props every such resource has, and writing the edited content back. Everything except
 * `writeEdited` is pure.
 */
import { posix } from 'node:path';
import { BulwarkError, type Problem } from '../errors.js';
import { parseStat } from '../transports/shell-transport.js';
import type { FileStat } from '../transports/transport.js';
import type { ApplyContext, ProbeResult } from './types.js';

/** How a file's bytes were turned into a string: UTF-8 when they are valid UTF-8, otherwise one char per byte. */
export type TextEncoding = 'utf8' | 'latin1';

/** A file's content as a string that turns back into exactly the same bytes. */
export interface DecodedText {
  readonly text: string;
  readonly encoding: TextEncoding;
}

/** Decodes bytes so that `encodeText` gives them back unchanged, whatever they hold. */
export function decodeText(bytes: Buffer): DecodedText {
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) return { text, encoding: 'utf8' };
  return { text: bytes.toString('latin1'), encoding: 'latin1' };
}

/** Turns text back into bytes with the encoding it was decoded with. */
export function encodeText(text: string, encoding: TextEncoding): Buffer {
  return Buffer.from(text, encoding);
}

/** Converts a value written by an author into the string space of a decoded file, so it encodes as UTF-8. */
export function intoEncoding(value: string, encoding: TextEncoding): string {
  return encoding === 'utf8' ? value : Buffer.from(value, 'utf8').toString('latin1');
}

/** Converts text from the string space of a decoded file back into readable text, for reports. */
export function fromEncoding(value: string, encoding: TextEncoding): string {
  return encoding === 'utf8' ? value : Buffer.from(value, 'latin1').toString('utf8');
}

/** One line of a file: its text and its own line ending (`''` only for a last line without one). */
export interface TextLine {
  readonly text: string;
  readonly eol: '' | '\n' | '\r\n';
}

/** Splits text into lines, each keeping its own ending, so joining them gives the text back exactly. */
export function splitLines(text: string): TextLine[] {
  const lines: TextLine[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      lines.push({ text: text.slice(start), eol: '' });
      break;
    }
    const crlf = nl > start && text[nl - 1] === '\r';
    lines.push({ text: text.slice(start, crlf ? nl - 1 : nl), eol: crlf ? '\r\n' : '\n' });
    start = nl + 1;
  }
  return lines;
}

/** Joins lines back into text. */
export function joinLines(lines: readonly TextLine[]): string {
  return lines.map((l) => l.text + l.eol).join('');
}

/** The line ending new lines should get: the one the file's first line uses, or `\n`. */
export function fileEol(lines: readonly TextLine[]): '\n' | '\r\n' {
  const first = lines.find((l) => l.eol !== '');
  return first?.eol === '\r\n' ? '\r\n' : '\n';
}

/**
 * Returns the lines with `text` inserted as a new line before index `at` (`lines.length` appends). A last line
 * without an ending gets one first, so the new line never joins it; the new line always ends with the file's ending.
 */
export function insertLine(lines: readonly TextLine[], at: number, text: string): TextLine[] {
  const eol = fileEol(lines);
  const out = lines.map((l) => (l.eol === '' ? { text: l.text, eol } : l));
  out.splice(at, 0, { text, eol });
  return out;
}

/** Escapes a string for use as a literal inside a regular expression. */
export function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// One operation of a line diff: keep, delete (from a) or insert (from b).
type DiffOp = { readonly op: ' ' | '-' | '+'; readonly text: string; readonly a: number; readonly b: number };

// Above this many cells the middle of a diff is shown as replaced wholesale instead of aligned line by line.
const MAX_LCS_CELLS = 4_000_000;

function diffOps(a: readonly string[], b: readonly string[]): DiffOp[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++;
  const ops: DiffOp[] = [];
  for (let i = 0; i < pre; i++) ops.push({ op: ' ', text: a[i] ?? '', a: i, b: i });
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  if (n * m > MAX_LCS_CELLS) {
    am.forEach((text, i) => ops.push({ op: '-', text, a: pre + i, b: pre }));
    bm.forEach((text, j) => ops.push({ op: '+', text, a: pre + n, b: pre + j }));
  } else {
    // lcs[i * (m + 1) + j] = length of the longest common subsequence of am[i..] and bm[j..].
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          am[i] === bm[j]
            ? (lcs[(i + 1) * (m + 1) + j + 1] ?? 0) + 1
            : Math.max(lcs[(i + 1) * (m + 1) + j] ?? 0, lcs[i * (m + 1) + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push({ op: ' ', text: am[i] ?? '', a: pre + i, b: pre + j });
        i++;
        j++;
      } else if (j < m && (i === n || (lcs[i * (m + 1) + j + 1] ?? 0) > (lcs[(i + 1) * (m + 1) + j] ?? 0))) {
        ops.push({ op: '+', text: bm[j] ?? '', a: pre + i, b: pre + j });
        j++;
      } else {
        ops.push({ op: '-', text: am[i] ?? '', a: pre + i, b: pre + j });
        i++;
      }
    }
  }
  for (let k = 0; k < suf; k++) {
    ops.push({ op: ' ', text: a[a.length - suf + k] ?? '', a: a.length - suf + k, b: b.length - suf + k });
  }
  return ops;
}

function range(start: number, count: number): string {
  // Unified diff numbers lines from 1; an empty range names the line before it.
  const first = count === 0 ? start : start + 1;
  return count === 1 ? String(first) : `${first},${count}`;
}

/** Options for `unifiedDiff`. */
export interface UnifiedDiffOptions {
  /** The name shown in the `---`/`+++` header lines. @default no header */
  readonly path?: string;
  /** Unchanged lines shown around each change. @default 3 */
  readonly context?: number;
  /** Whether the old text is a file that does not exist yet (header `--- /dev/null`). @default false */
  readonly created?: boolean;
}

/**
 * A unified diff of two texts, line by line, with `@@` hunks; `''` when they are equal. A change of line ending
 * only shows as `\r` at the end of a line, and a missing final newline as `\ No newline at end of file`.
 */
export function unifiedDiff(before: string, after: string, options: UnifiedDiffOptions = {}): string {
  if (before === after) return '';
  const context = options.context ?? 3;
  const shown = (lines: TextLine[]): string[] =>
    lines.map(
      (l) =>
        (l.eol === '\r\n' ? `${l.text}\\r` : l.text) + (l.eol === '' ? '\n\\ No newline at end of file' : ''),
    );
  const ops = diffOps(shown(splitLines(before)), shown(splitLines(after)));
  const out: string[] = [];
  if (options.path !== undefined) {
    out.push(`--- ${options.created === true ? '/dev/null' : options.path}`, `+++ ${options.path}`);
  }
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k]?.op === ' ') k++;
    if (k >= ops.length) break;
    const start = Math.max(0, k - context);
    let end = k;
    // Extend the hunk while the next change is within twice the context of the last one.
    for (;;) {
      while (end < ops.length && ops[end]?.op !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]?.op === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    end = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, end);
    const first = hunk[0];
    const aCount = hunk.filter((o) => o.op !== '+').length;
    const bCount = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(first?.a ?? 0, aCount)} +${range(first?.b ?? 0, bCount)} @@`);
    for (const o of hunk) out.push(`${o.op}${o.text}`);
    k = end;
  }
  return out.join('\n') + '\n';
}

/** What the `file` probe saw at a path. */
export type FileState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'other'; readonly stat: FileStat }
  | { readonly kind: 'file'; readonly stat: FileStat; readonly content: Buffer };

/** Parses the result of a `file` probe op; throws BULWARK_PROBE_FAILED when the path could not be read. */
export function readFileState(path: string, result: ProbeResult | undefined): FileState {
  if (result === undefined) {
    throw new BulwarkError('BULWARK_PROBE_FAILED', `the probe returned nothing for ${path}`);
  }
  if (result.exitCode === 3) return { kind: 'missing' };
  if (result.exitCode !== 0) {
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `reading ${path} failed: ${result.stderr.toString('utf8').trim().slice(0, 500) || `exit ${result.exitCode}`}`,
    );
  }
  const stat = parseStat(result.stderr.toString('utf8'));
  return stat.type === 'file' ? { kind: 'file', stat, content: result.stdout } : { kind: 'other', stat };
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Problems with a path prop: it must be an absolute, normalised path to a file, with no NUL or line break. */
export function checkPath(at: string, property: string, value: unknown): Problem[] {
  const bad = (message: string): Problem[] => [{ code: 'BULWARK_RESOURCE_INVALID', at, property, message }];
  if (!isString(value)) return bad('must be a string holding an absolute path');
  if (/[\0\n\r]/.test(value)) return bad('must not contain a NUL byte or a line break');
  if (!value.startsWith('/'))
    return bad(`${JSON.stringify(value)} must be an absolute path (starting with /)`);
  if (value === '/' || value.endsWith('/'))
    return bad(`${JSON.stringify(value)} must name a file, not a directory`);
  if (posix.normalize(value) !== value) {
    return bad(
      `${JSON.stringify(value)} must be normalised (write ${JSON.stringify(posix.normalize(value))})`,
    );
  }
  return [];
}

/** Problems with the `mode` and `verify` props shared by the line-editing resources. */
export function checkWriteProps(
  at: string,
  props: { readonly mode?: unknown; readonly verify?: unknown },
): Problem[] {
  const problems: Problem[] = [];
  const bad = (property: string, message: string): void => {
    problems.push({ code: 'BULWARK_RESOURCE_INVALID', at, property, message });
  };
  if (props.mode !== undefined) {
    if (
      typeof props.mode !== 'number' ||
      !Number.isInteger(props.mode) ||
      props.mode < 0 ||
      props.mode > 0o7777
    ) {
      bad('mode', 'must be an integer permission mode between 0 and 0o7777, e.g. 0o644');
    }
  }
  if (props.verify !== undefined) {
    const v = props.verify;
    if (!Array.isArray(v) || v.length === 0 || !v.every(isString)) {
      bad(
        'verify',
        "must be a non-empty argv array of strings, e.g. ['/usr/sbin/sshd', '-t', '-f', '%{path}']",
      );
    } else if (v[0] === '') {
      bad('verify', 'the program (first word) must not be empty');
    } else if (v.some((w) => w.includes('\0'))) {
      bad('verify', 'must not contain a NUL byte');
    } else if (!v.some((w) => w.includes('%{path}'))) {
      bad('verify', 'must contain %{path} in some word, or it would not check the new content');
    }
  }
  return problems;
}

/** The props `writeEdited` needs. */
export interface WriteEditedOptions {
  readonly mode?: number;
  readonly verify?: readonly string[];
}

/**
 * Installs edited content: over an existing file with its own mode, owner and group and a backup in
 * `ctx.backupDir`, or as a new root-owned file with `options.mode`. Refuses to replace anything but a regular file.
 */
export async function writeEdited(
  path: string,
  state: FileState,
  content: Buffer,
  ctx: ApplyContext,
  options: WriteEditedOptions,
): Promise<void> {
  if (state.kind === 'other') {
    throw new BulwarkError(
      'BULWARK_APPLY_FAILED',
      `${path} is a ${state.stat.type}, not a regular file; Bulwark edits regular files only ` +
        '(manage the file it points to, or remove it first)',
    );
  }
  const verify = options.verify === undefined ? {} : { verify: options.verify };
  if (state.kind === 'file') {
    await ctx.transport.writeFile(path, content, {
      mode: state.stat.mode,
      owner: state.stat.owner,
      group: state.stat.group,
      backupDir: ctx.backupDir,
      ...verify,
    });
  } else {
    await ctx.transport.writeFile(path, content, { mode: options.mode ?? 0o644, ...verify });
  }
}
