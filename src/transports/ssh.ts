/**
 * The `ssh://[user@]host[:port]` target: one SSH connection per host for the whole run, one exec channel per
 * command. File operations are ShellTransport's fixed scripts; this file only says how argv runs: as one command line
 * made by `quoteArgv`, started with Bulwark's clean environment (`env -i`), optionally through `sudo`. The ssh2
 * library is imported only when a connection is first opened, so runs that use no SSH target never load it.
 * Host keys are checked against OpenSSH's known_hosts (see known-hosts.ts). A target can be reached through a chain
 * of jump hosts (`bastion`, or ProxyJump, as `ssh -J a,b`), each hop its own SSH connection carried inside the one
 * before it, and every name is looked up in ~/.ssh/config (see ssh-config.ts): explicit options > target spec > ssh
 * config > defaults.
 */
import { monotonicMs } from '../builtins.js';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { BulwarkError, type ErrorCode } from '../errors.js';
import {
  addKnownHost,
  blobKeyType,
  checkHostKey,
  fingerprint,
  knownHostName,
  knownKeyTypes,
  readKnownHosts,
  type HostKeyVerdict,
} from './known-hosts.js';
import { CLEAN_ENV } from './process.js';
import { parseSshConfig, resolveSshConfig, type SshConfig, type SshConfigFiles } from './ssh-config.js';
import { quote, quoteArgv } from './quote.js';
import { ShellTransport } from './shell-transport.js';
import type { ExecOptions, ExecResult } from './transport.js';

/** Options for an SSH target. */
export interface SshOptions {
  /** Private key files to offer, in order. @default those of ~/.ssh/id_ed25519, id_ecdsa and id_rsa that exist */
  readonly privateKeys?: readonly string[];
  /** Name of the environment variable holding the passphrase of encrypted private keys. @default none */
  readonly passphraseEnv?: string;
  /** Path of the ssh-agent socket to ask for keys, or false for none. @default the SSH_AUTH_SOCK variable */
  readonly agent?: string | false;
  /** Name of the environment variable holding the login password; the password never appears in argv. @default none */
  readonly passwordEnv?: string;
  /** Run every command through sudo, for a login user that is not root. @default false */
  readonly sudo?: boolean;
  /** Name of the environment variable holding the sudo password; without it sudo must not ask for one. @default none */
  readonly sudoPasswordEnv?: string;
  /** The known_hosts file host keys are checked against (and new ones added to). @default ~/.ssh/known_hosts */
  readonly knownHostsFile?: string;
  /** Accept and record the key of a host not yet in known_hosts; a changed key is refused regardless. @default false */
  readonly acceptNewHostKeys?: boolean;
  /** Give up connecting (TCP, handshake and authentication) after this many milliseconds. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Send a keepalive after this many idle milliseconds; 0 disables keepalives. @default 15000 */
  readonly keepaliveIntervalMs?: number;
  /** Drop the connection after this many unanswered keepalives. @default 3 */
  readonly keepaliveCountMax?: number;
  /**
   * Jump hosts, comma-separated, each `ssh://[user@]host[:port]` or `[user@]host[:port]`: connect to the first, from
   * it to the next, and from the last to the target, as `ssh -J a,b` does (same authentication and host key
   * checking for every hop; the first hop's own ProxyJump in the ssh config is followed). `none` connects
   * directly even when the ssh config names a ProxyJump. @default the ProxyJump of the ssh config, else none
   */
  readonly bastion?: string;
  /** The OpenSSH client config consulted for the target and jump host names, or false for none. @default ~/.ssh/config */
  readonly sshConfigFile?: string | false;
}

/** An `ssh://` target spec taken apart. */
export interface SshTargetSpec {
  readonly user: string;
  /** Host name or address, without brackets. */
  readonly host: string;
  readonly port: number;
}

/** The most jump hosts a target may be reached through, counting those a jump host's own ProxyJump adds. */
export const MAX_JUMP_HOPS = 8;

const USER = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;
const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_TIMEOUT_MS = 600_000;
// Host key algorithms ssh2 can verify, in its default order of preference.
const HOST_KEY_TYPES: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
// Printed on stderr before the command starts: the remote process group, so a timeout can kill all of it.
const PGID_MARKER = 'bulwark-pgid:';

/** Parses `ssh://[user@]host[:port]` (an IPv6 address in brackets); throws BULWARK_TARGET_INVALID when malformed. */
export function parseSshTarget(spec: string): SshTargetSpec {
  const { user, host, port } = parseSpec(spec);
  return { user, host, port };
}

/** parseSshTarget, also telling whether the user and the port were written (the rest are defaults). */
function parseSpec(
  spec: string,
): SshTargetSpec & { readonly userGiven: boolean; readonly portGiven: boolean } {
  const invalid = (why: string): BulwarkError =>
    new BulwarkError(
      'BULWARK_TARGET_INVALID',
      `SSH target ${JSON.stringify(spec)} is invalid: ${why}. Write ssh://[user@]host[:port], e.g. ` +
        'ssh://admin@web1.example.org:2222 or ssh://[2001:db8::1]',
    );
  if (!spec.startsWith('ssh://')) throw invalid('it does not start with ssh://');
  let rest = spec.slice('ssh://'.length);
  let user = 'root';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) throw invalid(`${JSON.stringify(user)} is not a user name`);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw invalid('the [ of an IPv6 address is not closed');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw invalid(`unexpected ${JSON.stringify(after)}`);
    portText = after === '' ? undefined : after.slice(1);
    if (!IPV6.test(host) || !host.includes(':'))
      throw invalid(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = rest.indexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    portText = colon < 0 ? undefined : rest.slice(colon + 1);
    if (host === '') throw invalid('the host is missing');
    if (!HOST_NAME.test(host) || host.length > 253) {
      throw invalid(`${JSON.stringify(host)} is not a host name or address`);
    }
  }
  let port = 22;
  if (portText !== undefined) {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65535) throw invalid(`${JSON.stringify(portText)} is not a port (1-65535)`);
  }
  return { user, host, port, userGiven: at >= 0, portGiven: portText !== undefined };
}

/** The hops of a jump host list as `ssh://` specs (none for `none`); throws BULWARK_TARGET_INVALID naming the hop. */
function jumpSpecs(list: string): string[] {
  if (list.toLowerCase() === 'none') return [];
  const parts = list.split(',');
  return parts.map((part, i) => {
    const spec = part.startsWith('ssh://') ? part : `ssh://${part}`;
    try {
      parseSpec(spec);
    } catch (e) {
      if (parts.length === 1) throw e;
      throw new BulwarkError(
        'BULWARK_TARGET_INVALID',
        `jump host ${i + 1} of ${parts.length} in ${JSON.stringify(list)}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return spec;
  });
}

/**
 * Parses a jump host list as the `bastion` option and ProxyJump take it: comma-separated hops, each
 * `ssh://[user@]host[:port]` or `[user@]host[:port]`, in the order they are visited; `none` is no hop. Throws
 * BULWARK_TARGET_INVALID naming the malformed hop.
 */
export function parseJumpHosts(list: string): SshTargetSpec[] {
  return jumpSpecs(list).map((spec) => parseSshTarget(spec));
}

/** Reads one ssh config file: undefined when absent (or a directory). `checkOwner` refuses what OpenSSH refuses. */
function readConfigFile(path: string, checkOwner: boolean): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BulwarkError(
      'BULWARK_USAGE',
      `the ssh config ${path} cannot be read: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return undefined;
    // Another user who may write the file could point ProxyJump, keys and known_hosts anywhere.
    if (checkOwner && ((st.uid !== 0 && st.uid !== process.getuid?.()) || (st.mode & 0o022) !== 0)) {
      throw new BulwarkError(
        'BULWARK_USAGE',
        `bad owner or permissions on the ssh config ${path}: it must belong to you or root and not be writable ` +
          'by group or others (chmod go-w), as OpenSSH also requires',
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Included ssh config files, read from this machine, every one with OpenSSH's owner and mode check. */
const CONFIG_FILES: SshConfigFiles = {
  read: (path) => readConfigFile(path, true),
  list(dir) {
    try {
      return readdirSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new BulwarkError(
        'BULWARK_USAGE',
        `the directory ${dir} cannot be read: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  },
};

// Clients whose connection has closed, so closing them again waits for nothing.
const closedClients = new WeakSet<Client>();

/** Ends connections innermost first, each once the one inside it has closed (or after 2 s), so each goodbye gets through. */
async function endAll(outerFirst: readonly Client[]): Promise<void> {
  for (const client of [...outerFirst].reverse()) {
    if (closedClients.has(client)) continue;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }
}

/** How commands become root on the remote side. */
export type Elevation = 'none' | 'sudo' | 'sudo-password';

// Runs "$@" through sudo, feeding the password (the first line of stdin) only when sudo asks for one, so a
// passwordless sudo never passes the password on to the command as input.
const SUDO_PASSWORD_SCRIPT = `IFS= read -r p || exit 125
if sudo -n true 2>/dev/null; then unset p; exec sudo -n -- "$@"; fi
{ printf '%s\\n' "$p"; unset p; exec cat; } | sudo -S -p '' -- "$@"`;

/**
 * The command line sent to the remote shell for `argv`: it prints its process group id on stderr, then replaces
 * itself with `env -i` (Bulwark's clean environment plus `env`) running argv, through sudo when asked. Every value is
 * quoted by `quote`/`quoteArgv`.
 */
export function remoteCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  elevation: Elevation,
): string {
  const vars = { ...CLEAN_ENV, ...env };
  for (const name of Object.keys(vars)) {
    if (!ENV_NAME.test(name)) {
      throw new BulwarkError(
        'BULWARK_UNSAFE_VALUE',
        `${JSON.stringify(name)} is not an environment variable name`,
      );
    }
  }
  // env reads leading NAME=VALUE words as assignments, so a program whose name holds `=` is started through sh.
  const program = argv[0]?.includes('=') === true ? ['/bin/sh', '-c', 'exec "$@"', 'sh', ...argv] : argv;
  const words = ['env', '-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...program];
  const prefix =
    elevation === 'sudo'
      ? ['sudo', '-n', '--']
      : elevation === 'sudo-password'
        ? ['/bin/sh', '-c', SUDO_PASSWORD_SCRIPT, 'sh']
        : [];
  return `printf '${PGID_MARKER}%s\\n' "$$" >&2; exec ${quoteArgv([...prefix, ...words])}`;
}

interface Connection {
  readonly client: Client;
  /** The connections to the jump hosts the target is reached through, in the order they were made. */
  readonly jumps: readonly Client[];
  /** Set once the connection is gone: why. */
  lost: string | undefined;
  /** Set when Bulwark itself is closing it, so the hops say goodbye innermost first instead of being cut. */
  ending: boolean;
}

/** One SSH hop, resolved: where to connect, as whom, with which keys and known_hosts file. */
interface Hop {
  readonly user: string;
  /** The real host name or address (an ssh config HostName applied). */
  readonly host: string;
  readonly port: number;
  /** What errors about this hop start with: empty for the target, `bastion user@host port N: ` for a jump host. */
  readonly label: string;
  /** The hop's place in a chain of several jump hosts, ` (hop 2 of 3)`; empty otherwise. */
  readonly position: string;
  readonly knownHostsFile: string;
  readonly keys: readonly string[];
  /** Whether the keys were given explicitly, so an unreadable one is an error rather than skipped. */
  readonly keysExplicit: boolean;
}

function envValue(name: string, what: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new BulwarkError(
      'BULWARK_USAGE',
      `the ${what} is to come from the environment variable ${name}, but it is not set`,
    );
  }
  return value;
}

/** Runs everything on a host reached over SSH. */
export class SshTransport extends ShellTransport {
  readonly target: string;
  readonly sharesHostKernel = false;
  readonly spec: SshTargetSpec;
  readonly #options: SshOptions;
  #connection: Promise<Connection> | undefined;
  #closing = false;

  constructor(target: string, options: SshOptions = {}) {
    super();
    this.spec = parseSshTarget(target);
    this.target = target;
    this.#options = options;
    if (options.bastion !== undefined) jumpSpecs(options.bastion);
    if (options.sudoPasswordEnv !== undefined && options.sudo !== true) {
      throw new BulwarkError('BULWARK_USAGE', 'sudoPasswordEnv is only used together with sudo: true');
    }
  }

  get #elevation(): Elevation {
    if (this.#options.sudo !== true) return 'none';
    return this.#options.sudoPasswordEnv === undefined ? 'sudo' : 'sudo-password';
  }

  /**
   * Opens the connection now (otherwise the first command does), so connection problems surface as they are: host
   * unreachable, host key unknown or changed, authentication or sudo failed.
   */
  async connect(): Promise<void> {
    if (this.#closing)
      throw new BulwarkError('BULWARK_TRANSPORT', `the transport to ${this.target} is closed`);
    await this.#connect();
  }

  #connect(): Promise<Connection> {
    if (this.#connection === undefined) {
      const opening = this.#open();
      this.#connection = opening;
      // A failed attempt is not kept: the next command tries again.
      opening.catch(() => {
        if (this.#connection === opening) this.#connection = undefined;
      });
    }
    return this.#connection;
  }

  /**
   * Where to connect and how, for the target and every jump host: explicit options > target spec > ssh config >
   * defaults. The jump hosts come from the `bastion` option, else the target's ProxyJump; the first of them is
   * reached through its own ProxyJump, if the config gives it one, as `ssh -J` does (the later ones are reached
   * through the hops before them).
   */
  #plan(): { target: Hop; jumps: Hop[] } {
    const options = this.#options;
    const home = homedir();
    let localUser: string | undefined;
    try {
      localUser = userInfo().username;
    } catch {
      localUser = undefined;
    }
    let config: SshConfig | undefined;
    let configFile = '';
    if (options.sshConfigFile !== false) {
      configFile = options.sshConfigFile ?? join(home, '.ssh', 'config');
      // As OpenSSH: the default user config and every included file must be safe from other users; a file named
      // explicitly (ssh -F) is taken as it is.
      const text = readConfigFile(configFile, options.sshConfigFile === undefined);
      if (text === undefined && options.sshConfigFile !== undefined) {
        throw new BulwarkError(
          'BULWARK_USAGE',
          `the ssh config ${configFile} cannot be read: there is no such file`,
        );
      }
      if (text !== undefined) {
        config = parseSshConfig(text, {
          path: resolve(configFile),
          files: CONFIG_FILES,
          home,
          ...(localUser === undefined ? {} : { localUser }),
          env: process.env,
        });
      }
    }
    interface Resolved {
      readonly hop: Omit<Hop, 'label' | 'position'>;
      /** The name as written, which the ssh config was consulted for. */
      readonly alias: string;
      readonly proxyJump: string | undefined;
    }
    const resolveHop = (spec: string): Resolved => {
      const p = parseSpec(spec);
      const c =
        config === undefined
          ? {}
          : resolveSshConfig(config, p.host, {
              ...(p.userGiven ? { user: p.user } : {}),
              ...(p.portGiven ? { port: p.port } : {}),
              home,
              ...(localUser === undefined ? {} : { localUser }),
            });
      const user = p.userGiven ? p.user : (c.user ?? 'root');
      const port = p.portGiven ? p.port : (c.port ?? 22);
      const host = c.hostName ?? p.host;
      if (c.hostName !== undefined || c.user !== undefined) {
        // What the config says must be as valid as a target written by hand.
        try {
          parseSshTarget(`ssh://${user}@${host.includes(':') ? `[${host}]` : host}:${port}`);
        } catch (e) {
          throw new BulwarkError(
            'BULWARK_TARGET_INVALID',
            `${configFile} for ${p.host}: ${(e as Error).message}`,
            { cause: e },
          );
        }
      }
      const explicitKeys = options.privateKeys !== undefined;
      const keys =
        options.privateKeys ??
        c.identityFiles ??
        ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(home, '.ssh', k)).filter((f) => existsSync(f));
      return {
        hop: {
          user,
          host,
          port,
          knownHostsFile: options.knownHostsFile ?? c.userKnownHostsFile ?? join(home, '.ssh', 'known_hosts'),
          keys,
          keysExplicit: explicitKeys,
        },
        alias: p.host,
        proxyJump: c.proxyJump,
      };
    };
    const target = resolveHop(this.target);
    // `via`: the names whose ProxyJump led here, the target first; meeting one again is a loop.
    const chainOf = (list: string, owner: string | undefined, via: readonly string[]): Resolved[] => {
      const from = owner === undefined ? 'the bastion option' : `${configFile}: ProxyJump of ${owner}`;
      if (owner !== undefined && /\s/.test(list)) {
        throw new BulwarkError(
          'BULWARK_USAGE',
          `${from} is ${JSON.stringify(list)}: write the jump hosts as one value, separated by commas without spaces`,
        );
      }
      let specs: string[];
      try {
        specs = jumpSpecs(list);
      } catch (e) {
        throw owner === undefined
          ? e
          : new BulwarkError('BULWARK_TARGET_INVALID', `${from}: ${(e as Error).message}`, { cause: e });
      }
      const [head, ...rest] = specs;
      if (head === undefined) return [];
      const first = resolveHop(head);
      const path = [...via, first.alias];
      if (via.some((v) => v.toLowerCase() === first.alias.toLowerCase())) {
        throw new BulwarkError(
          'BULWARK_USAGE',
          `jump host loop: ${path.join(' → ')}: ` +
            (owner === undefined
              ? 'the bastion option names the target itself'
              : `the ProxyJump of ${owner} in ${configFile} leads back to a host already on the way. Give ` +
                'that jump host ProxyJump none, ' +
                'or keep it out of the pattern that gives it one (e.g. Host * !bastion)'),
        );
      }
      const before = first.proxyJump === undefined ? [] : chainOf(first.proxyJump, first.alias, path);
      const chain = [...before, first, ...rest.map(resolveHop)];
      if (chain.length > MAX_JUMP_HOPS) {
        throw new BulwarkError(
          'BULWARK_USAGE',
          `the way to ${target.alias} needs ${chain.length} jump hosts (${chain.map((r) => r.alias).join(', ')}); ` +
            `Bulwark allows at most ${MAX_JUMP_HOPS}`,
        );
      }
      return chain;
    };
    const chain =
      options.bastion !== undefined
        ? chainOf(options.bastion, undefined, [target.alias])
        : target.proxyJump === undefined
          ? []
          : chainOf(target.proxyJump, target.alias, [target.alias]);
    const jumps = chain.map(({ hop }, i): Hop => {
      const position = chain.length > 1 ? ` (hop ${i + 1} of ${chain.length})` : '';
      return { ...hop, position, label: `bastion ${hop.user}@${hop.host} port ${hop.port}${position}: ` };
    });
    return { target: { ...target.hop, label: '', position: '' }, jumps };
  }

  /** Opens a forwarded channel from the jump host `via` (the hop `from`) to the next hop `to`. */
  #forward(via: Client, from: Hop, to: Hop, timeoutMs: number): Promise<Duplex> {
    const name = `the bastion ${from.user}@${from.host} port ${from.port}${from.position}`;
    return new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new BulwarkError(
            'BULWARK_HOST_UNREACHABLE',
            `host unreachable: ${name} did not reach ${to.host} port ${to.port}${to.position} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      via.forwardOut('127.0.0.1', 0, to.host, to.port, (err: Error | undefined, stream: ClientChannel) => {
        clearTimeout(timer);
        if (err !== undefined) {
          reject(
            new BulwarkError(
              'BULWARK_HOST_UNREACHABLE',
              `host unreachable: ${name} could not connect to ${to.host} port ${to.port}${to.position}: ${err.message}`,
              { cause: err },
            ),
          );
          return;
        }
        resolve(stream);
      });
    });
  }

  async #open(): Promise<Connection> {
    const plan = this.#plan();
    const options = this.#options;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const ssh2 = (await import('ssh2')).default;
    // Filled in once every hop is up; a hop lost before then fails the opening.
    const made: { conn?: Connection; lostEarly?: string } = {};
    const onLost = (why: string): void => {
      made.lostEarly ??= why;
      const conn = made.conn;
      if (conn === undefined) return;
      conn.lost ??= why;
      // A hop that went away can leave the hops around it half-open (its forwarded channel ends but never closes):
      // cutting the connection to the first hop closes every channel and session carried inside it.
      if (!conn.ending) (conn.jumps[0] ?? conn.client).destroy();
      const current = this.#connection;
      if (current !== undefined) {
        void current.then(
          (c) => {
            if (c === conn) this.#connection = undefined;
          },
          () => undefined,
        );
      }
    };
    // Each hop's SSH session runs inside a channel the hop before it forwarded: one TCP connection, from here to
    // the first hop; every hop has the full connect timeout for its handshake and for its forward.
    const jumps: Client[] = [];
    let sock: Duplex | undefined;
    let client: Client;
    try {
      for (const [i, hop] of plan.jumps.entries()) {
        const jump = await this.#handshake(ssh2, hop, sock, onLost);
        jumps.push(jump);
        sock = await this.#forward(jump, hop, plan.jumps[i + 1] ?? plan.target, timeoutMs);
      }
      client = await this.#handshake(ssh2, plan.target, sock, onLost);
    } catch (e) {
      await endAll(jumps);
      throw e;
    }
    const conn: Connection = { client, jumps, lost: undefined, ending: false };
    made.conn = conn;
    if (made.lostEarly !== undefined) {
      conn.ending = true;
      await endAll([...jumps, client]);
      throw new BulwarkError(
        'BULWARK_TRANSPORT',
        `the SSH connection to ${this.target} was lost while it was set up: ${made.lostEarly}`,
      );
    }
    if (this.#elevation !== 'none') {
      let r: ExecResult;
      try {
        r = await this.#execOn(conn, ['true'], { timeoutMs });
      } catch (e) {
        conn.ending = true;
        await endAll([...jumps, client]);
        throw e;
      }
      if (r.exitCode !== 0) {
        conn.ending = true;
        await endAll([...jumps, client]);
        const err = r.stderr.toString('utf8').trim();
        const { user, host } = plan.target;
        throw new BulwarkError(
          'BULWARK_SUDO_FAILED',
          `sudo as ${user} on ${host} failed (${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}${err === '' ? '' : `: ${err.slice(0, 500)}`}). ` +
            (this.#elevation === 'sudo'
              ? 'Allow the user passwordless sudo (NOPASSWD) or give sudoPasswordEnv.'
              : 'Check the sudo password and that the user may run commands as root.'),
        );
      }
    }
    return conn;
  }

  /** Connects to one hop (over `sock` when given), verifies its host key and authenticates. */
  async #handshake(
    ssh2: typeof import('ssh2'),
    hop: Hop,
    sock: Duplex | undefined,
    onLost: (why: string) => void,
  ): Promise<Client> {
    const { user, host, port, knownHostsFile } = hop;
    const options = this.#options;
    const name = knownHostName(host, port);
    const { methods, tried } = this.#authMethods(hop);
    const entries = await readKnownHosts(knownHostsFile);
    const client = new ssh2.Client();
    let verdict: HostKeyVerdict | undefined;
    let presented: Buffer | undefined;
    let recordError: unknown;
    let tcpConnected = false;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    // Ask for a key type the file pins for this host first, as OpenSSH does, so a host with several keys is not
    // refused for showing another one.
    const preferred = knownKeyTypes(entries, name)
      .flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]))
      .filter((t): t is ServerHostKeyAlgorithm => HOST_KEY_TYPES.includes(t as ServerHostKeyAlgorithm));
    const config: ConnectConfig = {
      host,
      port,
      ...(sock === undefined ? {} : { sock }),
      username: user,
      readyTimeout: timeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      authHandler: methods,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        presented = key;
        verdict = checkHostKey(entries, name, key);
        if (verdict.status !== 'unknown' || options.acceptNewHostKeys !== true) {
          verify(verdict.status === 'known');
          return;
        }
        addKnownHost(knownHostsFile, name, key).then(
          () => verify(true),
          (e: unknown) => {
            recordError = e;
            verify(false);
          },
        );
      },
      ...(preferred.length > 0
        ? {
            algorithms: {
              serverHostKey: [...preferred, ...HOST_KEY_TYPES.filter((t) => !preferred.includes(t))],
            },
          }
        : {}),
    };
    const where = `${user}@${host} port ${port}`;
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      client.on('connect', () => {
        tcpConnected = true;
      });
      client.on('ready', () => {
        ready = true;
        resolve();
      });
      client.on('error', (e: Error & { level?: string; code?: string }) => {
        if (ready) {
          onLost(`${hop.label}${e.message}`);
          return;
        }
        reject(
          this.#connectError(e, hop, {
            verdict,
            presented,
            recordError,
            knownHostsFile,
            tried,
            timeoutMs,
            tcpConnected,
          }),
        );
      });
      const closed = (): void => {
        onLost(`${hop.label}the server closed the connection`);
        if (!ready) {
          reject(
            new BulwarkError(
              'BULWARK_TRANSPORT',
              `${hop.label}the SSH connection to ${where} closed during the handshake`,
            ),
          );
        }
      };
      // Over a forwarded channel, a hop that goes away may only end the stream, never close it.
      client.on('end', closed);
      client.on('close', () => {
        closedClients.add(client);
        closed();
      });
      client.connect(config);
    });
    return client;
  }

  #authMethods(hop: Hop): { methods: AnyAuthMethod[]; tried: string[] } {
    const { user } = hop;
    const options = this.#options;
    const methods: AnyAuthMethod[] = [];
    const tried: string[] = [];
    const agent = options.agent === false ? undefined : (options.agent ?? process.env['SSH_AUTH_SOCK']);
    if (agent !== undefined && agent !== '') {
      methods.push({ type: 'agent', username: user, agent });
      tried.push('ssh-agent');
    }
    const explicit = hop.keysExplicit;
    const keys = hop.keys;
    const passphrase =
      options.passphraseEnv === undefined ? undefined : envValue(options.passphraseEnv, 'key passphrase');
    for (const file of keys) {
      let key: Buffer;
      try {
        key = readFileSync(file);
      } catch (e) {
        if (!explicit) continue;
        throw new BulwarkError(
          'BULWARK_USAGE',
          `the private key ${file} cannot be read: ${(e as Error).message}`,
        );
      }
      methods.push({
        type: 'publickey',
        username: user,
        key,
        ...(passphrase === undefined ? {} : { passphrase }),
      });
      tried.push(`key ${file}`);
    }
    if (options.passwordEnv !== undefined) {
      methods.push({
        type: 'password',
        username: user,
        password: envValue(options.passwordEnv, 'SSH password'),
      });
      tried.push(`password from $${options.passwordEnv}`);
    }
    return { methods, tried };
  }

  #connectError(
    e: Error & { level?: string; code?: string },
    hop: Hop,
    ctx: {
      verdict: HostKeyVerdict | undefined;
      presented: Buffer | undefined;
      recordError: unknown;
      knownHostsFile: string;
      tried: readonly string[];
      timeoutMs: number;
      tcpConnected: boolean;
    },
  ): BulwarkError {
    const { user, host, port } = hop;
    const name = knownHostName(host, port);
    const fail = (message: string, code: ErrorCode = 'BULWARK_TRANSPORT'): BulwarkError =>
      new BulwarkError(code, `${hop.label}${message}`, { cause: e });
    const key = ctx.presented;
    const presented = key === undefined ? '' : `${blobKeyType(key)} ${fingerprint(key)}`;
    const v = ctx.verdict;
    if (v !== undefined && v.status !== 'known' && ctx.recordError === undefined) {
      if (v.status === 'changed') {
        const known = v.known.map(
          (k) => `${k.keyType} ${fingerprint(k.key)} (${ctx.knownHostsFile} line ${k.line})`,
        );
        return fail(
          `host key mismatch for ${name}: the host presented ${presented}, but the known_hosts file records ` +
            `${known.join(', ')}. Someone may be intercepting the connection, or the host was reinstalled. ` +
            `If the change is expected, remove the old key (ssh-keygen -R ${quote(name)} -f ${quote(ctx.knownHostsFile)}) ` +
            'and connect again.',
          'BULWARK_HOST_KEY_CHANGED',
        );
      }
      if (v.status === 'revoked') {
        return fail(
          `the host key of ${name} (${presented}) is marked @revoked in ${ctx.knownHostsFile} line ${v.entry.line}; ` +
            'refusing to connect.',
          'BULWARK_HOST_KEY_CHANGED',
        );
      }
      return fail(
        `the host key of ${name} is unknown: ${presented} is not in ${ctx.knownHostsFile}. Check the fingerprint ` +
          'with the host owner, then add it (ssh-keyscan, or connect once with acceptNewHostKeys).',
        'BULWARK_HOST_KEY_UNKNOWN',
      );
    }
    if (ctx.recordError !== undefined) {
      return fail(
        `the new host key of ${name} (${presented}) could not be recorded in ${ctx.knownHostsFile}: ` +
          `${(ctx.recordError as Error).message}`,
      );
    }
    if (e.level === 'client-authentication') {
      return fail(
        `authentication failed: ${host} port ${port} refused user ${user} with every method tried ` +
          `(${ctx.tried.length === 0 ? 'none available: give a private key, an agent or a password' : ctx.tried.join(', ')}).`,
        'BULWARK_AUTH_FAILED',
      );
    }
    if (e.level === 'client-timeout') {
      return fail(
        ctx.tcpConnected
          ? `the SSH handshake with ${host} port ${port} did not finish within ${ctx.timeoutMs} ms: the host ` +
              'accepted the connection but did not complete key exchange and authentication (overloaded, or not sshd).'
          : `host unreachable: ${host} port ${port} did not answer within ${ctx.timeoutMs} ms ` +
              '(no route, a firewall dropping packets, or the host is down).',
        'BULWARK_HOST_UNREACHABLE',
      );
    }
    if (e.level === 'client-socket' || e.level === 'client-dns') {
      const what: Record<string, string> = {
        ECONNREFUSED: 'the connection was refused (is sshd running and listening on that port?)',
        EHOSTUNREACH: 'there is no route to the host (is it up?)',
        ENETUNREACH: 'the network is unreachable',
        ETIMEDOUT: 'the connection timed out',
        ENOTFOUND: 'the host name does not resolve',
        EAI_AGAIN: 'the host name could not be resolved (DNS failure)',
        ECONNRESET: 'the connection was reset',
      };
      return fail(
        `host unreachable: cannot connect to ${host} port ${port}: ${what[e.code ?? ''] ?? e.message}`,
        'BULWARK_HOST_UNREACHABLE',
      );
    }
    return fail(`the SSH connection to ${user}@${host} port ${port} failed: ${e.message}`);
  }

  protected async run(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted === true) {
      return {
        argv,
        exitCode: null,
        signal: 'SIGKILL',
        timedOut: false,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        durationMs: 0,
      };
    }
    return this.#execOn(await this.#connect(), argv, options);
  }

  #execOn(conn: Connection, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const started = monotonicMs();
    const elevation = this.#elevation;
    const command = remoteCommand(argv, options.env ?? {}, elevation);
    let stdin: Buffer = Buffer.from(options.stdin ?? '');
    if (elevation === 'sudo-password') {
      const password = envValue(this.#options.sudoPasswordEnv ?? '', 'sudo password');
      if (password.includes('\n'))
        throw new BulwarkError('BULWARK_USAGE', 'a sudo password cannot hold a newline');
      stdin = Buffer.concat([Buffer.from(`${password}\n`), stdin]);
    }
    const lostMessage = (): string =>
      `the SSH connection to ${this.spec.host} was lost while ${argv[0] ?? ''} ran (${conn.lost ?? 'closed'}); ` +
      'whether the command finished is unknown';
    if (conn.lost !== undefined)
      return Promise.reject(new BulwarkError('BULWARK_CONNECTION_LOST', lostMessage()));
    return new Promise<ExecResult>((resolve, reject) => {
      conn.client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
        if (err !== undefined) {
          reject(
            conn.lost === undefined
              ? new BulwarkError('BULWARK_TRANSPORT', `the SSH server refused a session: ${err.message}`)
              : new BulwarkError('BULWARK_CONNECTION_LOST', lostMessage()),
          );
          return;
        }
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let head: Buffer | undefined = Buffer.alloc(0);
        let pgid: number | undefined;
        let exit: { code: number | null; signal: string | null } | undefined;
        let timedOut = false;
        let killed = false;
        let settled = false;
        const timers: NodeJS.Timeout[] = [];
        // The command and everything it started share the process group the login shell led.
        const killGroup = (): void => {
          if (pgid === undefined) return;
          this.#execOn(conn, ['kill', '-KILL', '--', `-${pgid}`], { timeoutMs: 10_000 }).catch(
            () => undefined,
          );
        };
        const kill = (): void => {
          if (killed) return;
          killed = true;
          if (pgid === undefined) channel.signal('KILL');
          killGroup();
          timers.push(
            setTimeout(() => channel.close(), 3_000),
            setTimeout(finish, 5_000),
          );
        };
        const finish = (): void => {
          if (settled) return;
          settled = true;
          for (const t of timers) clearTimeout(t);
          options.signal?.removeEventListener('abort', onAbort);
          if (head !== undefined && head.length > 0) errs.push(head);
          if (exit === undefined && !killed) {
            reject(
              conn.lost === undefined
                ? new BulwarkError('BULWARK_TRANSPORT', 'the SSH channel closed without an exit status')
                : new BulwarkError('BULWARK_CONNECTION_LOST', lostMessage()),
            );
            return;
          }
          resolve({
            argv,
            exitCode: exit?.code ?? null,
            signal: exit === undefined ? 'SIGKILL' : exit.signal,
            timedOut,
            stdout: Buffer.concat(out),
            stderr: Buffer.concat(errs),
            durationMs: monotonicMs() - started,
          });
        };
        const onAbort = (): void => kill();
        timers.push(
          setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        );
        options.signal?.addEventListener('abort', onAbort, { once: true });
        // The session opened asynchronously: an abort that came meanwhile fired no event, so honour it now.
        if (options.signal?.aborted === true) kill();
        channel.on('data', (b: Buffer) => out.push(b));
        channel.stderr.on('data', (b: Buffer) => {
          if (head === undefined) {
            errs.push(b);
            return;
          }
          head = Buffer.concat([head, b]);
          const nl = head.indexOf(10);
          const marker = Buffer.from(PGID_MARKER);
          const prefix = head.subarray(0, Math.min(head.length, marker.length));
          if (!marker.subarray(0, prefix.length).equals(prefix)) {
            errs.push(head);
            head = undefined;
          } else if (nl >= 0) {
            const id = Number(head.subarray(marker.length, nl).toString('latin1'));
            if (Number.isInteger(id) && id > 1) pgid = id;
            errs.push(head.subarray(nl + 1));
            head = undefined;
            if (killed) killGroup();
          }
        });
        channel.on('exit', (code: number | null, signal?: string) => {
          exit =
            code === null || code === undefined
              ? {
                  code: null,
                  signal: signal === undefined ? null : signal.startsWith('SIG') ? signal : `SIG${signal}`,
                }
              : { code, signal: null };
        });
        channel.on('error', () => {
          // a channel error is followed by close; the exit status (or its absence) tells the story
        });
        channel.on('close', finish);
        channel.end(stdin);
      });
    });
  }

  override async close(): Promise<void> {
    await super.close();
    this.#closing = true;
    const pending = this.#connection;
    this.#connection = undefined;
    const conn = await pending?.catch(() => undefined);
    if (conn !== undefined) {
      conn.ending = true;
      await endAll([...conn.jumps, conn.client]);
    }
  }
}
