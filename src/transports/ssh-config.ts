/**
 * OpenSSH client configuration (~/.ssh/config), the part Bulwark uses: `Host` blocks with patterns (`*`, `?`,
 * negation with `!`), `Match` blocks with the criteria `all`, `host`, `originalhost`, `user` and `localuser`,
 * `Include` (globs, nesting, conditional inside a block), first obtained value wins, and the keywords HostName,
 * User, Port, IdentityFile, ProxyJump and UserKnownHostsFile, with `~` and the `%h %r %p %n %d %u %%` tokens. Every
 * other keyword is read and ignored. A `Match` criterion Bulwark cannot evaluate safely (`exec`, `canonical`,
 * `final`, `tagged`, ...) makes its block never apply: no command from a config file ever runs. Pure: the caller
 * reads files, through the `SshConfigFiles` callbacks.
 */
import { posix } from 'node:path';
import { BulwarkError } from '../errors.js';

/** Reads the files an `Include` names; the caller decides how (and refuses files with unsafe permissions). */
export interface SshConfigFiles {
  /** The text of the file at this absolute path, or undefined when there is none (or it is a directory). */
  read(path: string): string | undefined;
  /** The names of the entries of the directory at this absolute path, or undefined when it is not one. */
  list(dir: string): readonly string[] | undefined;
}

/** One `Match` criterion Bulwark evaluates. */
export interface SshMatchCriterion {
  readonly criterion: 'all' | 'host' | 'originalhost' | 'user' | 'localuser';
  /** Written with a leading `!`: the criterion holds when its patterns do not match. */
  readonly negated: boolean;
  /** The comma-separated pattern list, split; empty for `all`. */
  readonly patterns: readonly string[];
}

/** Where a line of a config comes from. */
export interface SshConfigLocation {
  /** The file, when the parser was told it (the main file) or read it (an included file). */
  readonly file?: string;
  /** 1-based line number in that file. */
  readonly line: number;
}

/** One `Keyword arguments` line. */
export interface SshConfigOption extends SshConfigLocation {
  /** The keyword in lower case, e.g. `hostname`. */
  readonly keyword: string;
  readonly args: readonly string[];
}

/** One line of a config that matters for resolution, in file order, with included files in place. */
export type SshConfigEntry =
  | (SshConfigLocation & {
      /** A `Host` line: the block after it applies when the alias matches the patterns. */
      readonly kind: 'host';
      readonly patterns: readonly string[];
    })
  | (SshConfigLocation & {
      /** A `Match` line; criteria null when Bulwark cannot evaluate one of them, so the block never applies. */
      readonly kind: 'match';
      readonly criteria: readonly SshMatchCriterion[] | null;
    })
  | (SshConfigOption & { readonly kind: 'option' })
  | (SshConfigLocation & {
      /** An `Include` line with the files it read, in the order OpenSSH reads them. */
      readonly kind: 'include';
      readonly files: readonly { readonly path: string; readonly entries: readonly SshConfigEntry[] }[];
    });

/** A parsed ssh config file, with the files it includes. */
export interface SshConfig {
  readonly entries: readonly SshConfigEntry[];
  /** Lines that were read but have no effect here (unevaluable `Match` blocks, unfollowed or empty `Include`s). */
  readonly ignored: readonly string[];
  /** Every file read: the main file (when its path was given) and every included file, in reading order. */
  readonly files: readonly string[];
}

/** Options for parsing: where the file is and how to read the files it includes. */
export interface SshConfigParseOptions {
  /** The path of the text being parsed, for messages and include cycles. @default none: messages say "ssh config" */
  readonly path?: string;
  /** Reads included files. @default none: `Include` lines are listed as ignored */
  readonly files?: SshConfigFiles;
  /** The directory relative `Include` paths are in: ~/.ssh for a user config. @default `home`/.ssh */
  readonly includeDir?: string;
  /** The local home directory, for `~` and `%d` in `Include` paths. @default none: those are refused */
  readonly home?: string;
  /** The local user name, for `%u` in `Include` paths. @default none: `%u` is refused */
  readonly localUser?: string;
  /** Environment variables, for `${NAME}` in `Include` paths. @default none: `${NAME}` is refused */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How many files deep includes may nest (OpenSSH stops at 16). @default 16 */
  readonly maxIncludeDepth?: number;
}

/** What the ssh config says about one host alias; absent fields are not set by the config. */
export interface SshConfigHost {
  /** The real host name or address to connect to (HostName, tokens expanded). */
  readonly hostName?: string;
  readonly user?: string;
  readonly port?: number;
  /** IdentityFile lines, all of them in order, with `~` and tokens expanded. */
  readonly identityFiles?: readonly string[];
  /** The ProxyJump value as written (`none` included), e.g. `admin@bastion:2222` or `jump1,jump2`. */
  readonly proxyJump?: string;
  /** The first file of UserKnownHostsFile, with `~` and tokens expanded. */
  readonly userKnownHostsFile?: string;
}

/** Context for matching and token expansion. */
export interface SshConfigContext {
  /**
   * The login user that will really be used (an explicit one wins over the config's User), for `%r` and
   * `Match user`. @default the config's User obtained so far, else root
   */
  readonly user?: string;
  /** The port that will really be used, for `%p`. @default the config's Port, else 22 */
  readonly port?: number;
  /** The local home directory, for `~` and `%d`. @default none: `~` stays as written */
  readonly home?: string;
  /** The local user name, for `%u` and `Match localuser`. @default none: `%u` stays, `Match localuser` never applies */
  readonly localUser?: string;
}

const DEFAULT_MAX_INCLUDE_DEPTH = 16;

function place(at: SshConfigLocation): string {
  return `${at.file ?? 'ssh config'} line ${at.line}`;
}

function invalid(at: SshConfigLocation, why: string): BulwarkError {
  return new BulwarkError('BULWARK_USAGE', `${place(at)}: ${why}`);
}

/** Splits the arguments of a line into words; double quotes group words with spaces. */
function words(text: string, at: SshConfigLocation): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
    if (i >= text.length) break;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw invalid(at, 'a double quote is not closed');
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

const EVALUATED = new Set(['host', 'originalhost', 'user', 'localuser']);
// Criteria OpenSSH knows that Bulwark does not evaluate: they run commands, depend on a second pass over the
// config, on local interfaces, or on ssh's own command line.
const NOT_EVALUATED_WITH_ARG = new Set([
  'exec',
  'localnetwork',
  'tagged',
  'command',
  'version',
  'sessiontype',
]);
const NOT_EVALUATED_BARE = new Set(['canonical', 'final']);

/** Reads the criteria of a `Match` line; null criteria when one cannot be evaluated, with the reason. */
function parseMatch(
  args: readonly string[],
  at: SshConfigLocation,
): { criteria: SshMatchCriterion[] | null; skipped: string[] } {
  const criteria: SshMatchCriterion[] = [];
  const skipped: string[] = [];
  let count = 0;
  let i = 0;
  while (i < args.length) {
    const word = args[i] ?? '';
    if (word.startsWith('#')) break;
    const negated = word.startsWith('!');
    let name = (negated ? word.slice(1) : word).toLowerCase();
    if (name === 'all') {
      const next = args[i + 1];
      if (count > 1 || (next !== undefined && !next.startsWith('#'))) {
        throw invalid(at, `Match ${word} cannot be combined with other criteria`);
      }
      criteria.push({ criterion: 'all', negated, patterns: [] });
      count++;
      break;
    }
    count++;
    if (NOT_EVALUATED_BARE.has(name)) {
      skipped.push(word);
      i++;
      continue;
    }
    let arg: string | undefined;
    const eq = name.indexOf('=');
    if (eq > 0) {
      arg = word.slice(word.indexOf('=') + 1);
      name = name.slice(0, eq);
      i++;
    } else {
      arg = args[i + 1];
      i += 2;
    }
    if (!EVALUATED.has(name) && !NOT_EVALUATED_WITH_ARG.has(name)) {
      throw invalid(at, `Match ${JSON.stringify(word)} is not a Match criterion`);
    }
    const emptyAllowed = name === 'tagged' || name === 'command';
    if (arg === undefined || arg.startsWith('#') || (arg === '' && !emptyAllowed)) {
      throw invalid(at, `Match ${word} needs an argument`);
    }
    if (NOT_EVALUATED_WITH_ARG.has(name)) {
      skipped.push(`${negated ? '!' : ''}${name} ${JSON.stringify(arg)}`);
    } else {
      criteria.push({
        criterion: name as SshMatchCriterion['criterion'],
        negated,
        patterns: arg.split(','),
      });
    }
  }
  if (count === 0) throw invalid(at, 'Match has no criteria');
  return { criteria: skipped.length > 0 ? null : criteria, skipped };
}

/** Whether a glob segment has wildcard characters. */
function hasMagic(segment: string): boolean {
  return /[*?[]/.test(segment.replace(/\\./g, ''));
}

/**
 * Whether `name` (one path segment) matches the glob(7) pattern `segment`: `*`, `?`, `[...]` classes with `!` or
 * `^` negation and ranges, `\` escapes; a leading dot must be matched by a literal dot.
 */
export function globMatch(segment: string, name: string): boolean {
  if (name.startsWith('.') && !segment.startsWith('.') && !segment.startsWith('\\.')) return false;
  let source = '';
  const esc = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] ?? '';
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '\\' && i + 1 < segment.length) source += esc(segment[++i] ?? '');
    else if (c === '[') {
      let j = i + 1;
      const negate = segment[j] === '!' || segment[j] === '^';
      if (negate) j++;
      const start = j;
      // A `]` right after the opening (or its negation) is a member, not the end.
      if (segment[j] === ']') j++;
      while (j < segment.length && segment[j] !== ']') j++;
      if (j >= segment.length) {
        source += '\\[';
        continue;
      }
      const body = segment.slice(start, j);
      let cls = '';
      for (let k = 0; k < body.length; k++) {
        const a = body[k] ?? '';
        const b = body[k + 2];
        if (body[k + 1] === '-' && b !== undefined) {
          // A reversed range matches nothing, as in glob(3).
          if (a <= b) cls += `${esc(a)}-${esc(b)}`;
          k += 2;
        } else {
          cls += esc(a);
        }
      }
      source += cls === '' ? (negate ? '.' : '(?!)') : `[${negate ? '^' : ''}${cls}]`;
      i = j;
    } else source += esc(c);
  }
  return new RegExp(`^${source}$`, 's').test(name);
}

/** Byte order, as glob(3) sorts in the C locale. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Expands an absolute glob pattern through `files.list`, sorted; a pattern without wildcards is returned as is. */
function expandGlob(pattern: string, files: SshConfigFiles): string[] {
  const segments = pattern.split('/').filter((s) => s !== '');
  let paths = ['/'];
  let magic = false;
  for (const segment of segments) {
    if (!hasMagic(segment)) {
      const literal = segment.replace(/\\(.)/g, '$1');
      paths = paths.map((p) => posix.join(p, literal));
      continue;
    }
    magic = true;
    const next: string[] = [];
    for (const dir of paths) {
      for (const name of files.list(dir) ?? []) {
        if (globMatch(segment, name)) next.push(posix.join(dir, name));
      }
    }
    paths = next;
  }
  return magic ? paths.sort(byteOrder) : paths;
}

/** Expands `~`, `%d`, `%u`, `%%` and `${NAME}` in an Include path; host-dependent tokens are refused. */
function includePath(raw: string, at: SshConfigLocation, options: SshConfigParseOptions): string {
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined) throw invalid(at, `Include ${raw}: ${what} is not known here`);
    return value;
  };
  let out = raw;
  if (out === '~' || out.startsWith('~/')) out = need(options.home, 'the home directory (~)') + out.slice(1);
  else if (out.startsWith('~')) throw invalid(at, `Include ${raw}: only ~ and ~/ are supported, not ~user`);
  out = out.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) =>
    need(options.env?.[name], `the environment variable ${name}`),
  );
  if (/\$\{/.test(out)) throw invalid(at, `Include ${raw}: a \${ is not closed or names no variable`);
  out = out.replace(/%(.)?/g, (whole, c: string | undefined) => {
    switch (c) {
      case '%':
        return '%';
      case 'd':
        return need(options.home, 'the home directory (%d)');
      case 'u':
        return need(options.localUser, 'the local user (%u)');
      default:
        // Bulwark reads the includes once for every host, so a path may not depend on the host.
        throw invalid(
          at,
          `Include ${raw}: the token ${whole} is not supported here (only %d %u %% ~ \${NAME})`,
        );
    }
  });
  if (!out.startsWith('/')) {
    const dir =
      options.includeDir ?? (options.home === undefined ? undefined : posix.join(options.home, '.ssh'));
    out = posix.join(need(dir, 'the directory of relative includes (~/.ssh)'), out);
  }
  return posix.normalize(out);
}

/**
 * Parses the text of an ssh config file, reading the files its `Include` lines name through `options.files`
 * (relative paths in `includeDir`, globs sorted in byte order, missing files skipped as OpenSSH does). Throws
 * BULWARK_USAGE, naming the file and line, when a line cannot be read, includes nest deeper than
 * `maxIncludeDepth`, or a file includes itself.
 */
export function parseSshConfig(text: string, options: SshConfigParseOptions = {}): SshConfig {
  const ignored: string[] = [];
  const read: string[] = options.path === undefined ? [] : [posix.normalize(options.path)];
  const maxDepth = options.maxIncludeDepth ?? DEFAULT_MAX_INCLUDE_DEPTH;
  // `ancestors`: the files from the main one down to this one, for cycles; `depth`: 0 for the main file.
  const parse = (
    source: string,
    file: string | undefined,
    ancestors: readonly string[],
    depth: number,
  ): SshConfigEntry[] => {
    const entries: SshConfigEntry[] = [];
    source.split(/\r?\n/).forEach((raw, index) => {
      const at: SshConfigLocation = file === undefined ? { line: index + 1 } : { file, line: index + 1 };
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      // `Keyword value`, `Keyword=value` or `Keyword = value`.
      const m = /^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+|$)(.*)$/.exec(trimmed);
      if (m === null) throw invalid(at, `${JSON.stringify(trimmed)} is not "Keyword value"`);
      const keyword = (m[1] ?? '').toLowerCase();
      const args = words(m[2] ?? '', at);
      if (args.length === 0) throw invalid(at, `${m[1] ?? ''} has no value`);
      const where = file === undefined ? `line ${at.line}` : place(at);
      if (keyword === 'host') {
        entries.push({ ...at, kind: 'host', patterns: args });
      } else if (keyword === 'match') {
        const { criteria, skipped } = parseMatch(args, at);
        if (criteria === null) {
          ignored.push(
            `${where}: Match ${skipped.join(' ')}: Bulwark does not evaluate ${skipped.length > 1 ? 'these criteria' : 'this criterion'} (it never runs a command from an ssh config), so the block never applies`,
          );
        }
        entries.push({ ...at, kind: 'match', criteria });
      } else if (keyword === 'include') {
        if (options.files === undefined) {
          ignored.push(`${where}: Include (not followed)`);
          return;
        }
        const included: { path: string; entries: SshConfigEntry[] }[] = [];
        for (const arg of args) {
          const paths = expandGlob(includePath(arg, at, options), options.files);
          if (paths.length === 0) ignored.push(`${where}: Include ${arg} matched no files`);
          for (const path of paths) {
            const chain = [...ancestors, path];
            if (ancestors.includes(path)) throw invalid(at, `Include cycle: ${chain.join(' includes ')}`);
            if (depth + 1 > maxDepth) {
              throw invalid(at, `Include nests deeper than ${maxDepth} files: ${chain.join(' includes ')}`);
            }
            const content = options.files.read(path);
            if (content === undefined) continue;
            read.push(path);
            included.push({ path, entries: parse(content, path, chain, depth + 1) });
          }
        }
        entries.push({ ...at, kind: 'include', files: included });
      } else {
        entries.push({ ...at, kind: 'option', keyword, args });
      }
    });
    return entries;
  };
  const main = options.path === undefined ? undefined : posix.normalize(options.path);
  const entries = parse(text, main, main === undefined ? [] : [main], 0);
  return { entries, ignored, files: read };
}

function patternRegex(pattern: string, caseSensitive: boolean): RegExp {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}|/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseSensitive ? 's' : 'is');
}

/** `*` any run of characters, `?` one character; case-insensitive like OpenSSH's host matching. */
export function matchPattern(pattern: string, name: string): boolean {
  return patternRegex(pattern, false).test(name);
}

/** Whether some pattern of the list matches `value` and no negated (`!`) one does. */
function listMatches(patterns: readonly string[], value: string, caseSensitive: boolean): boolean {
  let matched = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    if (patternRegex(negated ? p.slice(1) : p, caseSensitive).test(value)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Whether a Host line's patterns select `alias`: some pattern matches and no negated one does. */
export function hostMatches(patterns: readonly string[], alias: string): boolean {
  return listMatches(patterns, alias, false);
}

const KEYWORDS = new Set(['hostname', 'user', 'port', 'identityfile', 'proxyjump', 'userknownhostsfile']);

/**
 * What `config` says about the host `alias`, read as OpenSSH reads it: lines in file order (included files in
 * place), a `Host` or `Match` line switching the following options on or off, and the first value obtained for a
 * keyword winning (IdentityFile accumulates). An `Include` inside a block that does not apply contributes nothing;
 * one inside a block that applies is read with its own `Host` and `Match` lines, and the including block goes on
 * after it. `Match host` sees the HostName obtained so far (else the alias), `Match originalhost` the alias,
 * `Match user` the login user so far (explicit, else a User obtained so far, else root). Tokens: `%h` the host
 * name (HostName, or the alias), `%n` the alias, `%r` the user, `%p` the port, `%d` and `~` the home directory,
 * `%u` the local user, `%%` a percent sign.
 */
export function resolveSshConfig(
  config: SshConfig,
  alias: string,
  context: SshConfigContext = {},
): SshConfigHost {
  const first = new Map<string, SshConfigOption>();
  const identity: SshConfigOption[] = [];
  const hostSoFar = (): string => {
    const raw = first.get('hostname')?.args[0];
    return raw === undefined ? alias : raw.replace(/%([%h])/g, (_, c: string) => (c === 'h' ? alias : '%'));
  };
  const criterionHolds = (c: SshMatchCriterion): boolean | undefined => {
    switch (c.criterion) {
      case 'all':
        return true;
      case 'host':
        return listMatches(c.patterns, hostSoFar(), false);
      case 'originalhost':
        return listMatches(c.patterns, alias, false);
      case 'user':
        return listMatches(c.patterns, context.user ?? first.get('user')?.args[0] ?? 'root', true);
      case 'localuser':
        return context.localUser === undefined ? undefined : listMatches(c.patterns, context.localUser, true);
    }
  };
  const matchHolds = (criteria: readonly SshMatchCriterion[]): boolean =>
    criteria.every((c) => {
      const holds = criterionHolds(c);
      // A criterion that cannot be evaluated here (no local user name) never lets the block apply.
      return holds !== undefined && holds !== c.negated;
    });
  const walk = (entries: readonly SshConfigEntry[], initially: boolean, never: boolean): void => {
    let active = initially;
    for (const e of entries) {
      switch (e.kind) {
        case 'host':
          active = !never && hostMatches(e.patterns, alias);
          break;
        case 'match':
          active = !never && e.criteria !== null && matchHolds(e.criteria);
          break;
        case 'include': {
          // An included file's own Host and Match lines do not change the including block's state.
          const outer = active;
          for (const f of e.files) walk(f.entries, outer, never || !outer);
          active = outer;
          break;
        }
        case 'option':
          if (!active || !KEYWORDS.has(e.keyword)) break;
          if (e.keyword === 'identityfile') identity.push(e);
          else if (!first.has(e.keyword)) first.set(e.keyword, e);
          break;
      }
    }
  };
  walk(config.entries, true, false);
  const portOption = first.get('port');
  let port: number | undefined;
  if (portOption !== undefined) {
    const text = portOption.args[0] ?? '';
    port = /^[0-9]{1,5}$/.test(text) ? Number(text) : 0;
    if (port < 1 || port > 65535) throw invalid(portOption, `Port ${text} is not a port (1-65535)`);
  }
  const userOption = first.get('user');
  const configUser = userOption?.args[0];
  const hostNameRaw = first.get('hostname')?.args[0];
  // Bulwark's default login user is root, not the local user.
  const user = context.user ?? configUser ?? 'root';
  const effectivePort = context.port ?? port ?? 22;
  const expand = (value: string, at: SshConfigLocation, hostName: string): string => {
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
          throw invalid(at, `the token ${whole} is not supported here (only %h %n %p %r %d %u %%)`);
      }
    });
  };
  const hostNameOption = first.get('hostname');
  const hostName =
    hostNameRaw === undefined || hostNameOption === undefined
      ? undefined
      : expand(hostNameRaw, hostNameOption, alias);
  const realHost = hostName ?? alias;
  const proxyJump = first.get('proxyjump');
  const known = first.get('userknownhostsfile');
  return {
    ...(hostName === undefined ? {} : { hostName }),
    ...(configUser === undefined ? {} : { user: configUser }),
    ...(port === undefined ? {} : { port }),
    ...(identity.length === 0
      ? {}
      : { identityFiles: identity.map((o) => expand(o.args[0] ?? '', o, realHost)) }),
    ...(proxyJump === undefined ? {} : { proxyJump: proxyJump.args.join(' ') }),
    ...(known === undefined ? {} : { userKnownHostsFile: expand(known.args[0] ?? '', known, realHost) }),
  };
}
