/**
 * The `aptUpdate` resource: refreshes the apt index (`apt-get update`) when it is older than a maximum age. apt
 * stamps downloaded lists with the repository's own modification time and leaves unchanged ones alone, so list
 * mtimes alone would call a fresh index old; a successful refresh therefore also touches apt's usual success stamp,
 * and the age is measured from the newest of the stamps and the lists.
 */
import { BulwarkError } from '../errors.js';
import { describeFailure } from '../transports/shell-transport.js';
import type { Provider } from './types.js';
import { problem, problems } from './validate.js';

/** Props of an `aptUpdate` resource. */
export interface AptUpdateProps {
  /** Refresh when the index is older than this many seconds (0 refreshes on every run). @default 86400 */
  readonly maxAgeSeconds?: number;
}

/** When the index was last refreshed, as seen by the host's own clock. */
export interface AptUpdateState {
  /** The host's current time, in seconds since the epoch. */
  readonly now: number;
  /** The mtime of the newest file in /var/lib/apt/lists, or null when there is none. */
  readonly newestList: number | null;
  /** The mtime of the newest update stamp under /var/lib/apt/periodic, or null when there is none. */
  readonly newestStamp: number | null;
}

/** The file a successful refresh touches; Ubuntu's update-notifier and other tools use the same one. */
export const UPDATE_STAMP = '/var/lib/apt/periodic/update-success-stamp';

const DEFAULT_MAX_AGE = 86_400;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;

// Prints three lines: the host's time, the newest list mtime and the newest stamp mtime (0 when none).
const PROBE_SCRIPT = `date +%s
newest() { n=0
  for f do
    case $f in */lock) continue ;; esac
    [ -f "$f" ] || continue
    m=$(stat -L -c %Y -- "$f") || continue
    [ "$m" -gt "$n" ] && n=$m
  done
  echo "$n"; }
newest /var/lib/apt/lists/*
newest /var/lib/apt/periodic/update-success-stamp /var/lib/apt/periodic/update-stamp
`;

// --error-on=any makes a source that cannot be fetched a failure, instead of a warning with exit code 0, so the
// stamp is only touched when every source was refreshed.
const UPDATE_SCRIPT = `apt-get update -q --error-on=any || exit
mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp
`;

function maxAgeOf(props: AptUpdateProps): number {
  return props.maxAgeSeconds ?? DEFAULT_MAX_AGE;
}

/** The index's age in seconds, or null when the host has no lists at all. */
export function indexAge(state: AptUpdateState): number | null {
  if (state.newestList === null) return null;
  return Math.max(0, state.now - Math.max(state.newestList, state.newestStamp ?? 0));
}

/** Parses the probe's three lines. */
export function parseAptUpdateProbe(output: string): AptUpdateState {
  const [now, list, stamp] = output.trim().split('\n').map(Number);
  if (
    now === undefined ||
    list === undefined ||
    stamp === undefined ||
    ![now, list, stamp].every(Number.isFinite)
  ) {
    throw new BulwarkError(
      'BULWARK_PROBE_FAILED',
      `the apt index probe printed ${JSON.stringify(output.slice(0, 200))}`,
    );
  }
  return { now, newestList: list > 0 ? list : null, newestStamp: stamp > 0 ? stamp : null };
}

/** The provider of `aptUpdate[apt]`, the one name the DSL gives it. */
export const aptUpdateProvider: Provider<AptUpdateProps, AptUpdateState> = {
  type: 'aptUpdate',
  knownProps: ['maxAgeSeconds'],

  validate(name, props) {
    const at = `aptUpdate[${name}]`;
    const max: unknown = props.maxAgeSeconds;
    return problems(
      NAME.test(name)
        ? undefined
        : problem(
            at,
            undefined,
            `${JSON.stringify(name)} is not a valid name: the DSL names this resource 'apt'`,
          ),
      max === undefined || (typeof max === 'number' && Number.isSafeInteger(max) && max >= 0)
        ? undefined
        : problem(
            at,
            'maxAgeSeconds',
            `must be a whole number of seconds, 0 or more, not ${JSON.stringify(max)}`,
          ),
    );
  },

  probe() {
    return { age: { kind: 'exec', argv: ['/bin/sh', '-c', PROBE_SCRIPT], timeoutSec: 30 } };
  },

  read(_name, _props, results) {
    const r = results['age'];
    if (r === undefined || r.exitCode !== 0) {
      const why =
        r === undefined ? 'no result' : `exit code ${r.exitCode}: ${r.stderr.toString('utf8').trim()}`;
      throw new BulwarkError('BULWARK_PROBE_FAILED', `the apt index probe failed with ${why.slice(0, 1000)}`);
    }
    return parseAptUpdateProbe(r.stdout.toString('utf8'));
  },

  diff(_name, props, state) {
    const age = indexAge(state);
    const max = maxAgeOf(props);
    if (age !== null && age <= max) return [];
    return [{ property: 'index age', from: age === null ? null : `${age}s`, to: `at most ${max}s` }];
  },

  async apply(name, _props, _state, _changes, ctx) {
    await ctx.run(['/bin/sh', '-c', UPDATE_SCRIPT, 'sh'], {
      timeoutMs: 900_000,
      failure: (r) => {
        const output = r.stderr.toString('utf8').trim() || r.stdout.toString('utf8').trim();
        const shown = output.length > 1500 ? `...${output.slice(-1500)}` : output;
        return new BulwarkError(
          'BULWARK_APPLY_FAILED',
          `aptUpdate[${name}]: apt-get update on ${ctx.transport.target} ${describeFailure({ ...r, stderr: Buffer.alloc(0) })}: ` +
            `${shown}\nCheck the sources in /etc/apt/sources.list and sources.list.d and that the mirrors are reachable.`,
        );
      },
    });
  },
};
