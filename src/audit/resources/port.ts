/**
 * `port(n)`: who listens on a port. One shared `ports` observation reads /proc/net/{tcp,tcp6,udp,udp6} (listening
 * TCP sockets and bound, unconnected UDP sockets) and maps socket inodes to processes through /proc/PID/fd, so every
 * `port()` view of a run costs the same handful of reads.
 */
import { BulwarkError } from '../../errors.js';
import type { Facts, ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { fileText, misuse, resultOf, uniqueSorted } from './common.js';

/** The socket tables of /proc/net, one per protocol family. */
export type SocketProtocol = 'tcp' | 'tcp6' | 'udp' | 'udp6';

const PROTOCOLS: readonly SocketProtocol[] = ['tcp', 'tcp6', 'udp', 'udp6'];

/** One listening (TCP) or bound (UDP) socket. */
export interface ListeningSocket {
  readonly protocol: SocketProtocol;
  /** The local address, e.g. `0.0.0.0`, `::`, `127.0.0.1`, `::ffff:10.0.0.1`. */
  readonly address: string;
  readonly port: number;
  /** The socket inode, which links it to the file descriptors of its processes. */
  readonly inode: number;
  /** Processes holding the socket open, sorted. */
  readonly pids: readonly number[];
  /** Their names (/proc/PID/comm), sorted, without duplicates. */
  readonly processes: readonly string[];
}

/** Every listening socket of the target. */
export interface PortsObservation {
  readonly sockets: readonly ListeningSocket[];
}

// Prints `/proc/PID/fd socket:[INODE]` for every socket descriptor, then `C PID NAME` for every process. Builtins
// read comm so that thousands of processes cost no extra process; processes that exit meanwhile are skipped.
const OWNERS_SCRIPT = `find /proc/[0-9]*/fd -maxdepth 1 -lname 'socket:*' -printf '%h %l\\n' 2>/dev/null
for d in /proc/[0-9]*; do
  if IFS= read -r c <"$d/comm"; then printf 'C %s %s\\n' "\${d#/proc/}" "$c"; fi 2>/dev/null
done
exit 0
`;

// Architectures whose /proc/net addresses are words in big-endian order; every other one is little-endian.
const BIG_ENDIAN = /^(s390x?|ppc|ppc64|mips|mips64|sparc|sparc64|m68k|parisc|parisc64|aarch64_be|armeb)$/;

/** True when `uname -m` names a big-endian machine (its /proc/net words are not byte-swapped). */
export function isBigEndian(arch: string): boolean {
  return BIG_ENDIAN.test(arch);
}

/** The bytes of a /proc/net hex address: 32-bit words in the kernel's (host) byte order. */
function addressBytes(hex: string, bigEndian: boolean): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word: number[] = [];
    for (let i = w; i < w + 8; i += 2) word.push(Number.parseInt(hex.slice(i, i + 2), 16));
    bytes.push(...(bigEndian ? word : word.reverse()));
  }
  return bytes;
}

/** Formats 16 bytes as RFC 5952 text: lowercase, longest zero run (two groups or more) as `::`, v4-mapped dotted. */
export function formatIPv6(bytes: readonly number[]): string {
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Decodes a /proc/net address (`0100007F` or 32 hex digits for IPv6) on a machine of the given byte order. */
export function decodeProcAddress(hex: string, bigEndian = false): string {
  if (!/^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32})$/.test(hex)) {
    throw new BulwarkError('BULWARK_PROBE_FAILED', `/proc/net holds an address that is not hex: ${hex}`);
  }
  const bytes = addressBytes(hex, bigEndian);
  return bytes.length === 4 ? bytes.join('.') : formatIPv6(bytes);
}

/** A socket of a /proc/net table before its processes are known. */
export interface ProcNetEntry {
  readonly protocol: SocketProtocol;
  readonly address: string;
  readonly port: number;
  readonly inode: number;
}

/**
 * Parses one /proc/net table and keeps the listening sockets: TCP in state 0A (LISTEN), UDP in state 07 (bound
 * and unconnected, which is how a UDP server waits). Connected and closing sockets are left out.
 */
export function parseProcNet(text: string, protocol: SocketProtocol, bigEndian = false): ProcNetEntry[] {
  const wanted = protocol.startsWith('tcp') ? '0A' : '07';
  const out: ProcNetEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (f[0] === undefined || !/^\d+:$/.test(f[0]) || local === undefined) continue;
    if (f[3]?.toUpperCase() !== wanted) continue;
    const [hex = '', port = ''] = local.split(':');
    out.push({
      protocol,
      address: decodeProcAddress(hex, bigEndian),
      port: Number.parseInt(port, 16),
      inode: Number(f[9]),
    });
  }
  return out;
}

/** Which processes hold which socket inodes, from the owners script's output. */
export function parseSocketOwners(text: string): Map<number, { pids: number[]; processes: string[] }> {
  const inodes = new Map<number, Set<number>>();
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const fd = /^\/proc\/(\d+)\/fd socket:\[(\d+)\]$/.exec(line);
    if (fd?.[1] !== undefined && fd[2] !== undefined) {
      const inode = Number(fd[2]);
      inodes.set(inode, (inodes.get(inode) ?? new Set()).add(Number(fd[1])));
      continue;
    }
    const comm = /^C (\d+) (.*)$/.exec(line);
    if (comm?.[1] !== undefined && comm[2] !== undefined) names.set(Number(comm[1]), comm[2]);
  }
  const owners = new Map<number, { pids: number[]; processes: string[] }>();
  for (const [inode, pids] of inodes) {
    const sorted = uniqueSorted(pids);
    owners.set(inode, {
      pids: sorted,
      processes: uniqueSorted(sorted.map((p) => names.get(p)).filter((n): n is string => n !== undefined)),
    });
  }
  return owners;
}

const procPath = (p: SocketProtocol): string => `/proc/net/${p}`;

/** The shared observer of every listening socket; every `port()` view uses it. */
export const portsResource: AuditResource<PortsObservation> = {
  type: 'ports',
  key: 'ports',
  label: 'ports',
  probe() {
    return {
      ...Object.fromEntries(PROTOCOLS.map((p) => [p, { kind: 'file', path: procPath(p) }] as const)),
      owners: { kind: 'exec', argv: ['/bin/sh', '-c', OWNERS_SCRIPT], timeoutSec: 60 },
    };
  },
  read(results: ProbeResults, facts: Facts) {
    if (fileText(results, 'tcp', procPath('tcp')) === undefined) {
      throw new BulwarkError(
        'BULWARK_PROBE_FAILED',
        'cannot observe ports: /proc/net is not available in target (mount /proc in it, or audit the running ' +
          'system rather than a plain chroot)',
      );
    }
    const bigEndian = isBigEndian(facts.arch);
    const owners = parseSocketOwners(resultOf(results, 'owners', 'socket owners').stdout.toString('utf8'));
    const sockets: ListeningSocket[] = [];
    for (const protocol of PROTOCOLS) {
      // tcp6/udp6 are absent when IPv6 is disabled: no IPv6 socket listens then.
      const text = fileText(results, protocol, procPath(protocol)) ?? '';
      for (const entry of parseProcNet(text, protocol, bigEndian)) {
        const owner = owners.get(entry.inode);
        sockets.push({ ...entry, pids: owner?.pids ?? [], processes: owner?.processes ?? [] });
      }
    }
    return { sockets };
  },
};

/** Options of `port()`. */
export interface PortOptions {
  /** Only sockets of this protocol, IPv4 and IPv6 alike (`tcp` covers tcp and tcp6). @default both */
  readonly protocol?: 'tcp' | 'udp';
}

/** What a control can check about one port. */
export interface PortView {
  /** True when any socket listens on the port (TCP LISTEN, or a bound UDP socket). */
  readonly listening: Subject<boolean>;
  /** The local addresses listened on, sorted, e.g. `0.0.0.0`, `::`, `127.0.0.1`. */
  readonly addresses: Subject<string[]>;
  /** The tables the sockets are in: `tcp`, `tcp6`, `udp`, `udp6`, sorted. */
  readonly protocols: Subject<SocketProtocol[]>;
  /** Names of the processes owning the sockets, sorted. */
  readonly processes: Subject<string[]>;
  /** PIDs of the processes owning the sockets, sorted. */
  readonly pids: Subject<number[]>;
  /** Every matching socket with its details. */
  readonly sockets: Subject<ListeningSocket[]>;
}

/** Observes who listens on `port` (TCP and UDP unless `protocol` narrows it). */
export function port(number: number, options: PortOptions = {}): PortView {
  if (!Number.isInteger(number) || number < 1 || number > 65535) {
    misuse(`port() needs a port number from 1 to 65535, not ${JSON.stringify(number)}`);
  }
  const { protocol } = options;
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp') {
    misuse(`port(${number}) protocol must be 'tcp' or 'udp', not ${JSON.stringify(protocol)}`);
  }
  const resource: AuditResource<PortsObservation> = {
    ...portsResource,
    label: protocol === undefined ? `port ${number}` : `port ${number}/${protocol}`,
  };
  const matching = (o: PortsObservation): ListeningSocket[] =>
    o.sockets.filter((s) => s.port === number && (protocol === undefined || s.protocol.startsWith(protocol)));
  return {
    listening: subject(resource, 'listening', (o) => matching(o).length > 0),
    addresses: subject(resource, 'addresses', (o) => uniqueSorted(matching(o).map((s) => s.address))),
    protocols: subject(resource, 'protocols', (o) => uniqueSorted(matching(o).map((s) => s.protocol))),
    processes: subject(resource, 'processes', (o) => uniqueSorted(matching(o).flatMap((s) => s.processes))),
    pids: subject(resource, 'pids', (o) => uniqueSorted(matching(o).flatMap((s) => s.pids))),
    sockets: subject(resource, 'sockets', (o) => matching(o)),
  };
}
