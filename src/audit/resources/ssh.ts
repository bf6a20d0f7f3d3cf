/**
 * `sshdConfig()` and `sshConfig()`: the OpenSSH server and client configuration as the programs read it. One fixed
 * probe script prints the main file and every file its `Include` lines reach (globs expanded on the target, relative
 * paths under /etc/ssh, nested includes followed up to OpenSSH's depth of 16); the parser then follows the same
 * rules as OpenSSH: keywords case-insensitive, the first value obtained wins, `Match`/`Host` blocks scoped to the file
 * they are in, and for the server, settings of matching `Match` blocks override the global ones.
 */
import type { ProbeResults } from '../../resources/types.js';
import { subject, type AuditResource, type Subject } from '../types.js';
import { absolutePath, b64, EMIT_FILE_FN, execText, plainString } from './common.js';

/** A `Match` (or, in the client config, `Host`) block and the settings in it (lowercase keys, first value wins). */
export interface SshBlock {
  readonly kind: 'Match' | 'Host';
  /** The criteria as written, e.g. `User backup` or `*.example.com`; blocks in included files show the outer ones. */
  readonly criteria: string;
  readonly settings: Readonly<Record<string, string>>;
}

/** The parsed configuration. */
export interface SshConfigObservation {
  /** True when the main file exists. */
  readonly exists: boolean;
  /** Every file read, main file first, in the order the program reads them. */
  readonly files: readonly string[];
  /** Every value of each keyword (lowercase) that applies to the default connection, in the order read. */
  readonly values: Readonly<Record<string, readonly string[]>>;
  /** The effective value of each keyword for the default connection. */
  readonly effective: Readonly<Record<string, string>>;
  /** Every Match/Host block, in the order read. */
  readonly blocks: readonly SshBlock[];
}

/** Which program's rules to parse by. */
export type SshFlavour = 'server' | 'client';

/** The raw material the probe script returned. */
export interface SshConfigSources {
  readonly main: string;
  /** File contents by path; missing files are absent. */
  readonly files: ReadonlyMap<string, string>;
  /** The files each resolved Include pattern expanded to, in glob order. */
  readonly globs: ReadonlyMap<string, readonly string[]>;
}

// $1 is the main file, $2 the directory relative includes are under. Prints `F <b64 path> <b64 content>` per file
// read and `G <b64 pattern> <b64 newline-separated matches>` per Include pattern; the parser places them in order.
const SCRIPT = `${EMIT_FILE_FN}
enc() { if [ -n "$1" ]; then printf %s "$1" | base64 -w0; else printf -; fi; }
base=$2
walk() {
  local depth l r w p m f
  depth=$2
  if [ ! -f "$1" ] || [ ! -r "$1" ]; then return 0; fi
  F "$1"
  if [ "$depth" -ge 16 ]; then return 0; fi
  grep -iE '^[[:space:]]*include([[:space:]]|=)' -- "$1" | while IFS= read -r l; do
    r=$(printf '%s\\n' "$l" | sed -E 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]]*=?[[:space:]]*//')
    set -f
    for w in $r; do
      case $w in '#'*) break ;; esac
      w=\${w#\\"}; w=\${w%\\"}
      case $w in /*) p=$w ;; *) p=$base/$w ;; esac
      set +f
      m=
      for f in $p; do if [ -f "$f" ]; then m="$m$f
"; fi; done
      printf 'G %s %s\\n' "$(enc "$p")" "$(enc "$m")"
      printf %s "$m" | while IFS= read -r f; do walk "$f" $((depth + 1)); done
      set -f
    done
    set +f
  done
}
walk "$1" 0
exit 0
`;

/** Parses the probe script's output. */
export function parseSources(main: string, text: string): SshConfigSources {
  const files = new Map<string, string>();
  const globs = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [tag, a, b] = line.split(' ');
    if (tag === 'F' && a !== undefined) files.set(b64(a), b64(b));
    if (tag === 'G' && a !== undefined)
      globs.set(
        b64(a),
        b64(b)
          .split('\n')
          .filter((f) => f !== ''),
      );
  }
  return { main, files, globs };
}

/**
 * Splits the arguments of a config line as OpenSSH does: whitespace separates, double or single quotes group,
 * a backslash escapes a quote, backslash or space, and an unquoted word starting with `#` ends the line.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (quote === undefined && /\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
      continue;
    }
    if (quote === undefined && c === '#' && word === undefined) break;
    const next = text[i + 1];
    if (c === '\\' && next !== undefined && /["'\\ ]/.test(next)) {
      word = (word ?? '') + next;
      i++;
    } else if (quote === undefined && (c === '"' || c === "'")) {
      quote = c;
      word = word ?? '';
    } else if (c === quote) {
      quote = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** One directive: its lowercase keyword and arguments, or undefined for blank and comment lines. */
export function parseDirective(line: string): { key: string; args: string[] } | undefined {
  const m = /^\s*([A-Za-z0-9_]+)(?:\s*=\s*|\s+|$)(.*)$/.exec(line);
  if (m?.[1] === undefined) return undefined;
  return { key: m[1].toLowerCase(), args: splitArgs(m[2] ?? '') };
}

interface MutableBlock {
  readonly kind: 'Match' | 'Host';
  readonly criteria: string;
  readonly settings: Record<string, string>;
}

interface Scope {
  /** The block settings go to; undefined at the global level. */
  readonly block: MutableBlock | undefined;
  /** Whether the settings apply to the default connection. */
  readonly applies: boolean;
}

/** Whether a block's criteria select every connection (`Match all`, or a client's `Host *`). */
function selectsAll(kind: 'Match' | 'Host', args: readonly string[]): boolean {
  if (kind === 'Match') return args.length === 1 && args[0]?.toLowerCase() === 'all';
  return args.length > 0 && args.every((a) => a === '*');
}

/** The resolved pattern of an Include argument: relative paths are under `base`. */
function includePattern(arg: string, base: string): string {
  return arg.startsWith('/') ? arg : `${base}/${arg}`;
}

/**
 * Parses a configuration with its includes. Server rules: the global value is the first one outside Match blocks,
 * overridden by the first one in a `Match all` block. Client rules: the first value outside Host/Match blocks or in
 * `Host *`/`Match all` blocks wins.
 */
export function parseSshConfig(
  sources: SshConfigSources,
  flavour: SshFlavour,
  base = '/etc/ssh',
): SshConfigObservation {
  const blocks: SshBlock[] = [];
  const globalValues: Record<string, string[]> = {};
  const matchValues: Record<string, string[]> = {};
  const read: string[] = [];
  const add = (into: Record<string, string[]>, key: string, value: string): void => {
    (into[key] ??= []).push(value);
  };

  const walk = (path: string, outer: Scope, depth: number): void => {
    const text = sources.files.get(path);
    if (text === undefined || depth > 16) return;
    read.push(path);
    // Match and Host lines in a file end at the end of that file; the including file's scope resumes after it.
    let scope = outer;
    for (const line of text.split('\n')) {
      const d = parseDirective(line.replace(/\r$/, ''));
      if (d === undefined) continue;
      if (d.key === 'include') {
        for (const arg of d.args) {
          for (const f of sources.globs.get(includePattern(arg, base)) ?? []) walk(f, scope, depth + 1);
        }
        continue;
      }
      if (d.key === 'match' || (d.key === 'host' && flavour === 'client')) {
        const kind = d.key === 'match' ? 'Match' : 'Host';
        const own = d.args.join(' ');
        const block: MutableBlock = {
          kind,
          criteria: outer.block === undefined ? own : `${outer.block.criteria} / ${own}`,
          settings: {},
        };
        blocks.push(block);
        scope = { block, applies: outer.applies && selectsAll(kind, d.args) };
        continue;
      }
      const value = d.args.join(' ');
      if (scope.block !== undefined && !(d.key in scope.block.settings)) scope.block.settings[d.key] = value;
      if (!scope.applies) continue;
      add(flavour === 'server' && scope.block !== undefined ? matchValues : globalValues, d.key, value);
    }
  };

  walk(sources.main, { block: undefined, applies: true }, 0);
  const values: Record<string, string[]> = {};
  const effective: Record<string, string> = {};
  for (const key of new Set([...Object.keys(globalValues), ...Object.keys(matchValues)])) {
    values[key] = [...(globalValues[key] ?? []), ...(matchValues[key] ?? [])];
    const first = matchValues[key]?.[0] ?? globalValues[key]?.[0];
    if (first !== undefined) effective[key] = first;
  }
  return { exists: sources.files.has(sources.main), files: read, values, effective, blocks };
}

function configResource(
  type: 'sshdConfig' | 'sshConfig',
  path: string,
  flavour: SshFlavour,
): AuditResource<SshConfigObservation> {
  return {
    type,
    key: `${type}:${path}`,
    label: `${type} ${path}`,
    probe() {
      return {
        files: { kind: 'exec', argv: ['/bin/sh', '-c', SCRIPT, 'sh', path, '/etc/ssh'], timeoutSec: 30 },
      };
    },
    read(results: ProbeResults) {
      const text = execText(results, 'files', `${type} ${path}`);
      return parseSshConfig(parseSources(path, text), flavour);
    },
  };
}

/** What a control can check about an OpenSSH configuration. */
export interface SshConfigView {
  /** True when the main file exists. */
  readonly exists: Subject<boolean>;
  /** The effective value of a keyword (any case) for the default connection; undefined when not set. */
  get(key: string): Subject<string | undefined>;
  /** Every value of a keyword that applies to the default connection, in the order read. */
  getAll(key: string): Subject<string[]>;
  /** The files read, main file first. */
  readonly files: Subject<string[]>;
}

/** The server view adds its Match blocks. */
export interface SshdConfigView extends SshConfigView {
  /** Every Match block with its criteria and settings (lowercase keys). */
  readonly matchBlocks: Subject<{ criteria: string; settings: Record<string, string> }[]>;
}

/** The client view adds its Host and Match blocks. */
export interface SshClientConfigView extends SshConfigView {
  /** Every Host block with its patterns and settings (lowercase keys). */
  readonly hostBlocks: Subject<{ criteria: string; settings: Record<string, string> }[]>;
  /** Every Match block with its criteria and settings (lowercase keys). */
  readonly matchBlocks: Subject<{ criteria: string; settings: Record<string, string> }[]>;
}

function commonView(resource: AuditResource<SshConfigObservation>): SshConfigView {
  return {
    exists: subject(resource, 'exists', (o) => o.exists),
    get(key) {
      const k = plainString(key, `${resource.type}.get()`).toLowerCase();
      return subject(resource, key, (o) => o.effective[k]);
    },
    getAll(key) {
      const k = plainString(key, `${resource.type}.getAll()`).toLowerCase();
      return subject(resource, `${key} (all)`, (o) => [...(o.values[k] ?? [])]);
    },
    files: subject(resource, 'files', (o) => [...o.files]),
  };
}

function blocksOf(
  o: SshConfigObservation,
  kind: 'Match' | 'Host',
): { criteria: string; settings: Record<string, string> }[] {
  return o.blocks
    .filter((b) => b.kind === kind)
    .map((b) => ({ criteria: b.criteria, settings: { ...b.settings } }));
}

/** Observes sshd's configuration as sshd reads it for a connection no Match block singles out. */
export function sshdConfig(path = '/etc/ssh/sshd_config'): SshdConfigView {
  const resource = configResource('sshdConfig', absolutePath(path, 'sshdConfig()'), 'server');
  return {
    ...commonView(resource),
    matchBlocks: subject(resource, 'Match blocks', (o) => blocksOf(o, 'Match')),
  };
}

/** Observes the ssh client's system-wide configuration for a host no Host/Match block singles out. */
export function sshConfig(path = '/etc/ssh/ssh_config'): SshClientConfigView {
  const resource = configResource('sshConfig', absolutePath(path, 'sshConfig()'), 'client');
  return {
    ...commonView(resource),
    hostBlocks: subject(resource, 'Host blocks', (o) => blocksOf(o, 'Host')),
    matchBlocks: subject(resource, 'Match blocks', (o) => blocksOf(o, 'Match')),
  };
}
