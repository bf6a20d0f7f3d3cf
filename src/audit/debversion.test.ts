// Debian version ordering against published vectors and against the real `dpkg --compare-versions` on this
// machine, which is the oracle: every table below is also checked with dpkg, so a wrong vector fails too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { isBulwarkError } from '../errors.js';
import {
  compareDebianVersions,
  debVersionEq,
  debVersionGe,
  debVersionGt,
  debVersionLe,
  debVersionLt,
  isValidDebianVersion,
  parseDebianVersion,
} from './debversion.js';

type Relation = 'lt' | 'eq' | 'gt';
type Vector = readonly [string, Relation, string];

const SIGN: Record<Relation, -1 | 0 | 1> = { lt: -1, eq: 0, gt: 1 };
const REVERSED: Record<Relation, Relation> = { lt: 'gt', eq: 'eq', gt: 'lt' };

/**
 * Comparison vectors, written as our own table of facts taken from dpkg's test suites (lib/dpkg/t/t-version.c,
 * scripts/t/Dpkg_Version.t) and apt's (test/libapt/compareversion_test.cc, the former versions.lst), plus the
 * tilde and letter cases of deb-version(7). Vectors of theirs that need an empty revision (`0foo-`) or start with
 * `-` are left out: dpkg 1.21.22 rejects those strings.
 */
const VECTORS: readonly Vector[] = [
  // Zero versions, epochs, revisions.
  ['0', 'eq', '0:0'],
  ['0', 'eq', '0:0-0'],
  ['0:0-0', 'eq', '0'],
  ['0:0.0-0.0', 'eq', '0.0-0.0'],
  ['0-00', 'eq', '00-0'],
  ['1:0', 'gt', '0'],
  ['5:1', 'gt', '1'],
  ['0:0-0', 'lt', '1:0-0'],
  ['1:2-3', 'eq', '1:2-3'],
  ['1-1', 'lt', '2-1'],
  ['1-1', 'lt', '1-2'],
  ['0a-0', 'lt', '0b-0'],
  ['0-a', 'lt', '0-b'],
  ['0:1.1', 'eq', '1.1'],
  ['1', 'eq', '0:1'],
  ['2:2.5', 'gt', '1:7.5'],
  ['1:0.4', 'gt', '10.3'],
  ['1:1.25-4', 'lt', '1:1.25-8'],
  ['0:1.18.36', 'eq', '1.18.36'],
  ['1.18.36', 'gt', '1.18.35'],
  ['0:1.18.36', 'gt', '1.18.35'],
  ['5:2', 'gt', '304-2'],
  ['5:2', 'lt', '304:2'],
  ['25:2', 'gt', '3:2'],
  ['1:1.2.3', 'gt', '1.2.4'],
  ['1:1.2.3', 'lt', '1:1.2.4'],
  ['2147483647:1', 'gt', '2147483646:9'],
  // Multiple hyphens and colons: the first colon ends the epoch, the last hyphen starts the revision.
  ['0:0-0-0', 'eq', '0:0-0-0'],
  ['0:0-0-0', 'gt', '0-0'],
  ['0:0-0-0-0', 'gt', '0:0-0-0'],
  ['0:0:0-0', 'gt', '0:0-0'],
  ['0:0:0:0-0', 'gt', '0:0:0-0'],
  ['0:0:0-0-0', 'gt', '0:0:0-0'],
  ['0:0-0:0-0', 'gt', '0:0-0-0'],
  ['0:09azAZ.-+~:-0', 'eq', '0:09azAZ.-+~:-0'],
  ['0:0-azAZ09.+~', 'eq', '0:0-azAZ09.+~'],
  ['9:1.18.36:5.4-20', 'lt', '10:0.5.1-22'],
  ['9:1.18.36:5.4-20', 'lt', '9:1.18.36:5.5-1'],
  ['9:1.18.36:5.4-20', 'lt', '9:1.18.37:4.3-22'],
  ['1.18.36-0.17.35-18', 'gt', '1.18.36-19'],
  ['1:2ab:5', 'eq', '1:2ab:5'],
  ['7:1-a:b-5', 'eq', '7:1-a:b-5'],
  ['57:1.2.3abYZ+~-4-5', 'eq', '57:1.2.3abYZ+~-4-5'],
  ['1:2:123', 'lt', '1:12:3'],
  ['1.2-5', 'lt', '1.2-3-5'],
  // A missing revision is the same as revision 0.
  ['1.0', 'eq', '1.0-0'],
  ['1.2.3', 'eq', '1.2.3-0'],
  ['0.2', 'lt', '1.0-0'],
  ['1.0', 'lt', '1.0-0+b1'],
  ['1.0', 'gt', '1.0-0~'],
  ['1.2.3', 'lt', '1.2.3-1'],
  ['1:1.2.13-3', 'lt', '1:1.2.13-3.1'],
  ['2.4.7-1', 'lt', '2.4.7-z'],
  ['1.002-1+b2', 'gt', '1.00'],
  ['0foo-0', 'lt', '0foo-01'],
  ['1.0-1', 'lt', '2.0-2'],
  ['1.0000-1', 'eq', '1.0-1'],
  // Tilde sorts before everything, even the end of the string.
  ['1.1~rc1', 'lt', '1.1'],
  ['1.1~~', 'lt', '1.1~~a'],
  ['1.1~~a', 'lt', '1.1~'],
  ['1.1~', 'lt', '1.1'],
  ['1~', 'lt', '1'],
  ['2.2~rc-4', 'lt', '2.2-1'],
  ['3.0~rc1-1', 'lt', '3.0-1'],
  ['0foo~1', 'lt', '0foo'],
  ['0foo~~', 'lt', '0foo~'],
  ['0foo~foo+Bar', 'lt', '0foo~foo+bar'],
  ['1.2.0~b7-1', 'gt', '1.2.0~b6-1'],
  ['0.9.9~pre122-1', 'gt', '0.9.9~pre111-1'],
  ['0.5.0~git', 'lt', '0.5.0~git2'],
  ['1.2a+~bCd3', 'lt', '1.2a++'],
  ['1.2a+~bCd3', 'gt', '1.2a+~'],
  ['3a9.8', 'gt', '3~10'],
  ['1.4+OOo3.0.0~', 'lt', '1.4+OOo3.0.0-4'],
  // Letters sort before non-letters; longer wins when one is a prefix of the other.
  ['1.0a', 'lt', '1.0+'],
  ['1.0a', 'lt', '1.0.'],
  ['1.0Z', 'lt', '1.0a'],
  ['3a9.8', 'lt', '3.10.2'],
  ['0foo', 'gt', '0fo'],
  ['0foo.bar', 'gt', '0foobar'],
  ['0foo.bar', 'gt', '0foo1bar'],
  ['0foo.bar', 'gt', '0foo0bar'],
  ['0foo1bar-1', 'lt', '0foobar-1'],
  ['0-pre', 'eq', '0-pre'],
  ['0-pre', 'lt', '0-pree'],
  ['1.3.2a', 'gt', '1.3.2'],
  ['1.3.2a', 'lt', '1.3.2b'],
  ['2a', 'lt', '21'],
  ['7.6p2-4', 'gt', '7.6-0'],
  ['1.1.6r2-2', 'gt', '1.1.6r-1'],
  ['2.6b2-1', 'gt', '2.6b-2'],
  ['98.1p5-1', 'lt', '98.1-pre2-b6-2'],
  ['0.4a6-2', 'gt', '0.4-1'],
  ['2.0.7pre1-4', 'lt', '2.0.7r-1'],
  ['1:3.8.1-1', 'gt', '3.8.GA-1'],
  ['1.0.1+gpl-1', 'gt', '1.0.1-2'],
  ['1.0.8+nmu1', 'gt', '1.0.8'],
  ['3.11', 'gt', '3.10+nmu1'],
  ['12345+that-really-is-some-ver-0', 'lt', '12345+that-really-is-some-ver-10'],
  // Digit runs are numbers: leading zeros do not count, and length beats text order.
  ['0', 'eq', '00'],
  ['009', 'eq', '9'],
  ['009ab5', 'eq', '9ab5'],
  ['1.09', 'eq', '1.9'],
  ['5.10.0', 'gt', '5.005'],
  ['1.011-1', 'gt', '1.06-2'],
  ['1a', 'lt', '1000a'],
  ['0.10.0', 'gt', '0.8.7'],
  ['1.2.24', 'gt', '1.2.3'],
  ['3.2', 'gt', '2.3'],
  ['0foo2.0', 'gt', '0foo2'],
  ['0foo2.0.0', 'lt', '0foo2.10.0'],
  ['0foo2.0', 'lt', '0foo2.0.0'],
  ['0foo2.1', 'lt', '0foo2.10'],
  ['53', 'gt', '52'],
  ['1.0.3-3', 'gt', '1.0-1'],
  ['1.3', 'gt', '1.2.2-2'],
  ['0.9j-20080306-4', 'gt', '0.9i-20070324-2'],
  ['0.0.9+dfsg1-1', 'gt', '0.0.8+dfsg1-3'],
  ['4.6.99+svn6582-1', 'gt', '4.6.99+svn6496-1'],
  ['2:2.3.2-2+lenny2', 'gt', '2:2.3.2-2'],
  // Beyond 2^53, where JavaScript numbers would round both sides to the same value.
  ['1.9007199254740993', 'gt', '1.9007199254740992'],
  ['18446744073709551617', 'gt', '18446744073709551616'],
  ['0000000000000000000000001', 'eq', '1'],
  ['1.99999999999999999999999999999', 'gt', '1.99999999999999999999999999998'],
  ['1.100000000000000000000000000000', 'gt', '1.99999999999999999999999999999'],
  // Upstream versions not starting with a digit: dpkg warns but still compares them.
  ['1:0foo', 'gt', '0foo'],
  ['a', 'gt', '1'],
  ['~', 'lt', '0'],
  ['1:~', 'gt', '1'],
];

/** Runs `dpkg --compare-versions` over many pairs in one `/bin/sh` and returns lt/eq/gt/err per pair, plus stderr. */
function dpkgRelations(
  pairs: readonly (readonly [string, string])[],
): Promise<{ out: string[]; stderr: string }> {
  const script = `while read -r a b; do
  dpkg --compare-versions -- "$a" lt "$b"; r=$?
  if [ "$r" -eq 0 ]; then echo lt; continue; fi
  if [ "$r" -ne 1 ]; then echo err; continue; fi
  dpkg --compare-versions -- "$a" eq "$b"; r=$?
  if [ "$r" -eq 0 ]; then echo eq; elif [ "$r" -eq 1 ]; then echo gt; else echo err; fi
done`;
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the dpkg loop exited with ${code}: ${stderr}`));
      else resolve({ out: stdout.split('\n').filter((l) => l !== ''), stderr });
    });
    child.stdin.end(pairs.map(([a, b]) => `${a} ${b}\n`).join(''));
  });
}

/** Splits the pairs over two shells (this machine's dpkg takes ~1.6 ms a call) and joins the answers in order. */
async function dpkgRelationsParallel(
  pairs: readonly (readonly [string, string])[],
): Promise<{ out: string[]; stderr: string }> {
  const half = Math.ceil(pairs.length / 2);
  const [first, second] = await Promise.all([
    dpkgRelations(pairs.slice(0, half)),
    dpkgRelations(pairs.slice(half)),
  ]);
  return { out: [...first.out, ...second.out], stderr: first.stderr + second.stderr };
}

/** Warnings dpkg prints for versions we accept; any other stderr line means dpkg saw bad syntax we missed. */
function unexpectedDpkgMessages(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '' && !l.includes('version number does not start with digit'));
}

/** What dpkg does with one version on its own: compares it cleanly, warns about it, or refuses it (exit 2). */
function dpkgVerdict(v: string): 'ok' | 'warning' | 'error' {
  const r = spawnSync('dpkg', ['--compare-versions', '--', v, 'eq', '1'], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
  });
  if (r.status === 2) return 'error';
  return r.stderr.includes('bad syntax') ? 'warning' : 'ok';
}

test('compareDebianVersions agrees with every published vector, both ways round', () => {
  for (const [a, rel, b] of VECTORS) {
    assert.equal(compareDebianVersions(a, b), SIGN[rel], `${a} ${rel} ${b}`);
    assert.equal(compareDebianVersions(b, a), SIGN[REVERSED[rel]], `${b} ${REVERSED[rel]} ${a}`);
  }
  assert.ok(VECTORS.length >= 120);
});

test('the vector table itself holds for dpkg --compare-versions on this machine', async () => {
  const { out, stderr } = await dpkgRelationsParallel(VECTORS.map(([a, , b]) => [a, b] as const));
  assert.deepEqual(
    out,
    VECTORS.map(([, rel]) => rel),
  );
  assert.deepEqual(unexpectedDpkgMessages(stderr), []);
});

test('the convenience predicates follow the comparison', () => {
  assert.ok(debVersionLt('1.1~rc1', '1.1'));
  assert.ok(!debVersionLt('1.1', '1.1'));
  assert.ok(debVersionLe('1.1', '1.1-0'));
  assert.ok(debVersionLe('1.0', '1.1'));
  assert.ok(!debVersionLe('1:0', '9'));
  assert.ok(debVersionEq('0:1.0-0', '1.0'));
  assert.ok(!debVersionEq('1.0', '1.0-1'));
  assert.ok(debVersionGe('1.0+b1', '1.0'));
  assert.ok(debVersionGe('1.00', '1.0'));
  assert.ok(!debVersionGe('1.0~', '1.0'));
  assert.ok(debVersionGt('1:0', '9'));
  assert.ok(!debVersionGt('1.0', '1.0'));
});

test('parseDebianVersion splits at the first colon and the last hyphen', () => {
  assert.deepEqual(parseDebianVersion('1:2.30-4+deb12u1'), {
    epoch: 1,
    upstream: '2.30',
    revision: '4+deb12u1',
  });
  assert.deepEqual(parseDebianVersion('2.30'), { epoch: 0, upstream: '2.30', revision: '' });
  assert.deepEqual(parseDebianVersion('0:0-0-0'), { epoch: 0, upstream: '0-0', revision: '0' });
  assert.deepEqual(parseDebianVersion('0:0:0-0'), { epoch: 0, upstream: '0:0', revision: '0' });
  assert.deepEqual(parseDebianVersion('0:0-0:0-0'), { epoch: 0, upstream: '0-0:0', revision: '0' });
  assert.deepEqual(parseDebianVersion('007:1'), { epoch: 7, upstream: '1', revision: '' });
  assert.deepEqual(parseDebianVersion('2147483647:1'), { epoch: 2147483647, upstream: '1', revision: '' });
  assert.deepEqual(parseDebianVersion('a1.0'), { epoch: 0, upstream: 'a1.0', revision: '' });
});

/** A small seeded PRNG (mulberry32), so a failing pair can be reproduced from the seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A version as parts, so mutations keep it valid by construction. */
interface Shape {
  epoch: string | null;
  upstream: string[];
  revision: string[] | null;
}

/** Random versions biased toward the tricky parts: `~`, `+`, `.`, letters, epochs, revisions, zeros, long runs. */
function versionGenerator(random: () => number): { fresh: () => Shape; mutate: (s: Shape) => Shape } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const digitRun = (): string => {
    const r = random();
    if (r < 0.55) return pick(['0', '1', '2', '9', '10', '01', '00', '007', '11', '99']);
    if (r < 0.75)
      return pick(['9007199254740992', '9007199254740993', '18446744073709551616', '000000000000000000001']);
    let s = '';
    const n = 1 + Math.floor(random() * 24);
    for (let i = 0; i < n; i++) s += String(Math.floor(random() * 10));
    return s;
  };
  const letters = ['a', 'b', 'z', 'A', 'Z', 'rc', 'git', 'p', 'dfsg', 'b'];
  const separators = ['.', '.', '+', '~', '~', '~~', '+~'];
  const token = (inUpstream: boolean): string => {
    const r = random();
    if (r < 0.4) return digitRun();
    if (r < 0.65) return pick(letters);
    if (inUpstream && r < 0.7) return pick(['-', ':']);
    return pick(separators);
  };
  const tokens = (inUpstream: boolean): string[] => {
    const n = 1 + Math.floor(random() * 5);
    return Array.from({ length: n }, () => token(inUpstream));
  };
  const epoch = (): string | null => {
    const r = random();
    if (r < 0.6) return null;
    return pick(['0', '1', '2', '00', '01', '10', '2147483647', '2147483646', '9']);
  };
  const fresh = (): Shape => {
    const upstream = tokens(true);
    upstream.unshift(random() < 0.95 ? digitRun() : pick([...letters, '~', '+', '.']));
    return { epoch: epoch(), upstream, revision: random() < 0.5 ? null : tokens(false) };
  };
  const mutate = (s: Shape): Shape => {
    const next: Shape = {
      epoch: s.epoch,
      upstream: [...s.upstream],
      revision: s.revision === null ? null : [...s.revision],
    };
    const steps = 1 + Math.floor(random() * 2);
    for (let k = 0; k < steps; k++) {
      const r = random();
      const part = next.revision !== null && random() < 0.4 ? next.revision : next.upstream;
      const at = Math.floor(random() * part.length);
      if (r < 0.15) next.epoch = epoch();
      else if (r < 0.25)
        next.revision = next.revision === null ? [...pick([['0'], ['1'], ['0', '~'], ['00']])] : null;
      else if (r < 0.45) part.splice(at + 1, 0, token(part === next.upstream));
      else if (r < 0.6 && part.length > 1) part.splice(at, 1);
      else if (r < 0.7) part.push(pick(['~', '~~', '+b1', 'a', '.0', '0']));
      else if (r < 0.85) part[at] = token(part === next.upstream);
      else part[at] = `0${part[at] ?? ''}`;
    }
    return next;
  };
  return { fresh, mutate };
}

/** Renders a shape, dropping the `:` and `-` tokens that would change where the epoch or revision is. */
function render(s: Shape): string {
  const noColon = s.epoch === null;
  const noHyphen = s.revision === null;
  let upstream = s.upstream.map((t) =>
    [...t].filter((c) => !(noColon && c === ':') && !(noHyphen && c === '-')).join(''),
  );
  if (upstream.join('') === '') upstream = ['0'];
  const revision = s.revision?.join('') ?? '';
  return `${s.epoch === null ? '' : `${s.epoch}:`}${upstream.join('')}${s.revision === null ? '' : `-${revision || '0'}`}`;
}

test('compareDebianVersions matches dpkg --compare-versions on 3000 random tricky pairs', async () => {
  const random = prng(0xdeb1a2);
  const { fresh, mutate } = versionGenerator(random);
  const pairs: (readonly [string, string])[] = [];
  while (pairs.length < 3000) {
    const a = fresh();
    const r = random();
    const b = r < 0.6 ? mutate(a) : r < 0.7 ? a : fresh();
    pairs.push(random() < 0.5 ? [render(a), render(b)] : [render(b), render(a)]);
  }
  for (const [a, b] of pairs) {
    assert.ok(isValidDebianVersion(a), a);
    assert.ok(isValidDebianVersion(b), b);
  }
  const { out, stderr } = await dpkgRelationsParallel(pairs);
  assert.equal(out.length, pairs.length);
  const mismatches: string[] = [];
  let counts = { lt: 0, eq: 0, gt: 0 };
  pairs.forEach(([a, b], i) => {
    const ours = (['lt', 'eq', 'gt'] as const)[compareDebianVersions(a, b) + 1];
    const theirs = out[i];
    if (ours !== theirs) mismatches.push(`${a} vs ${b}: ours ${ours}, dpkg ${theirs}`);
    if (ours !== undefined) counts = { ...counts, [ours]: counts[ours] + 1 };
  });
  assert.deepEqual(mismatches.slice(0, 20), []);
  assert.deepEqual(unexpectedDpkgMessages(stderr), []);
  // The generator must exercise every outcome, not just "different".
  assert.ok(counts.lt > 300 && counts.gt > 300 && counts.eq > 150, JSON.stringify(counts));
});

/** Strings we refuse, each with what dpkg 1.21.22 does with it (found by experiment). */
const INVALID: readonly (readonly [string, 'error' | 'warning' | 'stricter'])[] = [
  // dpkg refuses these outright (exit 2).
  ['a:1.0', 'error'],
  ['A:0-0', 'error'],
  [':1.0', 'error'],
  ['1:', 'error'],
  ['0x1:1', 'error'],
  ['1.0-1:2', 'error'],
  ['-1:0-1', 'error'],
  ['2147483648:1', 'error'],
  ['999999999999999999999999:0-1', 'error'],
  ['1:-1', 'error'],
  ['-0.6.5', 'error'],
  ['0:-0', 'error'],
  ['1.0-', 'error'],
  ['0foo-', 'error'],
  ['1 0', 'error'],
  [' ', 'error'],
  ['0:0 0-1', 'error'],
  ['1.0; touch /pwned', 'error'],
  // dpkg only warns about these and compares them anyway; they are never real versions, so we refuse them.
  ['1.0;touch', 'warning'],
  ['$(reboot)', 'warning'],
  ['1.0$(reboot)', 'warning'],
  ['1.0`id`', 'warning'],
  ['1.0|sh', 'warning'],
  ['1.0&&id', 'warning'],
  ['1.0>x', 'warning'],
  ["1.0'", 'warning'],
  ['1.0"', 'warning'],
  ['1_0', 'warning'],
  ['1.0\nx', 'warning'],
  ['1.0\rx', 'warning'],
  ['1.0ä', 'warning'],
  ['5.2@3-2', 'warning'],
  ['0:0-0:0', 'warning'],
  ['1-a_b', 'warning'],
  ['1-a/b', 'warning'],
  // dpkg accepts these (it trims blanks, reads '' and '<unknown>' as "no version", and lets strtol take a sign); we do not.
  ['', 'stricter'],
  [' 1.0', 'stricter'],
  ['1.0 ', 'stricter'],
  ['\t1.0', 'stricter'],
  ['+1:1.0', 'stricter'],
  ['-0:1.0', 'stricter'],
  ['<unknown>', 'stricter'],
];

test('invalid versions are refused with BULWARK_RESOURCE_INVALID, and dpkg also objects to each', () => {
  for (const [v, dpkg] of INVALID) {
    assert.equal(isValidDebianVersion(v), false, JSON.stringify(v));
    assert.throws(
      () => parseDebianVersion(v),
      (e: unknown) => isBulwarkError(e, 'BULWARK_RESOURCE_INVALID') && e.message.includes(JSON.stringify(v)),
      JSON.stringify(v),
    );
    assert.throws(() => compareDebianVersions(v, '1.0'), JSON.stringify(v));
    assert.throws(() => debVersionLt('1.0', v), JSON.stringify(v));
    const verdict = dpkgVerdict(v);
    assert.equal(verdict, dpkg === 'stricter' ? 'ok' : dpkg, `dpkg on ${JSON.stringify(v)}`);
  }
});

test('a NUL byte is refused (no argv can carry it to dpkg)', () => {
  assert.equal(isValidDebianVersion('1.0\0'), false);
  assert.equal(isValidDebianVersion('\0'), false);
  assert.throws(
    () => parseDebianVersion('1.0\0;rm'),
    (e: unknown) => isBulwarkError(e, 'BULWARK_RESOURCE_INVALID'),
  );
});

test('edge-case versions we accept are ones dpkg also accepts', () => {
  const accepted = [
    '0',
    '00',
    '1:2:3',
    '0:09azAZ.-+~:-0',
    '0:0-azAZ09.+~',
    '2147483647:1',
    '0000000002147483647:1',
    '1.0-1-2',
    '1.0-0',
    '18446744073709551616',
    '1.0~~',
  ];
  for (const v of accepted) {
    assert.ok(isValidDebianVersion(v), v);
    assert.equal(dpkgVerdict(v), 'ok', v);
  }
  // dpkg only warns when the upstream version does not start with a digit, and still orders it; so do we.
  for (const v of ['a1.0', '~', '1:~', '0:abc3-0', '.1', '+1']) {
    assert.ok(isValidDebianVersion(v), v);
    assert.equal(dpkgVerdict(v), 'warning', v);
  }
});
