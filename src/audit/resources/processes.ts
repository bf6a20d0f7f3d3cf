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

// Prints `P <probe pid>` (exported by the probe script), then every process with its parent.
const PS_SCRIPT = 'echo "P ${BULWARK_PROBE_PID:-0}"; exec ps -e -ww -o pid= -o ppid= -o user:64= -o args=';

/**
 * Parses the ps script's output, leaving out the audit's own processes: the probe script and everything it started
 * (this ps, the other probe commands running beside it), and the probe's parent (the bulwark process or the SSH
 * session that started it).
 */
export function parsePs(text: string): ProcessEntry[] {
  let probe = 0;
  const all: (ProcessEntry & { ppid: number })[] = [];
  for (const line of text.split('\n')) {
    const p = /^P (\d+)$/.exec(line);
    if (p?.[1] !== undefined) {
      probe = Number(p[1]);
      continue;
    }
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
    all.push({ pid: Number(m[1]), ppid: Number(m[2]), user: m[3], command: (m[4] ?? '').trim() });
  }
  const parent = new Map(all.map((e) => [e.pid, e.ppid]));
  const underProbe = (pid: number): boolean => {
    for (let p = pid, i = 0; p > 0 && i < 4096; p = parent.get(p) ?? 0, i++) if (p === probe) return true;
    return false;
  };
  const probeParent = parent.get(probe);
  return all
    .filter((e) => probe === 0 || !(underProbe(e.pid) || e.pid === probeParent))
    .map(({ pid, user, command }) => ({ pid, user, command }));
}

/** The shared observer of every process. */
export const processesResource: AuditResource<ProcessesObservation> = {
  type: 'processes',
  key: 'processes',
  label: 'processes',
  probe() {
    return { ps: { kind: 'exec', argv: ['/bin/sh', '-c', PS_SCRIPT], timeoutSec: 30 } };
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
