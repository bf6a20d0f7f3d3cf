/**
 * OpenSSH known_hosts files: parsing (plain, wildcard, negated and hashed `|1|salt|hash` host fields, `[host]:port`
 * names, `@revoked` and `@cert-authority` markers), deciding whether a server's host key is known, unknown, changed or
 * revoked, OpenSSH-style SHA256 fingerprints, and adding a new host atomically. Node built-ins only.
 */
import { crypto } from '../builtins.js';
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** `revoked` and `cert-authority` lines carry a marker; plain lines have none. */
  readonly marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written: comma-separated patterns, or one hashed `|1|salt|hash` name. */
  readonly hosts: string;
  /** The key type named on the line, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The public key blob (the base64 field decoded). */
  readonly key: Buffer;
  /** 1-based line number in the file, for messages. */
  readonly line: number;
}

/** What the known_hosts file says about a server's key. */
export type HostKeyVerdict =
  | { readonly status: 'known'; readonly entry: KnownHostEntry }
  | { readonly status: 'unknown' }
  | { readonly status: 'changed'; readonly known: readonly KnownHostEntry[] }
  | { readonly status: 'revoked'; readonly entry: KnownHostEntry };

/** Parses the text of a known_hosts file; comments, blank and malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/[ \t]+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0].startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hosts, keyType, b64] = fields;
    if (hosts === undefined || keyType === undefined || b64 === undefined) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    if (blobKeyType(key) !== keyType) return;
    entries.push({ marker, hosts, keyType, key, line: i + 1 });
  });
  return entries;
}

/** The key type named inside a public key blob (its first SSH string), or '' when the blob is malformed. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  if (len > 64 || blob.length < 4 + len) return '';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** The name OpenSSH looks a host up by: the host itself on port 22, `[host]:port` on any other port. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** The OpenSSH fingerprint of a public key blob: `SHA256:` and the unpadded base64 of its SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${crypto().createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Hashes a host name the way `HashKnownHosts yes` does: `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. */
export function hashHostName(name: string, salt: Buffer = crypto().randomBytes(20)): string {
  const mac = crypto().createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`;
}

function globMatches(pattern: string, name: string): boolean {
  let re = '^';
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(name);
}

/** True when a known_hosts host field matches `name` (as made by `knownHostName`). */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (salt === undefined || hash === undefined) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = crypto().createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return expected.length === actual.length && crypto().timingSafeEqual(expected, actual);
  }
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (pattern === '' || !globMatches(pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/**
 * Decides what `entries` say about `key` presented by the host known as `name`. A revoked key is refused wherever it
 * is listed; a key listed for the host is known; any other key of a host that has keys listed is a changed key,
 * whatever its type (accepting a new type would let an attacker pick one the file does not pin); otherwise unknown.
 * Certificate authorities are not supported: their lines pin nothing.
 */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked !== undefined) return { status: 'revoked', entry: revoked };
  const mine = entries.filter((e) => e.marker === null && hostFieldMatches(e.hosts, name));
  const same = mine.find((e) => e.key.equals(key));
  if (same !== undefined) return { status: 'known', entry: same };
  return mine.length > 0 ? { status: 'changed', known: mine } : { status: 'unknown' };
}

/** The key types known for a host, so the client can ask the server for one of them first (as OpenSSH does). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types = entries
    .filter((e) => e.marker === null && hostFieldMatches(e.hosts, name))
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/** Reads and parses a known_hosts file; a missing file holds no entries. */
export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Options for adding a host. */
export interface AddKnownHostOptions {
  /** Write the host name hashed, like OpenSSH's `HashKnownHosts yes`. @default false */
  readonly hash?: boolean;
}

// Appends made by this process are serialized per file, so parallel connections cannot lose each other's lines.
const queues = new Map<string, Promise<void>>();

/**
 * Adds `name key` to a known_hosts file: the whole file is written beside itself and renamed over it, so readers
 * see the old file or the new one, never a part. A missing file (and its directory, mode 0700) is created.
 */
export function addKnownHost(
  file: string,
  name: string,
  key: Buffer,
  options: AddKnownHostOptions = {},
): Promise<void> {
  const previous = queues.get(file) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => appendAtomically(file, name, key, options));
  queues.set(file, next);
  return next;
}

async function appendAtomically(
  file: string,
  name: string,
  key: Buffer,
  options: AddKnownHostOptions,
): Promise<void> {
  const type = blobKeyType(key);
  if (type === '') throw new Error('the host key is malformed');
  if (/[\s,]/.test(name) || name === '') throw new Error(`${JSON.stringify(name)} cannot be a host name`);
  let target = file;
  let old = '';
  let mode = 0o600;
  try {
    target = await realpath(file);
    old = await readFile(target, 'utf8');
    mode = (await stat(target)).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  }
  const host = options.hash === true ? hashHostName(name) : name;
  const text = `${old}${old === '' || old.endsWith('\n') ? '' : '\n'}${host} ${type} ${key.toString('base64')}\n`;
  const tmp = join(dirname(target), `.known_hosts.bulwark-${crypto().randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, text, { mode, flag: 'wx', flush: true });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
