/**
 * `file(path)` and `directory(path)`: a path's type, mode, ownership and size (lstat: symlinks are not followed),
 * and a regular file's content. Both read one `file` probe op, so they share the observation of a path.
 */
import { formatMode } from '../../resources/mode.js';
import type { ProbeResults } from '../../resources/types.js';
import { parseStat } from '../../transports/shell-transport.js';
import type { FileStat } from '../../transports/transport.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { absolutePath, linesOf, regExp, resultOf } from './common.js';

/** What was observed of a path. */
export type FileObservation =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly stat: FileStat;
      /** The content of a regular file; undefined for directories, symlinks and other types. */
      readonly content: string | undefined;
    };

/** Reads a `file` probe result (stat line in stderr, content in stdout, exit 3 when missing). */
export function readFileResult(r: { exitCode: number; stdout: Buffer; stderr: Buffer }): FileObservation {
  if (r.exitCode === 3) return { exists: false };
  const stat = parseStat(r.stderr.toString('utf8'));
  return { exists: true, stat, content: stat.type === 'file' ? r.stdout.toString('utf8') : undefined };
}

function pathResource(path: string, type: 'file' | 'directory'): AuditResource<FileObservation> {
  return {
    type,
    key: `file:${path}`,
    label: `${type} ${path}`,
    probe() {
      return { file: { kind: 'file', path } };
    },
    read(results: ProbeResults) {
      return readFileResult(resultOf(results, 'file', path));
    },
  };
}

/** What a control can check about a path. */
export interface FileView {
  /** True when the path exists (of any type; see `type`). */
  readonly exists: Subject<boolean>;
  /** The path's own type (a symlink is `symlink`); undefined when it does not exist. */
  readonly type: Subject<FileStat['type'] | undefined>;
  /** Permission bits (`mode & 0o7777`), shown in octal (`0640`); undefined when missing. */
  readonly mode: Subject<number | undefined>;
  /** Owner name (the uid as text when it has no name). */
  readonly owner: Subject<string | undefined>;
  /** Group name (the gid as text when it has no name). */
  readonly group: Subject<string | undefined>;
  /** Numeric owner. */
  readonly uid: Subject<number | undefined>;
  /** Numeric group. */
  readonly gid: Subject<number | undefined>;
  /** Size in bytes, of the path itself (a symlink's is its target's length). */
  readonly size: Subject<number | undefined>;
  /** A regular file's content as UTF-8; undefined for anything else. */
  readonly content: Subject<string | undefined>;
  /** The content's lines (without line ends); empty when there is no content. */
  readonly lines: Subject<string[]>;
  /** The lines matching `re` (a RegExp, or a source string), in file order. */
  linesMatching(re: RegExp | string): Subject<string[]>;
}

function statField<K extends keyof FileStat>(o: FileObservation, key: K): FileStat[K] | undefined {
  return o.exists ? o.stat[key] : undefined;
}

function view(resource: AuditResource<FileObservation>): FileView {
  const content = (o: FileObservation): string | undefined => (o.exists ? o.content : undefined);
  return {
    exists: subject(resource, 'exists', (o) => o.exists),
    type: subject(resource, 'type', (o) => statField(o, 'type')),
    mode: subject(
      resource,
      'mode',
      (o) => statField(o, 'mode'),
      (m) => (m === undefined ? '(none)' : formatMode(m)),
    ),
    owner: subject(resource, 'owner', (o) => statField(o, 'owner')),
    group: subject(resource, 'group', (o) => statField(o, 'group')),
    uid: subject(resource, 'uid', (o) => statField(o, 'uid')),
    gid: subject(resource, 'gid', (o) => statField(o, 'gid')),
    size: subject(resource, 'size', (o) => statField(o, 'size')),
    content: subject(resource, 'content', content),
    lines: subject(resource, 'lines', (o) => linesOf(content(o) ?? '')),
    linesMatching(re) {
      // A global or sticky RegExp keeps state between test() calls; a copy without those flags does not.
      const pattern =
        typeof re === 'string'
          ? regExp(re, 'linesMatching()')
          : new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
      return subject(resource, `lines matching ${String(pattern)}`, (o) =>
        linesOf(content(o) ?? '').filter((l) => pattern.test(l)),
      );
    },
  };
}

/** Observes a path, expected to be a regular file. */
export function file(path: string): FileView {
  return view(pathResource(absolutePath(path, 'file()'), 'file'));
}

/** What a control can check about a directory: the same as a file, without content. */
export type DirectoryView = Omit<FileView, 'content' | 'lines' | 'linesMatching'>;

/** Observes a path, expected to be a directory. */
export function directory(path: string): DirectoryView {
  const v = view(pathResource(absolutePath(path, 'directory()'), 'directory'));
  return {
    exists: v.exists,
    type: v.type,
    mode: v.mode,
    owner: v.owner,
    group: v.group,
    uid: v.uid,
    gid: v.gid,
    size: v.size,
  };
}
