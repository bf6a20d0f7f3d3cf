/**
 * `processes(regex)`: the processes whose command line matches a pattern, from one `ps` over every process. The
 * probe's own ps is left out.
 */
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { execText, regExp, uniqueSorted } from './common.js';

/** One process. */
export interface ProcessEntry {
  readonly pid: number;
  readonly user: string;
  /** The full command line (kernel threads show as `[name]`). */
  readonly command: string;
}

/** Every process of the target. */
export interface ProcessesObservation {
  readonly processes: readonly ProcessEntry[];
}

const PS_ARGV = ['ps', '-e', '-ww', '-o', 'pid=', '-o', 'user:64=', '-o', 'args='] as const;
const PS_COMMAND = PS_ARGV.join(' ');

/** Parses `ps -e -ww -o pid= -o user:64= -o args=` output, leaving out the ps that printed it. */
export function parsePs(text: string): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s?(.*)$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    const command = (m[3] ?? '').trim();
    // The probe's ps, and the `timeout` that may run it.
    if (command.endsWith(PS_COMMAND)) continue;
    out.push({ pid: Number(m[1]), user: m[2], command });
  }
  return out;
}

/** The shared observer of every process. */
export const processesResource: AuditResource<ProcessesObservation> = {
  type: 'processes',
  key: 'processes',
  label: 'processes',
  probe() {
    return { ps: { kind: 'exec', argv: [...PS_ARGV], timeoutSec: 30 } };
  },
  read(results: ProbeResults) {
    return { processes: parsePs(execText(results, 'ps', 'processes (ps)')) };
  },
};

/** What a control can check about the matching processes. */
export interface ProcessesView {
  /** How many processes match. */
  readonly count: Subject<number>;
  /** Their PIDs, sorted. */
  readonly pids: Subject<number[]>;
  /** Their command lines, in PID order. */
  readonly commands: Subject<string[]>;
  /** The users they run as, sorted, without duplicates. */
  readonly users: Subject<string[]>;
  /** Every matching process. */
  readonly list: Subject<ProcessEntry[]>;
}

/** Observes the processes whose command line matches `regexSource` (unanchored). */
export function processes(regexSource: string): ProcessesView {
  const re = regExp(regexSource, 'processes()');
  const resource: AuditResource<ProcessesObservation> = {
    ...processesResource,
    label: `processes ${String(re)}`,
  };
  const matching = (o: ProcessesObservation): ProcessEntry[] =>
    o.processes.filter((p) => re.test(p.command)).sort((a, b) => a.pid - b.pid);
  return {
    count: subject(resource, 'count', (o) => matching(o).length),
    pids: subject(resource, 'pids', (o) => matching(o).map((p) => p.pid)),
    commands: subject(resource, 'commands', (o) => matching(o).map((p) => p.command)),
    users: subject(resource, 'users', (o) => uniqueSorted(matching(o).map((p) => p.user))),
    list: subject(resource, 'list', matching),
  };
}
