/**
 * `file`: a regular file's content, mode, owner and group, or its absence. Content is replaced atomically with a
 * backup of the old file, after an optional verify command accepted the new content. A symlink or any other file
 * that is not regular is never replaced: the resource shows a `type` change and fails at apply.
 */
import type { Problem } from '../errors.js';
import type { FileStat } from '../transports/transport.js';
import { checkMode, formatMode, modeBits, type Mode } from './mode.js';
import { unifiedDiff } from './text-diff.js';
import { notRegularFile, readFileState, typeChange } from './text-edit.js';
import type { Change, Provider } from './types.js';
import {
  checkAccount,
  checkBoolean,
  checkEnsure,
  checkPath,
  checkVerify,
  problem,
  problems,
} from './validate.js';

/** Desired state of one regular file. */
export interface FileProps {
  /** Whether the file exists. @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /** The whole content; when omitted, the content is not managed (an absent file is created empty). */
  readonly content?: string;
  /** Permission bits, in octal: `0o644` or `'0644'`. @default 0o644 for a new file, unmanaged for an existing one */
  readonly mode?: Mode;
  /** Owner name or id. @default root for a new file, unmanaged for an existing one */
  readonly owner?: string;
  /** Group name or id. @default root for a new file, unmanaged for an existing one */
  readonly group?: string;
  /**
   * A command run against the new content before it is installed, with `%{path}` (the new content's path) in some
   * word, e.g. `['/usr/sbin/visudo', '-c', '-f', '%{path}']`. @default none
   */
  readonly verify?: readonly string[];
  /** Keep a copy of the replaced file under the backup directory. @default true */
  readonly backup?: boolean;
}

/** What was observed of the file. */
export interface FileState {
  /** The path's own stat (a symlink is not followed), or null when nothing is there. */
  readonly stat: FileStat | null;
  /** The content of a regular file, read only when `content` is managed; otherwise null. */
  readonly content: Buffer | null;
}

const KNOWN = ['ensure', 'content', 'mode', 'owner', 'group', 'verify', 'backup'] as const;

/** Checks the mode, owner and group props of file-like resources; shared with `directory`. */
export function validateOwnership(
  at: string,
  props: { readonly mode?: unknown; readonly owner?: unknown; readonly group?: unknown },
  kind: 'file' | 'directory',
): Problem[] {
  return problems(
    checkMode(props.mode, kind, at),
    props.owner === undefined ? undefined : checkAccount(props.owner, at, 'owner', { numeric: true }),
    props.group === undefined ? undefined : checkAccount(props.group, at, 'group', { numeric: true }),
  );
}

/** The mode, owner and group changes between desired props and an existing path. */
export function ownershipChanges(
  props: { readonly mode?: Mode; readonly owner?: string; readonly group?: string },
  stat: FileStat,
  kind: 'file' | 'directory',
): Change[] {
  const changes: Change[] = [];
  const mode = modeBits(props.mode, kind, stat.mode);
  if (mode !== stat.mode)
    changes.push({ property: 'mode', from: formatMode(stat.mode), to: formatMode(mode) });
  const sameAccount = (want: string, name: string, id: number): boolean =>
    want === name || want === String(id);
  if (props.owner !== undefined && !sameAccount(props.owner, stat.owner, stat.uid)) {
    changes.push({ property: 'owner', from: stat.owner, to: props.owner });
  }
  if (props.group !== undefined && !sameAccount(props.group, stat.group, stat.gid)) {
    changes.push({ property: 'group', from: stat.group, to: props.group });
  }
  return changes;
}

/** Applies mode, owner and group changes to an existing path; shared with `directory`. */
export async function applyOwnership(
  path: string,
  props: { readonly mode?: Mode; readonly owner?: string; readonly group?: string },
  changes: readonly Change[],
  ctx: { run(argv: readonly string[]): Promise<unknown> },
  kind: 'file' | 'directory',
): Promise<void> {
  const has = (p: string): boolean => changes.some((c) => c.property === p);
  if (has('owner') || has('group')) {
    const spec = `${props.owner ?? ''}${props.group === undefined ? '' : `:${props.group}`}`;
    await ctx.run(['chown', '-h', '--', spec, path]);
  }
  // chown clears setuid/setgid bits, so the mode goes last.
  if (has('mode') || ((has('owner') || has('group')) && props.mode !== undefined)) {
    await ctx.run(['chmod', '--', formatMode(modeBits(props.mode, kind, 0o644)), path]);
  }
}

/** The `file` provider. */
export const fileProvider: Provider<FileProps, FileState> = {
  type: 'file',
  knownProps: KNOWN,

  validate(name, props) {
    const at = `file[${name}]`;
    const content: unknown = props.content;
    return [
      ...problems(
        checkPath(name, at, 'path', { file: true }),
        checkEnsure(props.ensure, at),
        content === undefined || typeof content === 'string'
          ? undefined
          : problem(at, 'content', `must be a string, not ${typeof content}`),
        checkVerify(props.verify, at),
        checkBoolean(props.backup, at, 'backup'),
      ),
      ...validateOwnership(at, props, 'file'),
    ];
  },

  probe(name, props) {
    return {
      file: props.content === undefined ? { kind: 'stat', path: name } : { kind: 'file', path: name },
    };
  },

  read(name, props, results) {
    const seen = readFileState(name, results['file']);
    if (seen.kind === 'missing') return { stat: null, content: null };
    // Without managed content the probe op was a plain stat, which reads no content.
    const content = seen.kind === 'file' && props.content !== undefined ? seen.content : null;
    return { stat: seen.stat, content };
  },

  diff(name, props, { stat, content }) {
    if (props.ensure === 'absent') {
      return stat === null ? [] : [{ property: 'ensure', from: 'present', to: 'absent' }];
    }
    if (stat === null) {
      const changes: Change[] = [{ property: 'ensure', from: 'absent', to: 'present' }];
      if (props.content !== undefined) {
        changes.push({
          property: 'content',
          from: null,
          to: `${Buffer.byteLength(props.content)} bytes`,
          diff: unifiedDiff('', props.content, { path: name, created: true }),
        });
      }
      return changes;
    }
    if (stat.type !== 'file') return [typeChange(stat)];
    const changes: Change[] = [];
    if (props.content !== undefined && (content === null || !content.equals(Buffer.from(props.content)))) {
      changes.push({
        property: 'content',
        from: `${content?.length ?? 0} bytes`,
        to: `${Buffer.byteLength(props.content)} bytes`,
        diff: unifiedDiff(content?.toString('utf8') ?? '', props.content, { path: name }),
      });
    }
    return [...changes, ...ownershipChanges(props, stat, 'file')];
  },

  async apply(name, props, { stat }, changes, ctx) {
    if (props.ensure === 'absent') {
      await ctx.run(['rm', '-f', '--', name]);
      return;
    }
    if (stat !== null && stat.type !== 'file') throw notRegularFile(name, stat.type);
    if (!changes.some((c) => c.property === 'content' || c.property === 'ensure')) {
      await applyOwnership(name, props, changes, ctx, 'file');
      return;
    }
    // A new file is 0644 root:root unless the props say otherwise; a replaced one keeps its own.
    await ctx.transport.writeFile(name, props.content ?? '', {
      mode: modeBits(props.mode, 'file', stat?.mode ?? 0o644),
      owner: props.owner ?? stat?.owner ?? 'root',
      group: props.group ?? stat?.group ?? 'root',
      ...(props.backup !== false && stat !== null ? { backupDir: ctx.backupDir } : {}),
      ...(props.verify === undefined ? {} : { verify: props.verify }),
    });
  },
};
