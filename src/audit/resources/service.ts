/**
 * `service(name)`: whether a service is installed, running and enabled. One fixed script asks systemd
 * (`systemctl show`) when it is PID 1, else the SysV init script's `status`; the rc links are listed under both.
 * The name reaches the script only as a positional argument.
 */
import { BulwarkError } from '../../errors.js';
import type { Facts, ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { execText, misuse } from './common.js';

/** What was observed of one service. */
export interface ServiceObservation {
  /** The init system that answered. */
  readonly init: 'systemd' | 'sysv';
  /** systemd knows the unit (LoadState is not `not-found`), or /etc/init.d/NAME is executable. */
  readonly installed: boolean;
  /** The unit is active (or reloading), or the init script's status exits 0. */
  readonly running: boolean;
  /** The service starts at boot. */
  readonly enabled: boolean;
  /** systemd's unit properties (LoadState, ActiveState, SubState, UnitFileState); empty under SysV. */
  readonly properties: Readonly<Record<string, string>>;
  /** rc links of the service, relative to /etc (e.g. `rc2.d/S01vsftpd`). */
  readonly links: readonly string[];
}

// $1 is the service name (validated). Prints key=value lines; `link=` may repeat.
const SCRIPT = `n=$1
if [ -d /run/systemd/system ]; then
  echo init=systemd
  systemctl show --property=LoadState,ActiveState,SubState,UnitFileState -- "$n.service" || exit
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

// Unit file states for which `systemctl is-enabled` succeeds.
const ENABLED_STATES = new Set([
  'enabled',
  'enabled-runtime',
  'static',
  'alias',
  'indirect',
  'generated',
  'transient',
]);

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/;

/** True when a link starts the service in runlevel S or 2 to 5. */
function startsAtBoot(links: readonly string[]): boolean {
  return links.some((l) => /^rc[2-5S]\.d\/S/.test(l));
}

/** Parses the service script's output into an observation. */
export function parseServiceOutput(text: string, fallbackInit: 'systemd' | 'sysv'): ServiceObservation {
  const properties: Record<string, string> = {};
  const links: string[] = [];
  let init = fallbackInit;
  let status: number | undefined;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'init' && (value === 'systemd' || value === 'sysv')) init = value;
    else if (key === 'link') links.push(value);
    else if (key === 'status') status = Number(value);
    else properties[key] = value;
  }
  if (init === 'sysv') {
    const installed = status !== undefined;
    return {
      init,
      installed,
      running: status === 0,
      enabled: installed && startsAtBoot(links),
      properties: {},
      links,
    };
  }
  const load = properties['LoadState'];
  if (load === undefined) {
    throw new BulwarkError('BULWARK_PROBE_FAILED', 'systemctl show printed no LoadState');
  }
  const active = properties['ActiveState'] ?? '';
  const fileState = properties['UnitFileState'] ?? '';
  // A unit generated from an init script starts at boot exactly when its rc links say so.
  const enabled =
    fileState === 'generated' && links.length > 0 ? startsAtBoot(links) : ENABLED_STATES.has(fileState);
  return {
    init,
    installed: load !== 'not-found',
    running: active === 'active' || active === 'reloading',
    enabled,
    properties,
    links,
  };
}

/** What a control can check about one service. */
export interface ServiceView {
  /** True when the init system knows the service. */
  readonly installed: Subject<boolean>;
  /** True when it runs now. */
  readonly running: Subject<boolean>;
  /** True when it starts at boot. */
  readonly enabled: Subject<boolean>;
}

/** Observes a service by its unit or init script name (`vsftpd` or `vsftpd.service`). */
export function service(name: string): ServiceView {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..') || name.length > 255) {
    misuse(`service() needs a service name (letters, digits, _ . @ : -), not ${JSON.stringify(name)}`);
  }
  const stem = name.endsWith('.service') ? name.slice(0, -'.service'.length) : name;
  const resource: AuditResource<ServiceObservation> = {
    type: 'service',
    key: `service:${stem}`,
    label: `service ${stem}`,
    probe() {
      return { state: { kind: 'exec', argv: ['/bin/sh', '-c', SCRIPT, 'sh', stem], timeoutSec: 60 } };
    },
    read(results: ProbeResults, facts: Facts) {
      return parseServiceOutput(execText(results, 'state', `service ${stem}`), facts.init);
    },
  };
  return {
    installed: subject(resource, 'installed', (o) => o.installed),
    running: subject(resource, 'running', (o) => o.running),
    enabled: subject(resource, 'enabled', (o) => o.enabled),
  };
}
