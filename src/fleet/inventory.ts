/**
 * Inventories: which hosts exist, how to reach them, which groups (roles) they are in, what runs on them and
 * with which attributes and inputs. Written in YAML, or in TypeScript with `defineInventory` for editor checking.
 * Precedence of attributes and inputs: host over group (later groups over earlier ones) over the defaults in the
 * cookbooks and profiles.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { BulwarkError, throwProblems, type Problem } from '../errors.js';
import { parseJumpHosts, parseSshTarget, type SshOptions } from '../transports/ssh.js';

/** How to reach a host; every field can also be set in `defaults`. */
export interface HostConnection {
  /** The login user for SSH. @default root */
  readonly user?: string;
  /** The SSH port. @default 22 */
  readonly port?: number;
  /** Private key file(s), relative to the inventory file. @default the keys OpenSSH would try */
  readonly key?: string | readonly string[];
  /** Run commands through sudo (for a login user that is not root). @default false */
  readonly sudo?: boolean;
  /** Environment variable holding the sudo password. @default none: sudo must not ask */
  readonly sudoPasswordEnv?: string;
  /** Environment variable holding the login password. @default none */
  readonly passwordEnv?: string;
  /** known_hosts file for this host, relative to the inventory file. @default ~/.ssh/known_hosts */
  readonly knownHosts?: string;
  /** A jump host to reach this host through, `ssh://[user@]host[:port]`. @default none (or ProxyJump of ~/.ssh/config) */
  readonly bastion?: string;
}

/** One host of an inventory. */
export interface HostSpec extends HostConnection {
  /** Address or DNS name, reached over SSH. Exactly one of `address` and `target` is given. */
  readonly address?: string;
  /** A full target spec instead of an address: `local`, `chroot:/dir` or `ssh://user@host:port`. */
  readonly target?: string;
  /** Attribute overrides keyed by cookbook name; they win over every group's. @default {} */
  readonly attributes?: Readonly<Record<string, unknown>>;
  /** Input overrides keyed by profile name; they win over every group's. @default {} */
  readonly inputs?: Readonly<Record<string, unknown>>;
}

/** One group (role) of an inventory. */
export interface GroupSpec {
  /** Names of hosts in the group. */
  readonly hosts: readonly string[];
  /** Attribute overrides for the group's hosts, keyed by cookbook name. @default {} */
  readonly attributes?: Readonly<Record<string, unknown>>;
  /** Input overrides for the group's hosts, keyed by profile name. @default {} */
  readonly inputs?: Readonly<Record<string, unknown>>;
  /** Cookbooks converged on the group's hosts (paths relative to the inventory file). @default [] */
  readonly cookbooks?: readonly string[];
  /** Profiles audited on the group's hosts (paths relative to the inventory file). @default [] */
  readonly profiles?: readonly string[];
}

/** An inventory as written. */
export interface InventorySpec {
  readonly defaults?: HostConnection;
  readonly hosts: Readonly<Record<string, HostSpec>>;
  readonly groups?: Readonly<Record<string, GroupSpec>>;
}

export { defineInventory } from './define.js';

/** One host, resolved: where it is, how to reach it, what runs there and with which overrides. */
export interface InventoryHost {
  readonly name: string;
  /** `local`, `chroot:/dir` or `ssh://user@host:port`. */
  readonly target: string;
  readonly ssh: SshOptions;
  /** The groups the host is in, in inventory order. */
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Absolute paths of the cookbooks of its groups, each once, in group order. */
  readonly cookbooks: readonly string[];
  /** Absolute paths of the profiles of its groups, each once, in group order. */
  readonly profiles: readonly string[];
}

/** A resolved inventory. */
export interface Inventory {
  readonly file: string;
  readonly hosts: readonly InventoryHost[];
  readonly groups: ReadonlyMap<string, readonly string[]>;
}

const HOST_KEYS = new Set([
  'address',
  'target',
  'user',
  'port',
  'key',
  'sudo',
  'sudoPasswordEnv',
  'passwordEnv',
  'knownHosts',
  'bastion',
  'attributes',
  'inputs',
]);
const CONNECTION_KEYS = new Set([
  'user',
  'port',
  'key',
  'sudo',
  'sudoPasswordEnv',
  'passwordEnv',
  'knownHosts',
  'bastion',
]);
const GROUP_KEYS = new Set(['hosts', 'attributes', 'inputs', 'cookbooks', 'profiles']);
const TOP_KEYS = new Set(['defaults', 'hosts', 'groups']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ENV = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges plain objects (arrays and scalars are replaced); `b` wins. */
export function deepMerge(
  a: Readonly<Record<string, unknown>>,
  b: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prior = out[k];
    out[k] = isObject(prior) && isObject(v) ? deepMerge(prior, v) : v;
  }
  return out;
}

/** Validates and resolves an inventory; every problem is reported at once. `file` anchors relative paths. */
export function resolveInventory(raw: unknown, file: string): Inventory {
  const found: Problem[] = [];
  const bad = (at: string, property: string | undefined, message: string): void => {
    found.push({
      code: 'BULWARK_INVENTORY_INVALID',
      at,
      ...(property === undefined ? {} : { property }),
      message,
    });
  };
  const base = dirname(resolve(file));
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  if (!isObject(raw))
    throw new BulwarkError('BULWARK_INVENTORY_INVALID', `inventory ${file} must be a mapping with hosts`);
  for (const k of Object.keys(raw))
    if (!TOP_KEYS.has(k)) bad('inventory', k, `unknown key (known: ${[...TOP_KEYS].join(', ')})`);
  const checkConnection = (at: string, c: Record<string, unknown>): void => {
    if (
      c['user'] !== undefined &&
      (typeof c['user'] !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(c['user']))
    )
      bad(at, 'user', 'not a user name');
    if (
      c['port'] !== undefined &&
      (typeof c['port'] !== 'number' || !Number.isInteger(c['port']) || c['port'] < 1 || c['port'] > 65535)
    )
      bad(at, 'port', 'a port is 1-65535');
    const key = c['key'];
    if (
      key !== undefined &&
      typeof key !== 'string' &&
      !(Array.isArray(key) && key.every((x) => typeof x === 'string'))
    )
      bad(at, 'key', 'a key file path or a list of them');
    if (c['sudo'] !== undefined && typeof c['sudo'] !== 'boolean') bad(at, 'sudo', 'true or false');
    for (const env of ['sudoPasswordEnv', 'passwordEnv']) {
      if (c[env] !== undefined && (typeof c[env] !== 'string' || !ENV.test(c[env])))
        bad(at, env, 'the name of an environment variable');
    }
    if (c['knownHosts'] !== undefined && typeof c['knownHosts'] !== 'string')
      bad(at, 'knownHosts', 'a file path');
    const bastion = c['bastion'];
    if (bastion !== undefined) {
      if (typeof bastion !== 'string')
        bad(at, 'bastion', 'jump hosts: ssh://[user@]host[:port], comma-separated');
      else {
        try {
          parseJumpHosts(bastion);
        } catch (e) {
          bad(at, 'bastion', e instanceof Error ? e.message : String(e));
        }
      }
    }
  };
  const defaults = raw['defaults'] ?? {};
  if (!isObject(defaults)) bad('defaults', undefined, 'must be a mapping');
  else {
    for (const k of Object.keys(defaults))
      if (!CONNECTION_KEYS.has(k))
        bad('defaults', k, `unknown key (known: ${[...CONNECTION_KEYS].join(', ')})`);
    checkConnection('defaults', defaults);
  }
  const hostsRaw = raw['hosts'];
  if (!isObject(hostsRaw) || Object.keys(hostsRaw).length === 0) {
    throwProblems('BULWARK_INVENTORY_INVALID', `inventory ${file} is invalid`, [
      ...found,
      { code: 'BULWARK_INVENTORY_INVALID', at: 'hosts', message: 'an inventory needs at least one host' },
    ]);
    throw new Error('unreachable');
  }
  const groupsRaw = raw['groups'] ?? {};
  if (!isObject(groupsRaw)) bad('groups', undefined, 'must be a mapping');
  const groups = new Map<string, string[]>();
  for (const [g, spec] of Object.entries(isObject(groupsRaw) ? groupsRaw : {})) {
    const at = `group[${g}]`;
    if (!NAME.test(g)) bad(at, undefined, 'a group name is letters, digits, ., _ and -');
    if (!isObject(spec)) {
      bad(at, undefined, 'must be a mapping with hosts');
      continue;
    }
    for (const k of Object.keys(spec))
      if (!GROUP_KEYS.has(k)) bad(at, k, `unknown key (known: ${[...GROUP_KEYS].join(', ')})`);
    const members = spec['hosts'];
    if (!Array.isArray(members) || !members.every((m) => typeof m === 'string')) {
      bad(at, 'hosts', 'a list of host names');
      continue;
    }
    for (const m of members) if (!Object.hasOwn(hostsRaw, m)) bad(at, 'hosts', `no host named ${m}`);
    if (new Set(members).size !== members.length) bad(at, 'hosts', 'a host is listed twice');
    for (const k of ['attributes', 'inputs'])
      if (spec[k] !== undefined && !isObject(spec[k]))
        bad(at, k, 'a mapping keyed by cookbook or profile name');
    for (const k of ['cookbooks', 'profiles']) {
      const list = spec[k];
      if (list !== undefined && !(Array.isArray(list) && list.every((x) => typeof x === 'string')))
        bad(at, k, 'a list of file paths');
    }
    groups.set(g, members as string[]);
  }
  const hosts: InventoryHost[] = [];
  const seenTargets = new Map<string, string>();
  for (const [name, spec] of Object.entries(hostsRaw)) {
    const at = `host[${name}]`;
    if (!NAME.test(name)) bad(at, undefined, 'a host name is letters, digits, ., _ and -');
    if (!isObject(spec)) {
      bad(at, undefined, 'must be a mapping with an address or a target');
      continue;
    }
    for (const k of Object.keys(spec))
      if (!HOST_KEYS.has(k)) bad(at, k, `unknown key (known: ${[...HOST_KEYS].join(', ')})`);
    checkConnection(at, spec);
    const c = { ...(isObject(defaults) ? defaults : {}), ...spec } as Record<string, unknown>;
    let target: string | undefined;
    if ((spec['address'] === undefined) === (spec['target'] === undefined)) {
      bad(at, 'address', 'give exactly one of address and target');
    } else if (typeof spec['target'] === 'string') {
      target = spec['target'];
      if (!/^(local|chroot:\/.*|ssh:\/\/.+)$/.test(target))
        bad(at, 'target', 'use local, chroot:/dir or ssh://user@host:port');
    } else if (typeof spec['address'] === 'string') {
      const address = spec['address'];
      const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
      target = `ssh://${String(c['user'] ?? 'root')}@${host}:${String(c['port'] ?? 22)}`;
    } else {
      bad(at, 'address', 'must be a string');
    }
    if (target?.startsWith('ssh://') === true) {
      try {
        parseSshTarget(target);
      } catch (e) {
        bad(at, 'address', e instanceof Error ? e.message : String(e));
      }
    }
    if (target !== undefined && target !== 'local') {
      const other = seenTargets.get(target);
      if (other !== undefined) bad(at, 'address', `the same target as host ${other}: ${target}`);
      seenTargets.set(target, name);
    }
    const memberOf = [...groups].filter(([, members]) => members.includes(name)).map(([g]) => g);
    let attributes: Record<string, unknown> = {};
    let inputs: Record<string, unknown> = {};
    const cookbooks: string[] = [];
    const profiles: string[] = [];
    for (const g of memberOf) {
      const gs = (groupsRaw as Record<string, Record<string, unknown>>)[g] ?? {};
      if (isObject(gs['attributes'])) attributes = deepMerge(attributes, gs['attributes']);
      if (isObject(gs['inputs'])) inputs = deepMerge(inputs, gs['inputs']);
      for (const f of Array.isArray(gs['cookbooks']) ? (gs['cookbooks'] as string[]) : [])
        if (!cookbooks.includes(path(f))) cookbooks.push(path(f));
      for (const f of Array.isArray(gs['profiles']) ? (gs['profiles'] as string[]) : [])
        if (!profiles.includes(path(f))) profiles.push(path(f));
    }
    if (isObject(spec['attributes'])) attributes = deepMerge(attributes, spec['attributes']);
    else if (spec['attributes'] !== undefined) bad(at, 'attributes', 'a mapping keyed by cookbook name');
    if (isObject(spec['inputs'])) inputs = deepMerge(inputs, spec['inputs']);
    else if (spec['inputs'] !== undefined) bad(at, 'inputs', 'a mapping keyed by profile name');
    const key = c['key'];
    const ssh: SshOptions = {
      ...(key === undefined
        ? {}
        : { privateKeys: (typeof key === 'string' ? [key] : (key as string[])).map(path) }),
      ...(c['sudo'] === true ? { sudo: true } : {}),
      ...(typeof c['sudoPasswordEnv'] === 'string' ? { sudoPasswordEnv: c['sudoPasswordEnv'] } : {}),
      ...(typeof c['passwordEnv'] === 'string' ? { passwordEnv: c['passwordEnv'] } : {}),
      ...(typeof c['knownHosts'] === 'string' ? { knownHostsFile: path(c['knownHosts']) } : {}),
      ...(typeof c['bastion'] === 'string' ? { bastion: c['bastion'] } : {}),
    };
    hosts.push({
      name,
      target: target ?? 'local',
      ssh,
      groups: memberOf,
      attributes,
      inputs,
      cookbooks,
      profiles,
    });
  }
  for (const g of groups.keys())
    if (Object.hasOwn(hostsRaw, g))
      bad(`group[${g}]`, undefined, 'a group and a host share this name, so --limit would be ambiguous');
  throwProblems('BULWARK_INVENTORY_INVALID', `inventory ${file} is invalid`, found);
  return { file: resolve(file), hosts, groups };
}

/** The hosts `--limit a,b` selects: hosts by name and every member of groups by name; unknown names are errors. */
export function limitHosts(inventory: Inventory, limit: string | undefined): readonly InventoryHost[] {
  if (limit === undefined || limit.trim() === '') return inventory.hosts;
  const wanted = new Set<string>();
  for (const word of limit
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean)) {
    const group = inventory.groups.get(word);
    if (group !== undefined) for (const h of group) wanted.add(h);
    else if (inventory.hosts.some((h) => h.name === word)) wanted.add(word);
    else
      throw new BulwarkError(
        'BULWARK_USAGE',
        `--limit ${word}: no host or group of that name in ${inventory.file}`,
      );
  }
  return inventory.hosts.filter((h) => wanted.has(h.name));
}

/** Reads an inventory file: YAML (`.yaml`, `.yml`) or TypeScript (`defineInventory` as the default export). */
export async function loadInventory(file: string): Promise<Inventory> {
  let raw: unknown;
  if (/\.[cm]?ts$/.test(file)) {
    const { loadDefaultExport } = await import('../engine/load.js');
    raw = await loadDefaultExport(file, { what: 'inventory' });
  } else {
    const { readFileSync } = await import('node:fs');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new BulwarkError('BULWARK_USAGE', `cannot read inventory ${file}: ${String(e)}`);
    }
    try {
      raw = (await import('yaml')).parse(text, { uniqueKeys: true });
    } catch (e) {
      throw new BulwarkError(
        'BULWARK_INVENTORY_INVALID',
        `inventory ${file} is not valid YAML: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  return resolveInventory(raw, file);
}
