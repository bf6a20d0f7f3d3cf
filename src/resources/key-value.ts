/**
 * The `keyValue` resource: sets or removes one key in a `Key value` / `KEY<tab>value` / `key=value` config file such
 * as /etc/ssh/sshd_config or /etc/login.defs, editing only the lines of that key and keeping every other line,
 * comment and line ending byte for byte. Its address is `keyValue[PATH:KEY]`.
 */
import {
  applyEdit,
  checkEditedFileProps,
  editChanges,
  escapeRegExp,
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
  type TextLine,
} from './text-edit.js';
import type { Provider } from './types.js';
import { checkBoolean, problem, problems } from './validate.js';

/**
 * Props of a `keyValue` resource, named `${path}:${key}` (e.g. `/etc/ssh/sshd_config:PermitRootLogin`).
 *
 * The first active (uncommented) line of the key is the one that counts, as in sshd. `present` sets that line's value
 * and removes later active lines of the key; when there is none it inserts `key separator value` after the last
 * commented example of the key (`#Key ...`), else before the first `Match` block, else at the end. Lines inside
 * sshd-style `Match` blocks (from the first active line whose first word is `Match` to the end of the file) are
 * conditional overrides: they are never changed, removed or counted. A `verify` of sshd_config with `sshd -t` also
 * needs /run/sshd, which exists while sshd runs.
 */
export interface KeyValueProps extends EditedFileProps {
  /** Absolute path of the config file. */
  readonly path: string;
  /** The key, as written at the start of its line; no whitespace, `=`, `#` or line break. */
  readonly key: string;
  /** The value to set; required when `ensure` is `present`. No line break, no leading or trailing whitespace. */
  readonly value?: string;
  /** Whether the key is set (`present`) or has no active line at all (`absent`). @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /**
   * What goes between key and value on a line Bulwark inserts, e.g. `'='` or `' = '`; a line that already exists
   * keeps its own separator (such as the tabs of /etc/login.defs). @default ' '
   */
  readonly separator?: string;
  /** Whether `PermitRootLogin` and `permitrootlogin` are different keys (sshd keys are not). @default false */
  readonly caseSensitive?: boolean;
}

/** What `keyValue` observed: the file as the probe saw it. */
export type KeyValueState = EditedFileState;

/** One key edit, for `editKeyValue`. */
export interface KeyValueEdit {
  readonly key: string;
  /** The value to set; `undefined` removes every active line of the key. */
  readonly value?: string;
  /** @default ' ' */
  readonly separator?: string;
  /** @default false */
  readonly caseSensitive?: boolean;
}

/** The outcome of `editKeyValue`. */
export interface KeyValueEditResult {
  /** The new text (equal to the input when nothing had to change). */
  readonly text: string;
  /** The values of the key's active lines before the edit, in file order (the first is the effective one). */
  readonly found: readonly string[];
}

interface KeyPatterns {
  readonly active: RegExp;
  readonly example: RegExp;
  readonly separator: RegExp;
}

function patterns(edit: KeyValueEdit): KeyPatterns {
  const flags = edit.caseSensitive === true ? '' : 'i';
  const sep = (edit.separator ?? ' ').trim();
  const sepAlt = sep === '' || sep === '=' ? '=' : `=|${escapeRegExp(sep)}`;
  const key = escapeRegExp(edit.key);
  const end = `(?=\\s|${sepAlt}|$)`;
  return {
    active: new RegExp(`^(\\s*)(${key})${end}`, flags),
    example: new RegExp(`^\\s*#${key}${end}`, flags),
    separator: new RegExp(`^\\s*(?:${sepAlt})?\\s*`),
  };
}

const MATCH_LINE = /^\s*Match(?=\s|$)/i;
const COMMENT_LINE = /^\s*#/;

/**
 * Sets (or, with no value, removes) one key in config-file text, changing only that key's lines; pure. See
 * `KeyValueProps` for where a missing key is inserted and how `Match` blocks are treated.
 */
export function editKeyValue(text: string, edit: KeyValueEdit): KeyValueEditResult {
  const lines = splitLines(text);
  const p = patterns(edit);
  const isMatchKey = edit.key.toLowerCase() === 'match';
  let globalEnd = lines.findIndex((l) => !isMatchKey && MATCH_LINE.test(l.text));
  if (globalEnd === -1) globalEnd = lines.length;

  const active: { index: number; indent: string; key: string; separator: string; value: string }[] = [];
  for (let i = 0; i < globalEnd; i++) {
    const line = lines[i]?.text ?? '';
    const m = p.active.exec(line);
    if (m === null) continue;
    const rest = line.slice(m[0].length);
    const separator = p.separator.exec(rest)?.[0] ?? '';
    active.push({
      index: i,
      indent: m[1] ?? '',
      key: m[2] ?? '',
      separator,
      value: rest.slice(separator.length).trimEnd(),
    });
  }
  const found = active.map((a) => a.value);

  if (edit.value === undefined) {
    if (active.length === 0) return { text, found };
    const drop = new Set(active.map((a) => a.index));
    return { text: joinLines(lines.filter((_, i) => !drop.has(i))), found };
  }

  const [first, ...later] = active;
  if (first !== undefined) {
    const drop = new Set(later.map((a) => a.index));
    const out: TextLine[] = [];
    lines.forEach((l, i) => {
      if (drop.has(i)) return;
      if (i === first.index && first.value !== edit.value) {
        const separator = first.separator === '' ? (edit.separator ?? ' ') : first.separator;
        out.push({ text: `${first.indent}${first.key}${separator}${edit.value}`, eol: l.eol });
      } else {
        out.push(l);
      }
    });
    return { text: joinLines(out), found };
  }

  const newLine = `${edit.key}${edit.separator ?? ' '}${edit.value}`;
  let at = lines.length;
  let lastExample = -1;
  for (let i = 0; i < globalEnd; i++) if (p.example.test(lines[i]?.text ?? '')) lastExample = i;
  if (lastExample >= 0) {
    at = lastExample + 1;
  } else if (globalEnd < lines.length) {
    // Keep the comment that introduces the Match block next to it.
    at = globalEnd;
    while (at > 0 && COMMENT_LINE.test(lines[at - 1]?.text ?? '')) at--;
  }
  return { text: joinLines(insertLine(lines, at, newLine)), found };
}

const KEY_RE = /^[^\s=#\p{Cc}]+$/u;
const NO_CONTROL = /^[^\p{Cc}]*$/u;

function editFor(props: KeyValueProps, encoding: TextEncoding): KeyValueEdit {
  const edit: KeyValueEdit = {
    key: intoEncoding(props.key, encoding),
    separator: intoEncoding(props.separator ?? ' ', encoding),
    caseSensitive: props.caseSensitive ?? false,
  };
  return props.ensure === 'absent' || props.value === undefined
    ? edit
    : { ...edit, value: intoEncoding(props.value, encoding) };
}

/** The edit of the observed file; `seen` holds the key's values before it. */
function plan(props: KeyValueProps, file: FileState): PlannedEdit | null {
  return planEdit(file, props.ensure !== 'absent', (text, encoding) => {
    const r = editKeyValue(text, editFor(props, encoding));
    return { text: r.text, seen: r.found };
  });
}

/** The `keyValue` provider. */
export const keyValueProvider: Provider<KeyValueProps, KeyValueState> = {
  type: 'keyValue',
  knownProps: ['path', 'key', 'value', 'ensure', 'separator', 'caseSensitive', 'mode', 'verify'],

  validate(name, props) {
    const at = `keyValue[${name}]`;
    const found = checkEditedFileProps(at, props);
    const bad = (property: string | undefined, message: string): void => {
      found.push(problem(at, property, message));
    };
    const key: unknown = props.key;
    if (typeof key !== 'string' || !KEY_RE.test(key)) {
      bad(
        'key',
        'must be a non-empty key without whitespace, `=`, `#` or control characters, e.g. PermitRootLogin',
      );
    }
    if (typeof props.path === 'string' && typeof key === 'string' && name !== `${props.path}:${key}`) {
      bad(undefined, `the name must be PATH:KEY, here ${JSON.stringify(`${props.path}:${key}`)}`);
    }
    const value: unknown = props.value;
    if (value === undefined) {
      if (props.ensure !== 'absent') bad('value', "is required unless ensure is 'absent'");
    } else if (typeof value !== 'string') {
      bad('value', 'must be a string');
    } else if (!NO_CONTROL.test(value.replaceAll('\t', ' '))) {
      bad('value', 'must not contain a line break, NUL or other control character');
    } else if (value.trim() !== value) {
      bad('value', 'must not start or end with whitespace (it could never be read back as written)');
    }
    const separator: unknown = props.separator;
    if (separator !== undefined) {
      if (typeof separator !== 'string' || separator === '') {
        bad('separator', "must be a non-empty string such as ' ', '=' or ' = '");
      } else if (!NO_CONTROL.test(separator.replaceAll('\t', ' ')) || separator.includes('#')) {
        bad('separator', 'must not contain `#`, a line break or other control characters except tab');
      } else if (/\s/.test(separator.trim())) {
        bad('separator', 'may have whitespace only around it, e.g. " = "');
      }
    }
    return [...found, ...problems(checkBoolean(props.caseSensitive, at, 'caseSensitive'))];
  },

  probe: (_name, props) => probeEditedFile(props.path),

  read: (_name, props, results) => readEditedFile(props.path, results),

  diff(_name, props, { file }) {
    return editChanges(props.path, file, plan(props, file), (p) => ({
      property: props.key,
      from: p.seen.length === 0 ? null : p.seen.join(', '),
      to: props.ensure === 'absent' ? null : (props.value ?? null),
    }));
  },

  async apply(_name, props, { file }, _changes, ctx) {
    await applyEdit(props, file, plan(props, file), ctx);
  },
};
