/**
 * `service`: whether a service runs now and starts at boot, under systemd (PID 1) or SysV init scripts (chroots,
 * containers without systemd). One fixed probe script observes either, branching on /run/systemd/system; the name
 * reaches every command only as its own argument.
 */
import { BulwarkError, type Problem } from '../errors.js';
import type { ApplyContext, Change, Provider, ProbeOp, ProbeResult } from './types.js';
import { checkBoolean, problem, problems } from './validate.js';

/** Desired state of one service, named by its init script or systemd unit without `.service` (e.g. `vsftpd`). */
export interface ServiceProps {
  /** Whether the service runs now; left alone when not given. @default undefined (not managed) */
  readonly running?: boolean;
  /** Whether the service starts at boot; left alone when not given. @default undefined (not managed) */
  readonly enabled?: boolean;
}

/** What was observed of a service under systemd. */
export interface SystemdServiceState {
  readonly init: 'systemd';
  /** False when systemd has no such unit (`LoadState=not-found`). */
  readonly exists: boolean;
  /** True when the unit is `active` or `reloading`. */
  readonly running: boolean;
  /** True when the unit starts at boot, as `systemctl is-enabled` would say. */
  readonly enabled: boolean;
  readonly loadState: string;
  readonly activeState: string;
  readonly subState: string;
  readonly unitFileState: string;
  /** SysV rc links of the same name, relative to /etc (e.g. `rc2.d/S01vsftpd`). */
  readonly links: readonly string[];
}

/** What was observed of a service under SysV init. */
export interface SysvServiceState {
  readonly init: 'sysv';
  /** True when /etc/init.d/NAME is an executable file. */
  readonly exists: boolean;
  /** True when `/etc/init.d/NAME status` exits 0. */
  readonly running: boolean;
  /** True when an `S` link starts it in runlevel S or 2 to 5. */
  readonly enabled: boolean;
  /** Exit code of `/etc/init.d/NAME status`; null when there is no init script. */
  readonly status: number | null;
  /** rc links of the service, relative to /etc (e.g. `rc2.d/S01vsftpd`). */
  readonly links: readonly string[];
}

/** What was observed of a service: a discriminated union on the init system that manages it. */
export type ServiceState = SystemdServiceState | SysvServiceState;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/;
const MAX_NAME = 255;
const SUFFIX = '.service';
const PROBE_TIMEOUT_SEC = 60;

/**
 * The fixed script that observes a service; the audit's `service()` runs it too, so both see a service alike.
 * $1 is the service name, already validated. Prints key=value lines; `link=` may repeat. Under systemd this is one
 * `systemctl show`; under SysV, the init script's status. The rc links are listed under both, because systemd
 * reports units generated from init scripts as `generated` whether or not they start at boot.
 */
export const SERVICE_PROBE_SCRIPT = `n=$1
if [ -d /run/systemd/system ]; then
  echo init=systemd
  systemctl show --property=LoadState,ActiveState,UnitFileState,SubState -- "$n.service" || exit
else
  echo init=sysv
  if [ -f "/etc/init.d/$n" ] && [ -x "/etc/init.d/$n" ]; then
    "/etc/init.d/$n" status >/dev/null 2>&1
    echo "status=$?"
  fi
fi
for l in /etc/rc[0-6S].d/[SK][0-9][0-9]"$n"; do
  if [ -L "$l" ] || [ -e "$l" ]; then printf 'link=%s\\n' "\${l#/etc/}"; fi
done
exit 0
`;

// $1 is the service name. Reloads a running SysV service, or restarts it when it is not running or its init script
// has no working reload (scripts without one print their usage and fail), like `systemctl reload-or-restart`.
const SYSV_RELOAD_SCRIPT = `[ -x "/etc/init.d/$1" ] || { echo "there is no /etc/init.d/$1" >&2; exit 3; }
if "/etc/init.d/$1" status >/dev/null 2>&1 && service "$1" reload; then exit 0; fi
exec service "$1" restart
`;

// `systemctl is-enabled` exits 0 for these unit file states: the unit starts at boot or cannot be toggled.
const SYSTEMD_ENABLED = new Set([
  'enabled',
  'enabled-runtime',
  'static',
  'alias',
  'indirect',
  'generated',
  'transient',
]);

// Unit file states `systemctl enable`/`disable` cannot change: the unit has no [Install] section or no unit file.
const SYSTEMD_FIXED: Readonly<Record<string, string>> = {
  static: 'it is static (its unit has no [Install] section and starts only as a dependency of other units)',
  generated: 'it is generated at boot by a systemd generator',
  transient: 'it is a transient unit created at runtime',
};

/**
 * The service a name means, without a `.service` suffix: the init script's name and the unit's stem. `ssh` and
 * `ssh.service` are the same service, so duplicate declarations compare by this key.
 */
export function serviceKey(name: string): string {
  return name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : name;
}

function unitOf(name: string): string {
  return `${serviceKey(name)}${SUFFIX}`;
}

function checkName(name: unknown, at: string): Problem | undefined {
  const bad = (message: string): Problem => problem(at, undefined, message);
  if (typeof name !== 'string' || name === '') return bad('a service name must be a non-empty string');
  if (name.length > MAX_NAME) return bad(`a service name must be at most ${MAX_NAME} characters`);
  if (!NAME.test(name) || name.includes('..')) {
    return bad(
      `${JSON.stringify(name)} is not a valid service name: use letters, digits and _ . @ : - only, ` +
        "starting with a letter or digit and without '..' (e.g. service[vsftpd])",
    );
  }
  return undefined;
}

/** Splits `key=value` lines; repeated keys keep every value in order. */
function parseLines(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1)]);
  }
  return values;
}

/** True when one of the links starts the service at boot (runlevel S or 2 to 5). */
function startsAtBoot(links: readonly string[]): boolean {
  return links.some((l) => /^rc[2-5S]\.d\/S/.test(l));
}

function probeFailure(name: string, r: ProbeResult | undefined): BulwarkError {
  const how =
    r === undefined
      ? 'returned no result'
      : r.exitCode === 124
        ? `timed out after ${PROBE_TIMEOUT_SEC} s`
        : `exited ${r.exitCode}: ${r.stderr.toString('utf8').trim().slice(0, 2000)}`;
  return new BulwarkError(
    'BULWARK_PROBE_FAILED',
    `observing service ${name} failed: the probe ${how}. Check that the host's init system responds ` +
      "(systemctl, or the init script's status action).",
  );
}

/** The probe op that observes a service by name (`vsftpd` or `vsftpd.service`): `SERVICE_PROBE_SCRIPT` on its key. */
export function serviceProbe(name: string): ProbeOp {
  return {
    kind: 'exec',
    argv: ['/bin/sh', '-c', SERVICE_PROBE_SCRIPT, 'sh', serviceKey(name)],
    timeoutSec: PROBE_TIMEOUT_SEC,
    mergeable: true,
  };
}

/** How to read the output of `SERVICE_PROBE_SCRIPT`. */
export interface ServiceOutputContext {
  /** The service's name, for error messages. */
  readonly name: string;
  /** The init system to assume when the output does not say (the host's facts). */
  readonly init: 'systemd' | 'sysv';
}

/**
 * Parses the output of `SERVICE_PROBE_SCRIPT` (pure). Throws BULWARK_PROBE_FAILED when systemd answered without a
 * LoadState.
 */
export function parseServiceState(text: string, context: ServiceOutputContext): ServiceState {
  const { name, init: fallbackInit } = context;
  const values = parseLines(text);
  const one = (key: string): string => values.get(key)?.[0] ?? '';
  const links = values.get('link') ?? [];
  const said = one('init');
  const init = said === 'systemd' || said === 'sysv' ? said : fallbackInit;
  if (init === 'systemd') {
    const loadState = one('LoadState');
    const activeState = one('ActiveState');
    const unitFileState = one('UnitFileState');
    if (loadState === '') {
      throw new BulwarkError(
        'BULWARK_PROBE_FAILED',
        `systemctl show printed no LoadState for ${unitOf(name)}`,
      );
    }
    // A unit generated from an init script starts at boot exactly when its rc links say so.
    const enabled =
      unitFileState === 'generated' && links.length > 0
        ? startsAtBoot(links)
        : SYSTEMD_ENABLED.has(unitFileState);
    return {
      init,
      exists: loadState !== 'not-found',
      running: activeState === 'active' || activeState === 'reloading',
      enabled,
      loadState,
      activeState,
      subState: one('SubState'),
      unitFileState,
      links,
    };
  }
  const rawStatus = values.get('status')?.[0];
  const status = rawStatus === undefined ? null : Number(rawStatus);
  const exists = status !== null;
  return { init, exists, running: status === 0, enabled: exists && startsAtBoot(links), status, links };
}

function where(name: string, state: ServiceState): string {
  return state.init === 'systemd'
    ? `systemd has no unit ${unitOf(name)}`
    : `there is no /etc/init.d/${serviceKey(name)}`;
}

function missing(name: string, state: ServiceState): BulwarkError {
  return new BulwarkError(
    'BULWARK_APPLY_FAILED',
    `service ${name} does not exist on the host (${where(name, state)}). Install the package that provides it ` +
      'first, or declare it with running: false and enabled: false.',
  );
}

async function applySystemd(
  name: string,
  state: SystemdServiceState,
  want: { running?: string; enabled?: string },
  ctx: ApplyContext,
): Promise<void> {
  const unit = unitOf(name);
  if (want.running === 'false') await ctx.run(['systemctl', 'stop', '--', unit]);
  if (want.enabled !== undefined) {
    const fixed = SYSTEMD_FIXED[state.unitFileState];
    const verb = want.enabled === 'true' ? 'enable' : 'disable';
    if (fixed !== undefined && !(state.unitFileState === 'generated' && state.links.length > 0)) {
      throw new BulwarkError(
        'BULWARK_APPLY_FAILED',
        `service ${name} cannot be ${verb}d: ${fixed}. Leave \`enabled\` out, or mask the unit ` +
          '(systemctl mask) to keep it from ever starting.',
      );
    }
    await ctx.run(['systemctl', verb, '--', unit]);
  }
  if (want.running === 'true') await ctx.run(['systemctl', 'start', '--', unit]);
}

async function applySysv(
  name: string,
  state: SysvServiceState,
  want: { running?: string; enabled?: string },
  ctx: ApplyContext,
): Promise<void> {
  const script = serviceKey(name);
  // `service` rather than `invoke-rc.d`: invoke-rc.d refuses to start a script without a start link in the current
  // runlevel, and there is no runlevel at all in a chroot or a container without an init.
  if (want.running === 'false') await ctx.run(['service', script, 'stop']);
  if (want.enabled === 'true') {
    // `update-rc.d enable` only flips existing links; a script that never had any needs them made first.
    if (!state.links.some((l) => /^rc[2-5S]\.d\//.test(l))) {
      await ctx.run(['update-rc.d', script, 'defaults']);
    }
    await ctx.run(['update-rc.d', script, 'enable']);
  } else if (want.enabled === 'false') {
    await ctx.run(['update-rc.d', script, 'disable']);
  }
  if (want.running === 'true') await ctx.run(['service', script, 'start']);
}

/** Runs one init action on the service: through systemctl under systemd, through `service` under SysV. */
async function act(
  name: string,
  action: 'start' | 'stop' | 'restart' | 'reload',
  ctx: ApplyContext,
): Promise<void> {
  if (ctx.facts.init === 'systemd') {
    await ctx.run(['systemctl', action === 'reload' ? 'reload-or-restart' : action, '--', unitOf(name)]);
    return;
  }
  if (action !== 'reload') {
    await ctx.run(['service', serviceKey(name), action]);
    return;
  }
  await ctx.run(['/bin/sh', '-c', SYSV_RELOAD_SCRIPT, 'sh', serviceKey(name)], {
    failure: (r) =>
      new BulwarkError(
        'BULWARK_APPLY_FAILED',
        `reloading (or restarting) service ${name} failed: exited ${r.exitCode}: ` +
          `${r.stderr.toString('utf8').trim().slice(0, 2000)}`,
      ),
  });
}

export const serviceProvider: Provider<ServiceProps, ServiceState> = {
  type: 'service',
  knownProps: ['running', 'enabled'],

  validate(name, props) {
    const at = `service[${name}]`;
    const p: Partial<Record<keyof ServiceProps, unknown>> =
      typeof props === 'object' && props !== null ? props : {};
    return problems(
      checkName(name, at),
      checkBoolean(p.running, at, 'running'),
      checkBoolean(p.enabled, at, 'enabled'),
    );
  },

  probe(name) {
    return { state: serviceProbe(name) };
  },

  read(name, _props, results, facts) {
    const r = results['state'];
    if (r === undefined || r.exitCode !== 0) throw probeFailure(name, r);
    return parseServiceState(r.stdout.toString('utf8'), { name, init: facts.init });
  },

  diff(_name, props, state) {
    const changes: Change[] = [];
    for (const property of ['running', 'enabled'] as const) {
      const desired = props[property];
      if (desired !== undefined && desired !== state[property]) {
        changes.push({ property, from: String(state[property]), to: String(desired) });
      }
    }
    return changes;
  },

  async apply(name, _props, state, changes, ctx) {
    const want: { running?: string; enabled?: string } = {};
    for (const c of changes) {
      if ((c.property === 'running' || c.property === 'enabled') && c.to !== null) want[c.property] = c.to;
    }
    if (!state.exists && (want.running === 'true' || want.enabled === 'true')) throw missing(name, state);
    if (state.init === 'systemd') await applySystemd(name, state, want, ctx);
    else await applySysv(name, state, want, ctx);
  },

  actions: {
    start: (name, _props, ctx) => act(name, 'start', ctx),
    stop: (name, _props, ctx) => act(name, 'stop', ctx),
    restart: (name, _props, ctx) => act(name, 'restart', ctx),
    reload: (name, _props, ctx) => act(name, 'reload', ctx),
  },
};
