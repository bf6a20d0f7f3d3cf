/**
 * Downloading the Debian tracker feed into a local cache: conditional requests (If-None-Match / If-Modified-Since
 * from the stored ETag and Last-Modified), 304 handling, detection of truncated bodies (Content-Length mismatch,
 * JSON that does not parse), and atomic replacement, so a failed download always leaves the previous copy intact
 * and usable. Uses Node's global fetch (or one passed in); the only network access of the vulns layer.
 */
import { crypto } from '../builtins.js';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';
import { FEED_INVALID, FEED_UNAVAILABLE } from './types.js';

/** Where Debian publishes the tracker feed. */
export const TRACKER_FEED_URL = 'https://security-tracker.debian.org/tracker/data/json';

/** The cached feed's file name inside the cache directory. */
export const FEED_FILE = 'tracker.json';

/** The metadata file (validators, hash, times) beside the cached feed. */
export const META_FILE = 'tracker.meta.json';

/** What is known about the cached copy of the feed. */
export interface FeedMeta {
  /** The URL it was downloaded from; a different URL is not sent conditional headers. */
  readonly url: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** sha256 of the cached file, hex; pass it to `loadTrackerIndex` to skip hashing the feed. */
  readonly sha256: string;
  readonly size: number;
  /** When the current content was downloaded (ISO 8601). */
  readonly downloadedAt: string;
  /** When the server last confirmed it current (a 200 or a 304), ISO 8601. */
  readonly checkedAt: string;
}

/** Options for `updateTrackerFeed`. */
export interface UpdateFeedOptions {
  /** The feed URL. @default TRACKER_FEED_URL */
  readonly url?: string;
  /** The directory holding the cached feed and its metadata; created when missing. */
  readonly cacheDir: string;
  /** How long the whole request, body included, may take, in milliseconds. @default 120000 */
  readonly timeoutMs?: number;
  /** The fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** Cancels the download; the cache is left as it was. */
  readonly signal?: AbortSignal;
  /** The largest body accepted, in bytes. @default 512 MiB */
  readonly maxBytes?: number;
  /** The clock, for tests. @default () => new Date() */
  readonly now?: () => Date;
}

/** What an update did. */
export interface UpdateFeedResult {
  /** `downloaded`: new content was stored; `not-modified`: the server confirmed the cached copy (HTTP 304). */
  readonly status: 'downloaded' | 'not-modified';
  /** The path of the cached feed. */
  readonly path: string;
  readonly meta: FeedMeta;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The cached copy's metadata, or undefined when there is no usable cached copy. */
export async function readFeedMeta(cacheDir: string): Promise<FeedMeta | undefined> {
  try {
    const raw: unknown = JSON.parse(await readFile(join(cacheDir, META_FILE), 'utf8'));
    if (!isObject(raw)) return undefined;
    const { url, etag, lastModified, sha256, size, downloadedAt, checkedAt } = raw;
    if (typeof url !== 'string' || typeof sha256 !== 'string' || typeof size !== 'number') return undefined;
    if (typeof downloadedAt !== 'string' || typeof checkedAt !== 'string') return undefined;
    const feed = await stat(join(cacheDir, FEED_FILE));
    if (feed.size !== size) return undefined;
    return {
      url,
      sha256,
      size,
      downloadedAt,
      checkedAt,
      ...(typeof etag === 'string' ? { etag } : {}),
      ...(typeof lastModified === 'string' ? { lastModified } : {}),
    };
  } catch {
    return undefined;
  }
}

/** "3 h 5 min" style age. */
function formatAge(ms: number): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} days`;
}

/** The sentence that tells what the caller still has after a failure. */
function cachedCopy(meta: FeedMeta | undefined, now: Date): string {
  if (meta === undefined) return 'there is no cached copy yet';
  const age = formatAge(now.getTime() - Date.parse(meta.downloadedAt));
  return `the cached copy downloaded ${meta.downloadedAt} (${age} old) is kept`;
}

/** Writes `data` to `path` through a temporary file and a rename, so readers never see a partial file. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode: 0o644, flush: true });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Brings the cached tracker feed up to date. Sends the stored validators, keeps the cached copy on a 304, and
 * replaces it atomically only with a complete body that parses as the tracker's JSON object.
 * @throws BulwarkError on a timeout, a network or HTTP error, or a truncated or invalid body; the message says
 *   how old the cached copy is, which stays in place and can still be used.
 */
export async function updateTrackerFeed(options: UpdateFeedOptions): Promise<UpdateFeedResult> {
  const url = options.url ?? TRACKER_FEED_URL;
  const { cacheDir } = options;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  const now = options.now ?? ((): Date => new Date());
  const doFetch = options.fetch ?? globalThis.fetch;
  const path = join(cacheDir, FEED_FILE);
  await mkdir(cacheDir, { recursive: true });
  const cached = await readFeedMeta(cacheDir);
  const usable = cached !== undefined && cached.url === url ? cached : undefined;

  const headers: Record<string, string> = { accept: 'application/json' };
  if (usable?.etag !== undefined) headers['if-none-match'] = usable.etag;
  if (usable?.lastModified !== undefined) headers['if-modified-since'] = usable.lastModified;

  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), timeoutMs);
  const signal =
    options.signal === undefined ? timer.signal : AbortSignal.any([timer.signal, options.signal]);
  const fail = (code: typeof FEED_INVALID, what: string, cause?: unknown): never => {
    throw new BulwarkError(
      code,
      `downloading the Debian tracker feed from ${url} failed: ${what}; ${cachedCopy(cached, now())}`,
      {
        cause,
      },
    );
  };
  const failFetch = (e: unknown, phase: 'request' | 'body'): never => {
    if (timer.signal.aborted) {
      const during = phase === 'request' ? 'waiting for the server' : 'while reading the body';
      return fail(FEED_UNAVAILABLE, `it timed out after ${timeoutMs} ms ${during}`, e);
    }
    if (options.signal?.aborted === true) return fail(FEED_UNAVAILABLE, 'it was cancelled', e);
    const cause = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    const what = phase === 'request' ? 'the request failed' : 'the transfer was cut off';
    return fail(FEED_UNAVAILABLE, `${what} (${cause})`, e);
  };

  let body: Buffer;
  let response: Response;
  try {
    try {
      response = await doFetch(url, { headers, signal, redirect: 'follow' });
    } catch (e) {
      return failFetch(e, 'request');
    }
    if (response.status === 304) {
      await response.body?.cancel();
      if (usable === undefined)
        return fail(FEED_UNAVAILABLE, 'the server answered 304 Not Modified, but there is no cached copy');
      const meta: FeedMeta = { ...usable, checkedAt: now().toISOString() };
      await writeAtomic(join(cacheDir, META_FILE), JSON.stringify(meta));
      return { status: 'not-modified', path, meta };
    }
    if (!response.ok) {
      await response.body?.cancel();
      return fail(
        FEED_UNAVAILABLE,
        `the server answered HTTP ${response.status} ${response.statusText}`.trimEnd(),
      );
    }
    const declared = response.headers.get('content-length');
    if (declared !== null && Number(declared) > maxBytes) {
      await response.body?.cancel();
      return fail(FEED_INVALID, `it is ${declared} bytes, more than the ${maxBytes} allowed`);
    }
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (e) {
      return failFetch(e, 'body');
    }
  } finally {
    clearTimeout(timeout);
  }

  // Content-Length counts the bytes on the wire; with a content encoding fetch has already decoded them.
  const encoding = response.headers.get('content-encoding');
  const declared = response.headers.get('content-length');
  if (
    declared !== null &&
    (encoding === null || encoding === 'identity') &&
    Number(declared) !== body.length
  ) {
    return fail(FEED_INVALID, `the body is truncated: ${body.length} of ${declared} bytes arrived`);
  }
  if (body.length > maxBytes)
    return fail(FEED_INVALID, `it is ${body.length} bytes, more than the ${maxBytes} allowed`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return fail(FEED_INVALID, `the body is not valid JSON, probably truncated (${(e as Error).message})`, e);
  }
  if (!isObject(parsed) || Object.keys(parsed).length === 0) {
    return fail(FEED_INVALID, 'the body is not the tracker JSON (an object of source packages)');
  }

  const at = now().toISOString();
  const etag = response.headers.get('etag');
  const lastModified = response.headers.get('last-modified');
  const meta: FeedMeta = {
    url,
    sha256: crypto().createHash('sha256').update(body).digest('hex'),
    size: body.length,
    downloadedAt: at,
    checkedAt: at,
    ...(etag === null ? {} : { etag }),
    ...(lastModified === null ? {} : { lastModified }),
  };
  // The old metadata goes first, then the feed, then the new metadata: a crash in between leaves no metadata, which
  // readFeedMeta treats as "no usable copy", never as validators or a hash of the wrong content.
  await rm(join(cacheDir, META_FILE), { force: true });
  await writeAtomic(path, body);
  await writeAtomic(join(cacheDir, META_FILE), JSON.stringify(meta));
  return { status: 'downloaded', path, meta };
}
