/**
 * OpenSSH client configuration (~/.ssh/config), the part Bulwark uses: `Host` blocks with patterns (`*`, `?`,
 * negation with `!`), first obtained value wins, and the keywords HostName, User, Port, IdentityFile, ProxyJump and
 * UserKnownHostsFile, with `~` and the `%h %r %p %n %d %u %%` tokens. Every other keyword is read and ignored, as are
 * `Include` lines and `Match` blocks (whose options never apply). Pure: reading the file is the caller's business.
 */
import { BulwarkError } from '../errors.js';

/** One `Host` block (or the lines before the first one, whose patterns are `*`). */
export interface SshConfigBlock {
  /** The patterns of the `Host` line, as written (`!` included); null for a `Match` block, which never applies. */
  readonly patterns: readonly string[] | null;
  /** The options of the block in file order: keyword in lower case, then its arguments. */
  readonly options: readonly SshConfigOption[];
}

/** One `Keyword arguments` line. */
export interface SshConfigOption {
  /** The keyword in lower case, e.g. `hostname`. */
  readonly keyword: string;
  readonly args: readonly string[];
  /** 1-based line number in the file. */
  readonly line: number;
}

/** A parsed ssh config file. */
export interface SshConfig {
  readonly blocks: readonly SshConfigBlock[];
  /** Lines that were read but have no effect here: `Include` and `Match`, with their line numbers. */
  readonly ignored: readonly string[];
}

/** What the ssh config says about one host alias; absent fields are not set by the config. */
export interface SshConfigHost {
  /** The real host name or address to connect to (HostName, tokens expanded). */
  readonly hostName?: string;
  readonly user?: string;
  readonly port?: number;
  /** IdentityFile lines, all of them in order, with `~` and tokens expanded. */
  readonly identityFiles?: readonly string[];
  /** The ProxyJump value as written (`none` included), e.g. `admin@bastion:2222`. */
  readonly proxyJump?: string;
  /** The first file of UserKnownHostsFile, with `~` and tokens expanded. */
  readonly userKnownHostsFile?: string;
}

/** Context for token expansion. */
export interface SshConfigContext {
  /** The login user that will really be used (an explicit one wins over the config's User), for `%r`. @default the config's User, else root */
  readonly user?: string;
  /** The port that will really be used, for `%p`. @default the config's Port, else 22 */
  readonly port?: number;
  /** The local home directory, for `~` and `%d`. @default none: `~` stays as written */
  readonly home?: string;
  /** The local user name, for `%u`. @default none: `%u` stays as written */
  readonly localUser?: string;
}

function invalid(line: number, why: string): BulwarkError {
  return new BulwarkError('BULWARK_USAGE', `ssh config line ${line}: ${why}`);
}

/** Splits the arguments of a line into words; double quotes group words with spaces. */
function words(text: string, line: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
    if (i >= text.length) break;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw invalid(line, 'a double quote is not closed');
      out.push(text.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !/\s/.test(text[j] ?? '')) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** Parses the text of an ssh config file; throws BULWARK_USAGE (naming the line) when a line cannot be read. */
export function parseSshConfig(text: string): SshConfig {
  const blocks: { patterns: readonly string[] | null; options: SshConfigOption[] }[] = [
    { patterns: ['*'], options: [] },
  ];
  const ignored: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    // `Keyword value`, `Keyword=value` or `Keyword = value`.
    const m = /^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+|$)(.*)$/.exec(trimmed);
    if (m === null) throw invalid(line, `${JSON.stringify(trimmed)} is not "Keyword value"`);
    const keyword = (m[1] ?? '').toLowerCase();
    const args = words(m[2] ?? '', line);
    if (args.length === 0) throw invalid(line, `${m[1] ?? ''} has no value`);
    if (keyword === 'host') {
      blocks.push({ patterns: args, options: [] });
    } else if (keyword === 'match') {
      ignored.push(`line ${line}: Match (its block never applies)`);
      blocks.push({ patterns: null, options: [] });
    } else if (keyword === 'include') {
      ignored.push(`line ${line}: Include (not followed)`);
    } else {
      blocks[blocks.length - 1]?.options.push({ keyword, args, line });
    }
  });
  return { blocks, ignored };
}

/** `*` any run of characters, `?` one character; case-insensitive like OpenSSH's host matching. */
export function matchPattern(pattern: string, name: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}|/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(name);
}

/** Whether a Host line's patterns select `alias`: some pattern matches and no negated one does. */
export function hostMatches(patterns: readonly string[], alias: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (matchPattern(p.slice(1), alias)) return false;
    } else if (matchPattern(p, alias)) {
      matched = true;
    }
  }
  return matched;
}

const KEYWORDS = new Set(['hostname', 'user', 'port', 'identityfile', 'proxyjump', 'userknownhostsfile']);

/**
 * What `config` says about the host `alias`: blocks are visited in file order and the first value obtained for a
 * keyword wins (IdentityFile accumulates). Tokens: `%h` the host name (HostName, or the alias), `%n` the alias,
 * `%r` the user, `%p` the port, `%d` and `~` the home directory, `%u` the local user, `%%` a percent sign.
 */
export function resolveSshConfig(
  config: SshConfig,
  alias: string,
  context: SshConfigContext = {},
): SshConfigHost {
  const first = new Map<string, SshConfigOption>();
  const identity: SshConfigOption[] = [];
  for (const block of config.blocks) {
    if (block.patterns === null || !hostMatches(block.patterns, alias)) continue;
    for (const o of block.options) {
      if (!KEYWORDS.has(o.keyword)) continue;
      if (o.keyword === 'identityfile') identity.push(o);
      else if (!first.has(o.keyword)) first.set(o.keyword, o);
    }
  }
  const portOption = first.get('port');
  let port: number | undefined;
  if (portOption !== undefined) {
    const text = portOption.args[0] ?? '';
    port = /^[0-9]{1,5}$/.test(text) ? Number(text) : 0;
    if (port < 1 || port > 65535) throw invalid(portOption.line, `Port ${text} is not a port (1-65535)`);
  }
  const userOption = first.get('user');
  const configUser = userOption?.args[0];
  const hostNameRaw = first.get('hostname')?.args[0];
  // Bulwark's default login user is root, not the local user.
  const user = context.user ?? configUser ?? 'root';
  const effectivePort = context.port ?? port ?? 22;
  const expand = (value: string, line: number, hostName: string): string => {
    let out = value;
    if (context.home !== undefined && (out === '~' || out.startsWith('~/')))
      out = context.home + out.slice(1);
    return out.replace(/%(.)/g, (whole, c: string) => {
      switch (c) {
        case '%':
          return '%';
        case 'h':
          return hostName;
        case 'n':
          return alias;
        case 'p':
          return String(effectivePort);
        case 'r':
          return user;
        case 'd':
          return context.home ?? whole;
        case 'u':
          return context.localUser ?? whole;
        default:
          throw invalid(line, `the token ${whole} is not supported here (only %h %n %p %r %d %u %%)`);
      }
    });
  };
  const hostNameOption = first.get('hostname');
  const hostName =
    hostNameRaw === undefined || hostNameOption === undefined
      ? undefined
      : expand(hostNameRaw, hostNameOption.line, alias);
  const realHost = hostName ?? alias;
  const proxyJump = first.get('proxyjump');
  const known = first.get('userknownhostsfile');
  return {
    ...(hostName === undefined ? {} : { hostName }),
    ...(configUser === undefined ? {} : { user: configUser }),
    ...(port === undefined ? {} : { port }),
    ...(identity.length === 0
      ? {}
      : { identityFiles: identity.map((o) => expand(o.args[0] ?? '', o.line, realHost)) }),
    ...(proxyJump === undefined ? {} : { proxyJump: proxyJump.args.join(' ') }),
    ...(known === undefined ? {} : { userKnownHostsFile: expand(known.args[0] ?? '', known.line, realHost) }),
  };
}
