/**
 * The `configLine` resource: makes sure one exact line is in a text file (optionally replacing the first line that
 * matches a pattern) or is not, keeping every other line byte for byte. Its address is `configLine[PATH#ID]`, where
 * ID is a short label the author picks, so one file can hold several managed lines with readable, stable addresses
 * (e.g. `configLine[/etc/pam.d/common-password#pwquality]`).
 */
import type { Problem } from '../errors.js';
import {
  checkPath,
  checkWriteProps,
  decodeText,
  encodeText,
  fromEncoding,
  insertLine,
  intoEncoding,
  joinLines,
  readFileState,
  splitLines,
  unifiedDiff,
  writeEdited,
  type FileState,
} from './text-edit.js';
import type { Change, Provider } from './types.js';

/**
 * Props of a `configLine` resource, named `${path}#${id}`: the path, `#`, and a label chosen by the author (no
 * whitespace) that tells this line apart from other managed lines of the same file.
 *
 * `present`: when a line equal to `line` exists (or, with `match`, when the first line that equals `line` or matches
 * `match` is `line`), nothing changes; with `match`, the first line matching it is replaced by `line`; otherwise `line`
 * is appended at the end. `absent`: every line equal to `line` or matching `match` is removed.
 */
export interface ConfigLineProps {
  /** Absolute path of the file; must equal the part of the name before the `#`. */
  readonly path: string;
  /** The exact line (without line ending); required when `ensure` is `present`. */
  readonly line?: string;
  /** Whether the line is in the file (`present`) or not (`absent`). @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /**
   * A JavaScript regular expression source tested against each line (without its ending), e.g. `'^PASS_MAX_DAYS\\s'`:
   * the first match is replaced by `line`; with `absent`, every match is removed. @default only `line` itself
   */
  readonly match?: string;
  /** Permission bits when the file is created; an existing file keeps its mode, owner and group. @default 0o644 */
  readonly mode?: number;
  /**
   * A command run against the new content before it replaces the file, `%{path}` standing for the new content's
   * path; when it fails the old file stays. @default none
   */
  readonly verify?: readonly string[];
}

/** What `configLine` observed: the file as the probe saw it. */
export interface ConfigLineState {
  readonly file: FileState;
}

/** One line edit, for `editConfigLine`. */
export interface ConfigLineEdit {
  /** The line to ensure; `undefined` (or `absent`) removes instead. */
  readonly line?: string;
  readonly ensure: 'present' | 'absent';
  readonly match?: RegExp;
}

/** The outcome of `editConfigLine`. */
export interface ConfigLineEditResult {
  /** The new text (equal to the input when nothing had to change). */
  readonly text: string;
  /** The lines replaced or removed, in file order. */
  readonly removed: readonly string[];
}

/** Ensures one line is present or absent in text, changing nothing else; pure. See `ConfigLineProps`. */
export function editConfigLine(text: string, edit: ConfigLineEdit): ConfigLineEditResult {
  const lines = splitLines(text);
  const hits = (t: string): boolean => t === edit.line || (edit.match?.test(t) ?? false);
  if (edit.ensure === 'absent') {
    const removed = lines.filter((l) => hits(l.text)).map((l) => l.text);
    if (removed.length === 0) return { text, removed };
    return { text: joinLines(lines.filter((l) => !hits(l.text))), removed };
  }
  const line = edit.line ?? '';
  const index =
    edit.match === undefined ? lines.findIndex((l) => l.text === line) : lines.findIndex((l) => hits(l.text));
  const existing = index === -1 ? undefined : lines[index];
  if (existing === undefined) return { text: joinLines(insertLine(lines, lines.length, line)), removed: [] };
  if (existing.text === line) return { text, removed: [] };
  const out = [...lines];
  out[index] = { text: line, eol: existing.eol };
  return { text: joinLines(out), removed: [existing.text] };
}

const NO_CONTROL = /^[^\p{Cc}]*$/u;

function compile(match: string | undefined): RegExp | undefined {
  if (match === undefined) return undefined;
  try {
    return new RegExp(match);
  } catch {
    return undefined;
  }
}

function editFor(props: ConfigLineProps, encoding: 'utf8' | 'latin1'): ConfigLineEdit {
  const match = compile(props.match);
  return {
    ensure: props.ensure ?? 'present',
    ...(props.line === undefined ? {} : { line: intoEncoding(props.line, encoding) }),
    ...(match === undefined ? {} : { match }),
  };
}

function describeRemoved(removed: readonly string[]): string | null {
  const [first] = removed;
  if (first === undefined) return null;
  return removed.length === 1 ? first : `${first} (and ${removed.length - 1} more)`;
}

/** The `configLine` provider. */
export const configLineProvider: Provider<ConfigLineProps, ConfigLineState> = {
  type: 'configLine',
  knownProps: ['path', 'line', 'ensure', 'match', 'mode', 'verify'],

  validate(name, props) {
    const at = `configLine[${name}]`;
    const problems: Problem[] = [];
    const bad = (property: string | undefined, message: string): void => {
      problems.push({
        code: 'BULWARK_RESOURCE_INVALID',
        at,
        ...(property === undefined ? {} : { property }),
        message,
      });
    };
    problems.push(...checkPath(at, 'path', props.path));
    if (typeof props.path === 'string') {
      const id = name.startsWith(`${props.path}#`) ? name.slice(props.path.length + 1) : undefined;
      if (id === undefined || id === '' || /[\s\p{Cc}]/u.test(id)) {
        bad(undefined, `the name must be PATH#ID with an ID without whitespace, e.g. ${props.path}#my-line`);
      }
    }
    const ensure: unknown = props.ensure;
    if (ensure !== undefined && ensure !== 'present' && ensure !== 'absent') {
      bad('ensure', "must be 'present' or 'absent'");
    }
    const line: unknown = props.line;
    if (line === undefined) {
      if (ensure !== 'absent') bad('line', "is required unless ensure is 'absent'");
      else if (props.match === undefined) bad('line', "or match is required with ensure 'absent'");
    } else if (typeof line !== 'string' || line === '') {
      bad('line', 'must be a non-empty string');
    } else if (!NO_CONTROL.test(line.replaceAll('\t', ' '))) {
      bad('line', 'must be one line: no line break, NUL or other control character except tab');
    }
    const match: unknown = props.match;
    if (match !== undefined) {
      if (typeof match !== 'string' || match === '') {
        bad('match', 'must be a non-empty regular expression source, e.g. "^PASS_MAX_DAYS\\\\s"');
      } else if (compile(match) === undefined) {
        bad('match', `${JSON.stringify(match)} is not a valid JavaScript regular expression`);
      }
    }
    problems.push(...checkWriteProps(at, props));
    return problems;
  },

  probe(_name, props) {
    return { file: { kind: 'file', path: props.path } };
  },

  read(_name, props, results) {
    return { file: readFileState(props.path, results['file']) };
  },

  diff(_name, props, state) {
    const file = state.file;
    if (file.kind === 'other') return [{ property: 'type', from: file.stat.type, to: 'file' }];
    const absent = props.ensure === 'absent';
    let before = '';
    let after: string;
    let removed: readonly string[] = [];
    if (file.kind === 'missing') {
      if (absent) return [];
      after = editConfigLine('', editFor(props, 'utf8')).text;
    } else {
      const decoded = decodeText(file.content);
      const r = editConfigLine(decoded.text, editFor(props, decoded.encoding));
      if (r.text === decoded.text) return [];
      before = fromEncoding(decoded.text, decoded.encoding);
      after = fromEncoding(r.text, decoded.encoding);
      removed = r.removed.map((l) => fromEncoding(l, decoded.encoding));
    }
    const change: Change = {
      property: 'line',
      from: describeRemoved(removed),
      to: absent ? null : (props.line ?? null),
      diff: unifiedDiff(before, after, { path: props.path, created: file.kind === 'missing' }),
    };
    return [change];
  },

  async apply(_name, props, state, _changes, ctx) {
    const file = state.file;
    let content: Buffer = Buffer.alloc(0);
    if (file.kind === 'file') {
      const decoded = decodeText(file.content);
      content = encodeText(
        editConfigLine(decoded.text, editFor(props, decoded.encoding)).text,
        decoded.encoding,
      );
    } else if (file.kind === 'missing') {
      if (props.ensure === 'absent') return;
      content = Buffer.from(editConfigLine('', editFor(props, 'utf8')).text, 'utf8');
    }
    await writeEdited(props.path, file, content, ctx, props);
  },
};
