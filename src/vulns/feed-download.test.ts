// Downloading the tracker feed from a local HTTP server on 127.0.0.1: first download, 304, a changed feed,
// truncated bodies, HTTP errors, gzip, and a server that never answers. The cache must survive every failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isBulwarkError } from '../errors.js';
import { FEED_FILE, readFeedMeta, updateTrackerFeed } from './feed-download.js';
import { loadTrackerIndex } from './tracker.js';

const FEED = readFileSync(resolve('test/fixtures/vulns/tracker.json'));
const CHANGED = Buffer.from(JSON.stringify({ ...JSON.parse(FEED.toString()), extra: {} }));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server on 127.0.0.1 whose behaviour each step sets; records the requests it saw. */
async function serve(t: { after(fn: () => unknown): void }): Promise<{
  url: string;
  handle(h: Handler): void;
  requests: IncomingMessage['headers'][];
}> {
  let handler: Handler = (_req, res) => res.end();
  const requests: IncomingMessage['headers'][] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    handler(req, res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((done) => server.close(done));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/tracker/data/json`, handle: (h) => (handler = h), requests };
}

/** A handler that serves `body` with validators and answers 304 to matching conditional requests. */
function feed(body: Buffer, etag: string): Handler {
  return (req, res) => {
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      etag,
      'last-modified': 'Tue, 01 Jan 2099 00:00:00 GMT',
    });
    res.end(body);
  };
}

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-feed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the first download stores the feed with its validators and hash', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle(feed(FEED, '"v1"'));
  const r = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  assert.equal(r.status, 'downloaded');
  assert.deepEqual(await readFile(r.path), FEED);
  assert.equal(r.meta.etag, '"v1"');
  assert.equal(r.meta.lastModified, 'Tue, 01 Jan 2099 00:00:00 GMT');
  assert.equal(server.requests[0]?.['if-none-match'], undefined);
  // The recorded hash lets the loader skip hashing the feed.
  const index = await loadTrackerIndex(r.path, { release: 'bookworm', cacheDir, sha256: r.meta.sha256 });
  assert.equal(index.feedSha256, r.meta.sha256);
});

test('an unchanged feed is answered 304 to the conditional request and the cache is kept', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle(feed(FEED, '"v1"'));
  const first = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  const later = new Date(Date.parse(first.meta.downloadedAt) + 3_600_000);
  const second = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000, now: () => later });
  assert.equal(second.status, 'not-modified');
  assert.equal(server.requests[1]?.['if-none-match'], '"v1"');
  assert.equal(server.requests[1]?.['if-modified-since'], 'Tue, 01 Jan 2099 00:00:00 GMT');
  assert.equal(second.meta.sha256, first.meta.sha256);
  assert.equal(second.meta.downloadedAt, first.meta.downloadedAt);
  assert.equal(second.meta.checkedAt, later.toISOString());
  assert.deepEqual(await readFile(second.path), FEED);
});

test('a changed feed replaces the cached copy', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle(feed(FEED, '"v1"'));
  const first = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  server.handle(feed(CHANGED, '"v2"'));
  const second = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  assert.equal(second.status, 'downloaded');
  assert.equal(second.meta.etag, '"v2"');
  assert.notEqual(second.meta.sha256, first.meta.sha256);
  assert.deepEqual(await readFile(join(cacheDir, FEED_FILE)), CHANGED);
});

test('a body cut off before Content-Length is refused and the old cache kept', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle(feed(FEED, '"v1"'));
  const first = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  server.handle((_req, res) => {
    res.writeHead(200, { 'content-length': CHANGED.length, etag: '"v2"' });
    res.write(CHANGED.subarray(0, 100), () => res.destroy());
  });
  await assert.rejects(
    updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 }),
    (e) =>
      isBulwarkError(e, 'BULWARK_FEED_UNAVAILABLE') &&
      /cut off/.test(e.message) &&
      /cached copy downloaded .* old\) is kept/.test(e.message),
  );
  assert.deepEqual(await readFeedMeta(cacheDir), first.meta);
  assert.deepEqual(await readFile(join(cacheDir, FEED_FILE)), FEED);
});

test('a complete response whose JSON is truncated is refused and the old cache kept', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle(feed(FEED, '"v1"'));
  const first = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  const half = CHANGED.subarray(0, CHANGED.length / 2);
  server.handle(feed(half, '"v2"'));
  await assert.rejects(
    updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 }),
    (e) => isBulwarkError(e, 'BULWARK_FEED_INVALID') && /not valid JSON, probably truncated/.test(e.message),
  );
  server.handle((_req, res) => res.end('[]'));
  await assert.rejects(
    updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 }),
    (e) => isBulwarkError(e, 'BULWARK_FEED_INVALID') && /not the tracker JSON/.test(e.message),
  );
  assert.deepEqual(await readFeedMeta(cacheDir), first.meta);
});

test('an HTTP error is reported with its status and leaves no cache when there was none', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle((_req, res) => {
    res.writeHead(503);
    res.end('busy');
  });
  await assert.rejects(
    updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 }),
    (e) =>
      isBulwarkError(e, 'BULWARK_FEED_UNAVAILABLE') &&
      /HTTP 503/.test(e.message) &&
      /no cached copy yet/.test(e.message),
  );
  assert.equal(await readFeedMeta(cacheDir), undefined);
});

test('a gzip-encoded response is accepted although Content-Length counts compressed bytes', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  const gz = gzipSync(FEED);
  server.handle((_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': gz.length, etag: '"gz"' });
    res.end(gz);
  });
  const r = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  assert.deepEqual(await readFile(r.path), FEED);
});

test('a server that never answers times out with a clear error naming the cached copy age', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle(feed(FEED, '"v1"'));
  const first = await updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 5000 });
  server.handle(() => undefined);
  const later = new Date(Date.parse(first.meta.downloadedAt) + 3 * 3_600_000);
  const started = Date.now();
  await assert.rejects(
    updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 300, now: () => later }),
    (e) =>
      isBulwarkError(e, 'BULWARK_FEED_UNAVAILABLE') &&
      /timed out after 300 ms/.test(e.message) &&
      /\(3 h 0 min old\) is kept/.test(e.message),
  );
  assert.ok(Date.now() - started < 3000);
  assert.deepEqual(await readFile(join(cacheDir, FEED_FILE)), FEED);
});

test('a body that stalls half-way also times out', async (t) => {
  const server = await serve(t);
  const cacheDir = await tempDir(t);
  server.handle((_req, res) => {
    res.writeHead(200, { 'content-length': FEED.length });
    res.write(FEED.subarray(0, 50));
  });
  await assert.rejects(
    updateTrackerFeed({ url: server.url, cacheDir, timeoutMs: 300 }),
    (e) => isBulwarkError(e, 'BULWARK_FEED_UNAVAILABLE') && /timed out after 300 ms/.test(e.message),
  );
});
