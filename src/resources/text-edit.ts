/**
 * Shared helpers for resources that edit single lines of a text file in place (`keyValue`, `configLine`): byte-exact
 * decoding, line splitting that keeps each line's own ending, reading the `file` probe result, checking the props
 * every such resource has, planning an edit, its change with a diff, and installing it. Everything except
 * `applyEdit` is pure. `file` shares the probe reading and the refusal of paths that are not regular files.
 */
import { BulwarkError, type Problem } from '../errors.js';
import { parseStat } from '../transports/shell-transport.js';
import type { FileStat } from '../transports/transport.js';
import { checkMode, modeBits, type Mode } from './mode.js';
import { unifiedDiff } from './text-diff.js';
import type { ApplyContext, Change, ProbeRequest, ProbeResult, ProbeResults } from './types.js';
import { checkEnsure, checkPath, checkVerify, problems } from './validate.js';

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

/**
 * The error for a path that is not a regular file. Bulwark never replaces a symlink (nor writes through it) or any
 * other type of file with a regular file: the author must say which path they mean.
 */
export function notRegularFile(path: string, type: FileStat['type']): BulwarkError {
  if (type === 'symlink') {
    return new BulwarkError(
      'BULWARK_APPLY_FAILED',
      `${path} is a symlink; manage its target or remove the link first`,
    );
  }
  const what = type === 'other' ? 'special file (a fifo, socket or device)' : type;
  const next =
    type === 'directory' ? 'remove it first, or manage it with a directory resource' : 'remove it first';
  return new BulwarkError('BULWARK_APPLY_FAILED', `${path} is a ${what}, not a regular file; ${next}`);
}

/** The change shown for a path that is not a regular file; apply refuses it with `notRegularFile`. */
export function typeChange(stat: FileStat): Change {
  return { property: 'type', from: stat.type, to: 'file' };
}

/** The props every resource that edits lines of one file has. */
export interface EditedFileProps {
  /** Absolute path of the file. */
  readonly path: string;
  /** Whether the edit puts something in (`present`) or takes it out (`absent`). @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /**
   * Permission bits when the file is created, in octal: `0o600` or `'0600'`; an existing file keeps its mode, owner
   * and group. @default 0o644
   */
  readonly mode?: Mode;
  /**
   * A command run against the new content before it replaces the file, with `%{path}` (the new content's path) in
   * some word, e.g. `['/usr/sbin/sshd', '-t', '-f', '%{path}']`; when it fails the old file stays. @default none
   */
  readonly verify?: readonly string[];
}

/** Problems with `path`, `ensure`, `mode` and `verify`, the props every line-editing resource has. */
export function checkEditedFileProps(
  at: string,
  props: {
    readonly path?: unknown;
    readonly ensure?: unknown;
    readonly mode?: unknown;
    readonly verify?: unknown;
  },
): Problem[] {
  return problems(
    checkPath(props.path, at, 'path', { file: true }),
    checkEnsure(props.ensure, at),
    checkMode(props.mode, 'file', at),
    checkVerify(props.verify, at),
  );
}

/** What a line-editing resource observed: the file as the probe saw it. */
export interface EditedFileState {
  readonly file: FileState;
}

/** The probe of a line-editing resource: the file's stat and content, in one op. */
export function probeEditedFile(path: string): ProbeRequest {
  return { file: { kind: 'file', path } };
}

/** Reads the result of `probeEditedFile`. */
export function readEditedFile(path: string, results: ProbeResults): EditedFileState {
  return { file: readFileState(path, results['file']) };
}

/** What an editor made of a file's text. */
export interface TextEditResult {
  /** The new text (equal to the input when nothing had to change). */
  readonly text: string;
  /** What the edit reports, such as the values found or the lines removed, in the text's own string space. */
  readonly seen: readonly string[];
}

/** An edit worked out against the observed file. */
export interface PlannedEdit {
  /** The text before and after, as readable (UTF-8) text for the diff. */
  readonly before: string;
  readonly after: string;
  /** The edit's `seen`, as readable text. */
  readonly seen: readonly string[];
  /** The bytes to install. */
  readonly content: Buffer;
}

/**
 * Runs `edit` over the observed file's text in the file's own encoding, or over empty text for a missing file
 * when `create` is true. Returns null when nothing is to be written: the text stays the same, the file is missing
 * and not to be created, or the path is not a regular file.
 */
export function planEdit(
  file: FileState,
  create: boolean,
  edit: (text: string, encoding: TextEncoding) => TextEditResult,
): PlannedEdit | null {
  if (file.kind === 'other' || (file.kind === 'missing' && !create)) return null;
  const { text, encoding } =
    file.kind === 'file' ? decodeText(file.content) : { text: '', encoding: 'utf8' as const };
  const r = edit(text, encoding);
  if (file.kind === 'file' && r.text === text) return null;
  return {
    before: fromEncoding(text, encoding),
    after: fromEncoding(r.text, encoding),
    seen: r.seen.map((v) => fromEncoding(v, encoding)),
    content: encodeText(r.text, encoding),
  };
}

/**
 * The changes of a planned edit: a `type` change for a path that is not a regular file, none when there is nothing
 * to write, else the one change `describe` gives, with the diff of the file.
 */
export function editChanges(
  path: string,
  file: FileState,
  plan: PlannedEdit | null,
  describe: (plan: PlannedEdit) => Omit<Change, 'diff'>,
): Change[] {
  if (file.kind === 'other') return [typeChange(file.stat)];
  if (plan === null) return [];
  return [
    {
      ...describe(plan),
      diff: unifiedDiff(plan.before, plan.after, { path, created: file.kind === 'missing' }),
    },
  ];
}

/**
 * Installs a planned edit: over an existing file with its own mode, owner and group and a backup in
 * `ctx.backupDir`, or as a new root-owned file with `props.mode`. Refuses anything but a regular file.
 */
export async function applyEdit(
  props: EditedFileProps,
  file: FileState,
  plan: PlannedEdit | null,
  ctx: ApplyContext,
): Promise<void> {
  if (file.kind === 'other') throw notRegularFile(props.path, file.stat.type);
  if (plan === null) return;
  const verify = props.verify === undefined ? {} : { verify: props.verify };
  if (file.kind === 'file') {
    await ctx.transport.writeFile(props.path, plan.content, {
      mode: file.stat.mode,
      owner: file.stat.owner,
      group: file.stat.group,
      backupDir: ctx.backupDir,
      ...verify,
    });
  } else {
    await ctx.transport.writeFile(props.path, plan.content, {
      mode: modeBits(props.mode, 'file', 0o644),
      ...verify,
    });
  }
}
