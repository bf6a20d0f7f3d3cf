/** `directory`: a directory's existence, mode, owner and group. */
import { BulwarkError } from '../errors.js';
import type { FileStat } from '../transports/transport.js';
import { applyOwnership, ownershipChanges, validateOwnership } from './file.js';
import { formatMode, modeBits, type Mode } from './mode.js';
import { readFileState } from './text-edit.js';
import type { Provider } from './types.js';
import { checkBoolean, checkEnsure, checkPath, problem, problems } from './validate.js';

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
    return [
      ...problems(
        checkPath(name, at),
        checkEnsure(props.ensure, at),
        props.ensure === 'absent' && name === '/' ? problem(at, 'ensure', 'refusing to remove /') : undefined,
        checkBoolean(props.recursive, at, 'recursive'),
      ),
      ...validateOwnership(at, props, 'directory'),
    ];
  },

  probe(name) {
    return { dir: { kind: 'stat', path: name } };
  },

  read(name, _props, results) {
    const seen = readFileState(name, results['dir']);
    return { stat: seen.kind === 'missing' ? null : seen.stat };
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
      throw new BulwarkError(
        'BULWARK_APPLY_FAILED',
        `${name} exists and is a ${stat.type}, not a directory; remove it first, or manage it with a file resource`,
      );
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
