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
 * Parses the ps script's output, leaving out the audit's own processes: the probe's parent (the bulwark process, or
 * the SSH session that started the probe) and everything under it: the probe script, this ps, the other probe
 * commands running beside it, and bulwark's own helpers.
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
  // The probe's parent is the bulwark process (or the SSH session or sudo that started the probe): it and all it
  // started, the probe and its commands, bulwark's own helpers (esbuild's service), are the audit's own.
  // Never init (or a parent outside this PID namespace, shown as 0): then only the probe's own tree is left out.
  const probeParent = parent.get(probe) ?? 0;
  const own = probeParent > 1 ? probeParent : probe;
  const underOwn = (pid: number): boolean => {
    for (let p = pid, i = 0; p > 0 && i < 4096; p = parent.get(p) ?? 0, i++) if (p === own) return true;
    return false;
  };
  return all
    .filter((e) => probe === 0 || !underOwn(e.pid))
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
