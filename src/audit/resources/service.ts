/**
 * `service(name)`: whether a service is installed, running and enabled. It runs the cookbook `service` provider's
 * probe and parser (src/resources/service.ts), so an audit and a converge see a service alike: `systemctl show`
 * when systemd is PID 1, else the SysV init script's `status`, and the rc links under both. The name reaches the
 * script only as a positional argument.
 */
import {
  parseServiceState,
  serviceKey,
  serviceProbe,
  type ServiceOutputContext,
} from '../../resources/service.js';
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

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/;

/** Parses the output of the cookbook provider's probe script into an observation. */
export function parseServiceOutput(text: string, context: ServiceOutputContext): ServiceObservation {
  const state = parseServiceState(text, context);
  const properties =
    state.init === 'systemd'
      ? {
          LoadState: state.loadState,
          ActiveState: state.activeState,
          SubState: state.subState,
          UnitFileState: state.unitFileState,
        }
      : {};
  return {
    init: state.init,
    installed: state.exists,
    running: state.running,
    enabled: state.enabled,
    properties,
    links: state.links,
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
  const stem = serviceKey(name);
  const resource: AuditResource<ServiceObservation> = {
    type: 'service',
    key: `service:${stem}`,
    label: `service ${stem}`,
    probe() {
      return { state: serviceProbe(stem) };
    },
    read(results: ProbeResults, facts: Facts) {
      return parseServiceOutput(execText(results, 'state', `service ${stem}`), {
        name: stem,
        init: facts.init,
      });
    },
  };
  return {
    installed: subject(resource, 'installed', (o) => o.installed),
    running: subject(resource, 'running', (o) => o.running),
    enabled: subject(resource, 'enabled', (o) => o.enabled),
  };
}
