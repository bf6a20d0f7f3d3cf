/**
 * The `configLine` resource: makes sure one exact line is in a text file (optionally replacing the first line that
 * matches a pattern) or is not, keeping every other line byte for byte. Its address is `configLine[PATH#ID]`, where
 * ID is a short label the author picks, so one file can hold several managed lines with readable, stable addresses
 * (e.g. `configLine[/etc/pam.d/common-password#pwquality]`).
 */
import {
  applyEdit,
  checkEditedFileProps,
  editChanges,
  insertLine,
  intoEncoding,
  joinLines,
  planEdit,
  probeEditedFile,
  readEditedFile,
  splitLines,
  type EditedFileProps,
  type EditedFileState,
  type FileState,
  type PlannedEdit,
  type TextEncoding,
} from './text-edit.js';
import type { Provider } from './types.js';
import { problem } from './validate.js';

/**
 * Props of a `configLine` resource, named `${path}#${id}`: the path, `#`, and a label chosen by the author (no
 * whitespace) that tells this line apart from other managed lines of the same file.
 *
 * `present`: when a line equal to `line` exists (or, with `match`, when the first line that equals `line` or matches
 * `match` is `line`), nothing changes; with `match`, the first line matching it is replaced by `line`; otherwise `line`
 * is appended at the end. `absent`: every line equal to `line` or matching `match` is removed.
 */
export interface ConfigLineProps extends EditedFileProps {
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
}

/** What `configLine` observed: the file as the probe saw it. */
export type ConfigLineState = EditedFileState;

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

function editFor(props: ConfigLineProps, encoding: TextEncoding): ConfigLineEdit {
  const match = compile(props.match);
  return {
    ensure: props.ensure ?? 'present',
    ...(props.line === undefined ? {} : { line: intoEncoding(props.line, encoding) }),
    ...(match === undefined ? {} : { match }),
  };
}

/** The edit of the observed file; `seen` holds the lines it replaces or removes. */
function plan(props: ConfigLineProps, file: FileState): PlannedEdit | null {
  return planEdit(file, props.ensure !== 'absent', (text, encoding) => {
    const r = editConfigLine(text, editFor(props, encoding));
    return { text: r.text, seen: r.removed };
  });
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
    const found = checkEditedFileProps(at, props);
    const bad = (property: string | undefined, message: string): void => {
      found.push(problem(at, property, message));
    };
    if (typeof props.path === 'string') {
      const id = name.startsWith(`${props.path}#`) ? name.slice(props.path.length + 1) : undefined;
      if (id === undefined || id === '' || /[\s\p{Cc}]/u.test(id)) {
        bad(undefined, `the name must be PATH#ID with an ID without whitespace, e.g. ${props.path}#my-line`);
      }
    }
    const line: unknown = props.line;
    if (line === undefined) {
      if (props.ensure !== 'absent') bad('line', "is required unless ensure is 'absent'");
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
    return found;
  },

  probe: (_name, props) => probeEditedFile(props.path),

  read: (_name, props, results) => readEditedFile(props.path, results),

  diff(_name, props, { file }) {
    return editChanges(props.path, file, plan(props, file), (p) => ({
      property: 'line',
      from: describeRemoved(p.seen),
      to: props.ensure === 'absent' ? null : (props.line ?? null),
    }));
  },

  async apply(_name, props, { file }, _changes, ctx) {
    await applyEdit(props, file, plan(props, file), ctx);
  },
};
