/**
 * `file`: a regular file's content, mode, owner and group, or its absence. Content is replaced atomically with a
 * backup of the old file, after an optional verify command accepted the new content.
 */
import type { Problem } from '../errors.js';
import type { FileStat } from '../transports/transport.js';
import { parseStat } from '../transports/shell-transport.js';
import { formatMode, parseMode, type Mode } from './mode.js';
import { unifiedDiff } from './text-diff.js';
import type { Change, Provider } from './types.js';
import { checkAccount, checkPath, problems } from './validate.js';

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
  /** A command run against the new content before it is installed; `%{path}` is the new content's path. @default none */
  readonly verify?: readonly string[];
  /** Keep a copy of the replaced file under the backup directory. @default true */
  readonly backup?: boolean;
}

/** What was observed of the file. */
export interface FileState {
  readonly stat: FileStat | null;
  readonly content: Buffer | null;
}

const KNOWN = ['ensure', 'content', 'mode', 'owner', 'group', 'verify', 'backup'] as const;

/** Checks the common props of file-like resources; shared with `directory`. */
export function validateOwnership(
  at: string,
  props: { readonly mode?: unknown; readonly owner?: unknown; readonly group?: unknown },
  kind: 'file' | 'directory',
): Problem[] {
  const found: (Problem | undefined)[] = [];
  if (props.mode !== undefined) {
    const m = parseMode(props.mode, kind, at);
    if ('problem' in m) found.push(m.problem);
  }
  if (props.owner !== undefined) found.push(checkAccount(props.owner, at, 'owner'));
  if (props.group !== undefined) found.push(checkAccount(props.group, at, 'group'));
  return problems(...found);
}

/** The mode, owner and group changes between desired props and an existing path. */
export function ownershipChanges(
  props: { readonly mode?: Mode; readonly owner?: string; readonly group?: string },
  stat: FileStat,
  kind: 'file' | 'directory',
): Change[] {
  const changes: Change[] = [];
  if (props.mode !== undefined) {
    const m = parseMode(props.mode, kind, '');
    if ('mode' in m && m.mode !== stat.mode) {
      changes.push({ property: 'mode', from: formatMode(stat.mode), to: formatMode(m.mode) });
    }
  }
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

/** Resolves a desired mode to bits, falling back to `fallback`. */
export function modeBits(mode: Mode | undefined, kind: 'file' | 'directory', fallback: number): number {
  if (mode === undefined) return fallback;
  const m = parseMode(mode, kind, '');
  return 'mode' in m ? m.mode : fallback;
}

export const fileProvider: Provider<FileProps, FileState> = {
  type: 'file',
  knownProps: KNOWN,

  validate(name, props) {
    const at = `file[${name}]`;
    const found = [checkPath(name, at), ...validateOwnership(at, props, 'file')];
    if (props.ensure !== undefined && props.ensure !== 'present' && props.ensure !== 'absent') {
      found.push({
        code: 'BULWARK_RESOURCE_INVALID',
        at,
        property: 'ensure',
        message: "use 'present' or 'absent'",
      });
    }
    if (props.content !== undefined && typeof props.content !== 'string') {
      found.push({
        code: 'BULWARK_RESOURCE_INVALID',
        at,
        property: 'content',
        message: 'content must be a string',
      });
    }
    if (props.verify !== undefined && (!Array.isArray(props.verify) || props.verify.length === 0)) {
      found.push({
        code: 'BULWARK_RESOURCE_INVALID',
        at,
        property: 'verify',
        message: "verify is a command as argv, e.g. ['/usr/sbin/sshd', '-t', '-f', '%{path}']",
      });
    }
    return problems(...found);
  },

  probe(name, props) {
    return {
      file: props.content === undefined ? { kind: 'stat', path: name } : { kind: 'file', path: name },
    };
  },

  read(_name, _props, results) {
    const r = results['file'];
    if (r === undefined || r.exitCode === 3) return { stat: null, content: null };
    if (r.exitCode !== 0) throw new Error(`could not read the file: ${r.stderr.toString('utf8')}`);
    const stat = parseStat(r.stderr.toString('utf8'));
    return { stat, content: stat.type === 'file' ? r.stdout : null };
  },

  diff(_name, props, state) {
    const { stat } = state;
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
          diff: unifiedDiff('', props.content),
        });
      }
      return changes;
    }
    const changes: Change[] = [];
    if (stat.type !== 'file') changes.push({ property: 'type', from: stat.type, to: 'file' });
    if (props.content !== undefined) {
      const current = state.content?.toString('utf8') ?? '';
      if (state.content === null || !state.content.equals(Buffer.from(props.content))) {
        changes.push({
          property: 'content',
          from: `${state.content?.length ?? 0} bytes`,
          to: `${Buffer.byteLength(props.content)} bytes`,
          diff: unifiedDiff(current, props.content),
        });
      }
    }
    return [...changes, ...ownershipChanges(props, stat, 'file')];
  },

  async apply(name, props, state, changes, ctx) {
    if (props.ensure === 'absent') {
      await ctx.run(['rm', '-f', '--', name]);
      return;
    }
    const { stat } = state;
    if (stat !== null && stat.type === 'directory') {
      throw new Error(`${name} is a directory; remove it first or manage it with a directory resource`);
    }
    const rewrite = changes.some(
      (c) => c.property === 'content' || c.property === 'ensure' || c.property === 'type',
    );
    if (rewrite) {
      const data = props.content ?? (state.content === null ? '' : state.content);
      await ctx.transport.writeFile(name, data, {
        mode: modeBits(props.mode, 'file', stat?.mode ?? 0o644),
        owner: props.owner ?? stat?.owner ?? 'root',
        group: props.group ?? stat?.group ?? 'root',
        ...(props.backup !== false && stat?.type === 'file' ? { backupDir: ctx.backupDir } : {}),
        ...(props.verify === undefined ? {} : { verify: props.verify }),
      });
      return;
    }
    await applyOwnership(name, props, changes, ctx, 'file');
  },
};

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
