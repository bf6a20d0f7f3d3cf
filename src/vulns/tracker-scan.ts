/**
 * A fast structural reader of the Debian tracker feed for one release. `JSON.parse` of the whole ~75 MB feed
 * builds millions of objects and strings (about 1.5 s on a small machine) when a run needs one release's entries
 * only. This reader walks the bytes once, skips descriptions and other releases without building anything, and
 * hands only the wanted release entries to `JSON.parse`. Its result is a *skeleton* of the feed with the shape
 * the normal reader expects (`{ pkg: { id: { releases: { [release]: entry } } } }`), so both paths share every
 * validation and normalisation rule.
 *
 * What it checks: down to each issue's releases, keys are strings followed by `:`, members are separated by `,`,
 * and nothing but whitespace follows the top-level object; every value it keeps is parsed by `JSON.parse`; inside
 * values it skips (descriptions, other releases) only string termination and bracket balance are followed. A
 * truncated feed is therefore always refused; garbage inside a skipped value (`[1 2}`) is not noticed here, which
 * the downloader's full `JSON.parse` at download time covers.
 */
import { BulwarkError } from '../errors.js';
import { FEED_INVALID } from './types.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** True for JSON whitespace: space, tab, line feed, carriage return. */
function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** True for bytes that may appear in a JSON number or in true/false/null. */
function isScalarByte(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || // digits
    c === 0x2d || // -
    c === 0x2b || // +
    c === 0x2e || // .
    c === 0x65 || // e
    c === 0x45 || // E
    (c >= 0x61 && c <= 0x7a) // letters of true, false, null
  );
}

/** A skeleton node under construction. */
type Node = Record<string, unknown>;

/** A node without a prototype, so that a `__proto__` key is an ordinary key, as `JSON.parse` makes it. */
const node = (): Node => Object.create(null) as Node;

/** Reads one release out of the feed bytes; see the file header. */
class Scanner {
  private readonly b: Uint8Array;
  /** The same bytes as a Buffer, for decoding slices without copying. */
  private readonly buf: Buffer;
  private readonly n: number;
  private readonly want: Uint8Array;
  private readonly releasesKey = Buffer.from('releases');

  constructor(bytes: Uint8Array, release: string) {
    this.b = bytes;
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    this.n = bytes.length;
    this.want = Buffer.from(release);
  }

  private fail(at: number, what: string): never {
    const where = at >= this.n ? 'at its end' : `at byte ${at}`;
    throw new BulwarkError(
      FEED_INVALID,
      `the Debian tracker feed is not valid JSON ${where} (${what}); the download may be truncated: download it again`,
    );
  }

  private ws(i: number): number {
    while (i < this.n && isWs(this.b[i] as number)) i++;
    return i;
  }

  /** `i` is at an opening quote; returns the index after the closing quote. */
  private string(i: number): number {
    const b = this.b;
    const n = this.n;
    for (i++; i < n; i++) {
      const c = b[i];
      if (c === QUOTE) return i + 1;
      if (c === BACKSLASH) i++;
    }
    return this.fail(n, 'a string is not terminated');
  }

  /**
   * Skips any value starting at `i` (after whitespace); returns the index after it. Inside a skipped object or
   * array only strings and bracket balance are followed: this loop runs over most of the feed's bytes and is
   * kept as tight as possible.
   */
  private skip(i: number): number {
    const b = this.b;
    const n = this.n;
    const first = b[i];
    if (first === QUOTE) return this.string(i);
    if (first === OPEN_BRACE || first === OPEN_BRACKET) {
      let depth = 0;
      while (i < n) {
        const c = b[i];
        if (c === QUOTE) {
          for (i++; i < n; i++) {
            const d = b[i];
            if (d === QUOTE) break;
            if (d === BACKSLASH) i++;
          }
        } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          depth++;
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (--depth === 0) return i + 1;
        }
        i++;
      }
      return this.fail(n, 'an object, array or string is not closed');
    }
    const start = i;
    while (i < n && isScalarByte(b[i] as number)) i++;
    if (i === start) this.fail(i, 'a value was expected');
    return i;
  }

  /** True when the key between quotes `[s, e)` equals `bytes` once unescaped. */
  private keyIs(s: number, e: number, bytes: Uint8Array): boolean {
    if (e - s === bytes.length) {
      let k = 0;
      while (k < bytes.length && this.b[s + k] === bytes[k]) k++;
      if (k === bytes.length) return true;
    }
    // An escaped key (`"book\u0077orm"`) can still name the same text.
    for (let k = s; k < e; k++) {
      if (this.b[k] === BACKSLASH) return this.keyText(s, e) === Buffer.from(bytes).toString();
    }
    return false;
  }

  /** The text of the key between quotes `[s, e)`, unescaped. */
  private keyText(s: number, e: number): string {
    for (let k = s; k < e; k++) {
      if (this.b[k] === BACKSLASH) return JSON.parse(this.text(s - 1, e + 1)) as string;
    }
    return this.text(s, e);
  }

  /** Start and end (exclusive, without quotes) of the key `member` last read. */
  private ks = 0;
  private ke = 0;

  /**
   * `i` is at an object key's opening quote: reads the key (into `ks`/`ke`) and the colon, and returns the index
   * of the member's value.
   */
  private member(i: number): number {
    const b = this.b;
    if (b[i] !== QUOTE) this.fail(i, 'an object key was expected');
    const end = this.string(i);
    this.ks = i + 1;
    this.ke = end - 1;
    const colon = this.ws(end);
    if (b[colon] !== COLON) this.fail(colon, '":" was expected after an object key');
    const v = this.ws(colon + 1);
    if (v >= this.n) this.fail(v, 'a value was expected');
    return v;
  }

  /** `i` is at `{`: returns the index of its first key, or -1 for an empty object (then `end` is after it). */
  private first(i: number): number {
    i = this.ws(i + 1);
    if (this.b[i] !== CLOSE_BRACE) return i;
    this.end = i + 1;
    return -1;
  }

  /** `i` is after a member's value: returns the index of the next key, or -1 at `}` (then `end` is after it). */
  private next(i: number): number {
    i = this.ws(i);
    const c = this.b[i];
    if (c === COMMA) return this.ws(i + 1);
    if (c === CLOSE_BRACE) {
      this.end = i + 1;
      return -1;
    }
    return this.fail(i, '"," or "}" was expected');
  }

  /** Where the object that `first` or `next` last closed ends. */
  private end = 0;

  /** The text of `[s, e)` of the feed. */
  private text(s: number, e: number): string {
    return this.buf.toString('utf8', s, e);
  }

  /** Reads an issue's `releases` object at `v`, keeping only the wanted release; returns the index after it. */
  private releases(v: number, into: Node): number {
    for (let i = this.first(v); i !== -1;) {
      const value = this.member(i);
      const ks = this.ks;
      const ke = this.ke;
      const after = this.skip(value);
      if (this.keyIs(ks, ke, this.want)) into[this.keyText(ks, ke)] = JSON.parse(this.text(value, after));
      i = this.next(after);
    }
    return this.end;
  }

  /** Reads one issue object at `v` into `issue` (its releases only); returns the index after it. */
  private issue(v: number, issue: Node): number {
    const b = this.b;
    for (let i = this.first(v); i !== -1;) {
      const value = this.member(i);
      let after: number;
      if (!this.keyIs(this.ks, this.ke, this.releasesKey)) {
        after = this.skip(value);
      } else if (b[value] !== OPEN_BRACE) {
        issue['releases'] = null;
        after = this.skip(value);
      } else {
        const releases = node();
        issue['releases'] = releases;
        after = this.releases(value, releases);
      }
      i = this.next(after);
    }
    return this.end;
  }

  /** Reads one package's issues object at `v` into `issues`; returns the index after it. */
  private package(v: number, issues: Node): number {
    const b = this.b;
    for (let i = this.first(v); i !== -1;) {
      const value = this.member(i);
      const id = this.keyText(this.ks, this.ke);
      let after: number;
      if (b[value] !== OPEN_BRACE) {
        issues[id] = null;
        after = this.skip(value);
      } else {
        const issue = node();
        issues[id] = issue;
        after = this.issue(value, issue);
      }
      i = this.next(after);
    }
    return this.end;
  }

  /** Reads the whole feed into the skeleton. */
  read(): Node {
    const b = this.b;
    const start = this.ws(0);
    if (b[start] !== OPEN_BRACE) {
      // Not an object at all: let the normal reader say what it is, or fail here for non-JSON.
      const end = this.ws(this.skip(start));
      if (end !== this.n) this.fail(end, 'unexpected data after the value');
      return JSON.parse(this.text(0, this.n)) as Node;
    }
    const top = node();
    for (let i = this.first(start); i !== -1;) {
      const value = this.member(i);
      const pkg = this.keyText(this.ks, this.ke);
      let after: number;
      if (b[value] !== OPEN_BRACE) {
        top[pkg] = null;
        after = this.skip(value);
      } else {
        const issues = node();
        top[pkg] = issues;
        after = this.package(value, issues);
      }
      i = this.next(after);
    }
    const rest = this.ws(this.end);
    if (rest !== this.n) this.fail(rest, 'unexpected data after the top-level object');
    return top;
  }
}

/**
 * Reads the skeleton of one release from the feed bytes: every package and issue, and of each issue's releases
 * only `release`. Feed it to the normal reader (`indexTrackerData`).
 * @throws BulwarkError when the bytes are not well-formed JSON (e.g. a truncated download).
 */
export function scanTrackerRelease(bytes: Uint8Array, release: string): unknown {
  try {
    return new Scanner(bytes, release).read();
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new BulwarkError(
        FEED_INVALID,
        `the Debian tracker feed is not valid JSON (${e.message}); the download may be truncated: download it again`,
        { cause: e },
      );
    }
    throw e;
  }
}
