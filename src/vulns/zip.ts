/**
 * A minimal reader of ZIP archives held in memory, enough for OSV's per-ecosystem `all.zip` exports: the central
 * directory (with ZIP64 for archives of more than 65535 entries or 4 GiB), entries stored or deflated, CRC-32
 * checked, and a cap on each entry's inflated size so a hostile archive cannot exhaust memory. No encryption, no
 * multi-disk archives. Uses only node:zlib.
 */
import { zlib } from '../builtins.js';
import { BulwarkError } from '../errors.js';
import { FEED_INVALID } from './types.js';

/** One file of an archive. */
export interface ZipEntry {
  /** The path inside the archive, as stored (UTF-8). */
  readonly name: string;
  readonly data: Buffer;
}

/** Options for reading an archive. */
export interface ZipOptions {
  /** The largest inflated size accepted for one entry, in bytes. @default 16 MiB */
  readonly maxEntryBytes?: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function bad(what: string): never {
  throw new BulwarkError(FEED_INVALID, `the ZIP archive is damaged or unsupported: ${what}`);
}

/** Reads a little-endian 64-bit size that must fit a JavaScript number exactly. */
function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad('a 64-bit size is too large');
  return Number(v);
}

/** Where the central directory is and how many entries it has. */
function findDirectory(buf: Buffer): { offset: number; count: number } {
  // The end record is at most 65535 (comment) + 22 bytes from the end.
  const floor = Math.max(0, buf.length - 65535 - 22);
  let eocd = -1;
  for (let i = buf.length - 22; i >= floor; i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('no end of central directory record (truncated, or not a ZIP file)');
  let count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== ZIP64_LOCATOR) bad('ZIP64 sizes without a ZIP64 locator');
    const rec = u64(buf, loc + 8);
    if (rec + 56 > buf.length || buf.readUInt32LE(rec) !== ZIP64_EOCD)
      bad('no ZIP64 end of central directory');
    count = u64(buf, rec + 32);
    offset = u64(buf, rec + 48);
  }
  if (offset > buf.length) bad('the central directory lies beyond the end of the file');
  return { offset, count };
}

/** Reads every file entry (directories are skipped) of a ZIP archive held in `buf`. */
export function* readZipEntries(buf: Buffer, options: ZipOptions = {}): Generator<ZipEntry> {
  const max = options.maxEntryBytes ?? 16 * 1024 * 1024;
  const { offset, count } = findDirectory(buf);
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL)
      bad(`central directory entry ${k} is damaged`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressed = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the 64-bit values present are those whose 32-bit fields are all ones, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) [size, q] = [u64(buf, q), q + 8];
        if (compressed === 0xffffffff) [compressed, q] = [u64(buf, q), q + 8];
        if (local === 0xffffffff) local = u64(buf, q);
      }
      e += 4 + len;
    }
    p = extraEnd + commentLen;
    if (name.endsWith('/')) continue;
    if ((flags & 1) !== 0) bad(`${name} is encrypted`);
    if (size > max) bad(`${name} inflates to ${size} bytes, more than the ${max} allowed`);
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOCAL)
      bad(`the local header of ${name} is damaged`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + compressed > buf.length) bad(`${name} is cut off`);
    const raw = buf.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = zlib().inflateRawSync(raw, { maxOutputLength: max });
      } catch (err) {
        return bad(`${name} does not inflate (${(err as Error).message})`);
      }
    } else return bad(`${name} uses compression method ${method}; only stored and deflate are supported`);
    if (data.length !== size || zlib().crc32(data) !== crc) bad(`${name} fails its size or CRC-32 check`);
    yield { name, data };
  }
}
