/**
 * `sysctl`: a kernel parameter, persisted in /etc/sysctl.d/99-bulwark-KEY.conf (so it holds after a reboot) and,
 * when the target runs its own kernel, applied live with `sysctl -w`. Targets that share this machine's kernel
 * (chroots, test hosts) only get the persisted file: changing their live value would change this machine.
 */
import { isBulwarkError, type Problem } from '../errors.js';
import type { Change, Provider } from './types.js';
import { checkEnsure, problem, problems } from './validate.js';

/** Desired state of one kernel parameter. */
export interface SysctlProps {
  /** Whether the persisted setting exists; `absent` removes the file (the live value stays until reboot). @default 'present' */
  readonly ensure?: 'present' | 'absent';
  /** The value; several fields (`4096 87380 6291456`) compare with whitespace normalised. Required when present. */
  readonly value?: string | number;
}

/** What was observed of the parameter. */
export interface SysctlState {
  /** Whether the persisted file exists. */
  readonly file: boolean;
  /** The value the persisted file sets for the key, or null when it sets none. */
  readonly persisted: string | null;
  /** The live value, or null when it was not read (a shared kernel) or could not be read. */
  readonly live: string | null;
}

// The first part is a plain word (kernel, net, vm...); later parts may hold interface names such as `br-lan`.
// No `/`, `..`, spaces, globs or shell metacharacters: the key becomes part of a path and a command argument.
const KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/;
const KEY_MAX = 200;
// Control characters other than tab: a newline would start a second setting in the persisted file.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\0-\x08\x0a-\x1f\x7f]/;

/** Where the setting is persisted. */
export function sysctlPath(key: string): string {
  return `/etc/sysctl.d/99-bulwark-${key}.conf`;
}

/** The live value's file under /proc/sys. */
export function procPath(key: string): string {
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

/** The value as text with runs of whitespace made one space, the form Bulwark writes and compares. */
export function normaliseValue(value: string | number): string {
  return String(value).trim().split(/\s+/).join(' ');
}

/** True when two values are the same setting: field by field, equal as text or as integers (`01` is `1`). */
export function sameValue(a: string, b: string): boolean {
  const fa = normaliseValue(a).split(' ');
  const fb = normaliseValue(b).split(' ');
  if (fa.length !== fb.length) return false;
  return fa.every((x, i) => {
    const y = fb[i] ?? '';
    return x === y || (/^-?[0-9]+$/.test(x) && /^-?[0-9]+$/.test(y) && BigInt(x) === BigInt(y));
  });
}

/** The value a sysctl.d file sets for `key` (the last line naming it wins, as in sysctl --system). */
export function parsePersisted(text: string, key: string): string | null {
  let value: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    // A leading `-` means "ignore errors" to systemd-sysctl; the key is the same.
    const k = line.slice(0, eq).trim().replace(/^-/, '').replaceAll('/', '.');
    if (k === key) value = normaliseValue(line.slice(eq + 1));
  }
  return value;
}

function checkValue(props: SysctlProps, at: string): Problem | undefined {
  const v: unknown = props.value;
  const bad = (message: string): Problem => problem(at, 'value', message);
  if (v === undefined)
    return props.ensure === 'absent' ? undefined : bad('is required (unless ensure is absent)');
  if (typeof v === 'number')
    return Number.isSafeInteger(v) ? undefined : bad(`${v} is not a whole number; give a string`);
  if (typeof v !== 'string') return bad(`must be a string or a number, not ${typeof v}`);
  if (CONTROL.test(v)) return bad('must not hold a newline or other control character');
  if (v.trim() === '') return bad('must not be empty');
  return undefined;
}

function liveReason(sharesHostKernel: boolean): string {
  return sharesHostKernel
    ? 'the target shares this machine kernel'
    : '/proc/sys is not available on the target';
}

/** The `sysctl` resource: a kernel parameter persisted in /etc/sysctl.d and, on a live kernel, applied at once. */
export const sysctlProvider: Provider<SysctlProps, SysctlState> = {
  type: 'sysctl',
  knownProps: ['ensure', 'value'],

  validate(name, props) {
    const at = `sysctl[${name}]`;
    return problems(
      typeof name === 'string' && name.length <= KEY_MAX && KEY.test(name)
        ? undefined
        : problem(
            at,
            'name',
            `${JSON.stringify(name)} is not a kernel parameter key: give dotted words like net.ipv4.ip_forward ` +
              "(letters, digits, '_' and '-'; no '/', '..', spaces, wildcards or shell characters)",
          ),
      checkEnsure(props.ensure, at),
      checkValue(props, at),
    );
  },

  probe(name) {
    // The live value is read even for shared kernels (reading is harmless; facts come in the same round trip),
    // and `read` drops it unless facts.liveKernel.
    return {
      persisted: { kind: 'file', path: sysctlPath(name) },
      live: { kind: 'file', path: procPath(name) },
    };
  },

  read(name, _props, results, facts) {
    const p = results['persisted'];
    const file = p !== undefined && p.exitCode !== 3;
    const persisted = p?.exitCode === 0 ? parsePersisted(p.stdout.toString('utf8'), name) : null;
    const l = results['live'];
    const live = facts.liveKernel && l?.exitCode === 0 ? normaliseValue(l.stdout.toString('utf8')) : null;
    return { file, persisted, live: live === '' ? null : live };
  },

  diff(_name, props, state, facts) {
    if (props.ensure === 'absent') {
      return state.file ? [{ property: 'persisted', from: state.persisted ?? '(file)', to: null }] : [];
    }
    if (props.value === undefined) return [];
    const want = normaliseValue(props.value);
    const changes: Change[] = [];
    if (state.persisted === null || !sameValue(state.persisted, want)) {
      changes.push({ property: 'persisted', from: state.persisted, to: want });
    }
    // An unreadable live value (unknown key, write-only parameter) cannot be compared; apply still tries it with
    // the persisted change.
    if (facts.liveKernel && state.live !== null && !sameValue(state.live, want)) {
      changes.push({ property: 'live', from: state.live, to: want });
    }
    return changes;
  },

  async apply(name, props, state, changes, ctx) {
    const path = sysctlPath(name);
    if (props.ensure === 'absent') {
      await ctx.run(['rm', '-f', '--', path]);
      return;
    }
    if (props.value === undefined) return;
    const want = normaliseValue(props.value);
    const changed = new Set(changes.map((c) => c.property));
    if (changed.has('persisted')) {
      await ctx.transport.writeFile(path, `${name} = ${want}\n`, { mode: 0o644, backupDir: ctx.backupDir });
    }
    if (!ctx.facts.liveKernel) {
      if (changed.has('persisted')) {
        ctx.warn(
          `sysctl[${name}]: ${name} = ${want} persisted in /etc/sysctl.d; not applied live: ` +
            liveReason(ctx.transport.sharesHostKernel),
        );
      }
      return;
    }
    if (changed.has('live') || (changed.has('persisted') && state.live === null)) {
      try {
        await ctx.run(['sysctl', '-w', `${name}=${want}`]);
      } catch (e) {
        if (!isBulwarkError(e, 'BULWARK_APPLY_FAILED')) throw e;
        ctx.warn(
          `sysctl[${name}]: ${name} = ${want} is persisted in ${path} but could not be applied live ` +
            `(it takes effect at the next boot or module load): ${e.message}`,
        );
      }
    }
  },
};
