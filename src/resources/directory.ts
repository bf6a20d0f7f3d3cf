/** `directory`: a directory's existence, mode, owner and group. */
import { parseStat } from '../transports/shell-transport.js';
import type { FileStat } from '../transports/transport.js';
import { applyOwnership, modeBits, ownershipChanges, validateOwnership } from './file.js';
import { formatMode, type Mode } from './mode.js';
import type { Provider } from './types.js';
import { checkPath, problems } from './validate.js';

/** Desired state of one directory. */
export interface DirectoryProps {
  /** Whether the directory exists. @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /** Permission bits, in octal. @default 0o755 for a new directory, unmanaged for an existing one */
  readonly mode?: Mode;
  /** Owner name or id. @default root for a new directory */
  readonly owner?: string;
  /** Group name or id. @default root for a new directory */
  readonly group?: string;
  /** Create missing parents; with `absent`, remove the directory with everything in it. @default false */
  readonly recursive?: boolean;
}

/** What was observed of the directory. */
export interface DirectoryState {
  readonly stat: FileStat | null;
}

export const directoryProvider: Provider<DirectoryProps, DirectoryState> = {
  type: 'directory',
  knownProps: ['ensure', 'mode', 'owner', 'group', 'recursive'],

  validate(name, props) {
    const at = `directory[${name}]`;
    const found = [checkPath(name, at), ...validateOwnership(at, props, 'directory')];
    if (props.ensure === 'absent' && name === '/') {
      found.push({
        code: 'BULWARK_RESOURCE_INVALID',
        at,
        property: 'ensure',
        message: 'refusing to remove /',
      });
    }
    return problems(...found);
  },

  probe(name) {
    return { dir: { kind: 'stat', path: name } };
  },

  read(_name, _props, results) {
    const r = results['dir'];
    if (r === undefined || r.exitCode === 3) return { stat: null };
    return { stat: parseStat(r.stderr.toString('utf8')) };
  },

  diff(_name, props, { stat }) {
    if (props.ensure === 'absent')
      return stat === null ? [] : [{ property: 'ensure', from: 'present', to: 'absent' }];
    if (stat === null) return [{ property: 'ensure', from: 'absent', to: 'present' }];
    if (stat.type !== 'directory') return [{ property: 'type', from: stat.type, to: 'directory' }];
    return ownershipChanges(props, stat, 'directory');
  },

  async apply(name, props, { stat }, changes, ctx) {
    if (props.ensure === 'absent') {
      await ctx.run(props.recursive === true ? ['rm', '-rf', '--', name] : ['rmdir', '--', name]);
      return;
    }
    if (stat !== null && stat.type !== 'directory') {
      throw new Error(`${name} exists and is a ${stat.type}, not a directory`);
    }
    if (stat === null) {
      const mode = formatMode(modeBits(props.mode, 'directory', 0o755));
      await ctx.run(['mkdir', ...(props.recursive === true ? ['-p'] : []), '-m', mode, '--', name]);
      await applyOwnership(
        name,
        {
          owner: props.owner ?? 'root',
          group: props.group ?? 'root',
          ...(props.mode === undefined ? {} : { mode: props.mode }),
        },
        [{ property: 'owner', from: null, to: null }],
        ctx,
        'directory',
      );
      return;
    }
    await applyOwnership(name, props, changes, ctx, 'directory');
  },
};
