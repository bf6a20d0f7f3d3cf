/**
 * Fuzzes `quote` and `quoteArgv` against real shells: thousands of hostile and random strings are quoted, handed to
 * `/bin/sh`, dash and bash, and must come back byte for byte without anything being executed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';
import { quote, quoteArgv } from './quote.js';

const SHELLS = ['/bin/sh', '/bin/dash', '/usr/bin/dash', '/bin/bash', '/usr/bin/bash'].filter(
  (s, i, all) =>
    existsSync(s) && !all.slice(0, i).some((o) => o.replace('/usr', '') === s.replace('/usr', '')),
);

/** A seeded PRNG (mulberry32), so a failing random string can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const META = [...`;&|<>()$\`\\"' \t\n*?[]{}~#=%!^,:@+-./`];

function randomString(next: () => number): string {
  const length = Math.floor(next() * 40);
  let s = '';
  for (let i = 0; i < length; i++) {
    const r = next();
    if (r < 0.45) s += META[Math.floor(next() * META.length)] ?? '';
    else if (r < 0.75) s += String.fromCharCode(0x21 + Math.floor(next() * 94));
    else if (r < 0.85) s += String.fromCharCode(1 + Math.floor(next() * 255));
    else if (r < 0.97) {
      // any BMP code point except the surrogate halves, which have no UTF-8 form
      let c = 0x80 + Math.floor(next() * (0xffff - 0x80));
      if (c >= 0xd800 && c <= 0xdfff) c -= 0x800;
      s += String.fromCharCode(c);
    } else s += String.fromCodePoint(0x10000 + Math.floor(next() * 0xfffff));
  }
  return s;
}

/** Strings that would do something if they reached a shell unquoted; `pwned` is made in the shell's cwd. */
function hostileStrings(canary: string): string[] {
  const allBytes = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join('');
  return [
    '',
    ' ',
    '  two  spaces  ',
    `; touch ${canary}`,
    `;touch pwned`,
    `&& touch pwned`,
    `| touch pwned`,
    `& touch pwned &`,
    `$(touch pwned)`,
    `$(touch ${canary})`,
    '`touch pwned`',
    `\`touch ${canary}\``,
    `'; touch pwned; '`,
    `'$(touch pwned)'`,
    `"$(touch pwned)"`,
    `\\'; touch pwned #`,
    `'\\''; touch pwned; echo '`,
    '$(reboot)',
    '${PATH}',
    '$HOME',
    '$0 $1 $@ $* $# $? $$ $!',
    '${x:-$(touch pwned)}',
    '$((1+1))',
    "'",
    "''",
    "'''",
    '"',
    '""',
    '\\',
    '\\\\',
    '\\n',
    '\n',
    '\n\n',
    'a\nb',
    '\ntouch pwned\n',
    '\t',
    '\r\n',
    '*',
    '?',
    '[a-z]*',
    '/*',
    '~',
    '~root',
    '~/x',
    'a=~',
    '-rf',
    '--',
    '-',
    '-n',
    '-e',
    '--help',
    '#',
    '# comment',
    'a#b',
    '!',
    '!!',
    '{a,b}',
    '{}',
    'a=b',
    'IFS=x',
    '<',
    '>',
    '> pwned',
    '>>pwned',
    '< /etc/passwd',
    '2>&1',
    '<<EOF',
    '(',
    ')',
    '()',
    'f() { touch pwned; }',
    'if',
    'then',
    'fi',
    'done',
    '%s%s%s%n',
    '%{path}',
    '@',
    'x@y:z,1+2=3',
    'vsftpd; rm -rf /',
    '/etc/motd',
    'name with spaces',
    'grüße',
    'ünïcødé ✓',
    '日本語のファイル名',
    '😀 emoji',
    '\u00a0non-breaking',
    '\u200bzero-width',
    '\u202eright-to-left',
    '\u0085next-line',
    '\u007f',
    '\u001b[31mred',
    allBytes,
    allBytes.split('').reverse().join(''),
  ];
}

function allStrings(canary: string): string[] {
  const next = prng(0xb01_3a4c);
  const random = Array.from({ length: 4000 }, () => randomString(next));
  return [...hostileStrings(canary), ...random];
}

/** Splits words into batches whose quoted form stays well under the kernel's 128 KiB limit for one argument. */
function batches(words: readonly string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const w of words) {
    const q = quote(w).length;
    if (size + q > 60_000 && current.length > 0) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(w);
    size += q + 1;
  }
  if (current.length > 0) out.push(current);
  return out;
}

interface ShellRun {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

function runShell(shell: string, script: string, cwd: string): ShellRun {
  const r = spawnSync(shell, ['-c', script], {
    cwd,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: cwd },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts the shell printed exactly `words`, each followed by NUL, naming the first word that came back wrong. */
function assertPrinted(shell: string, words: readonly string[], r: ShellRun): void {
  assert.equal(r.stderr.toString('utf8'), '', `${shell} wrote to stderr`);
  assert.equal(r.status, 0, `${shell} exited ${r.status}`);
  const expected = Buffer.concat(words.map((w) => Buffer.concat([Buffer.from(w, 'utf8'), Buffer.from([0])])));
  if (r.stdout.equals(expected)) return;
  let offset = 0;
  for (const w of words) {
    const end = r.stdout.indexOf(0, offset);
    const got = r.stdout.subarray(offset, end === -1 ? undefined : end);
    assert.deepEqual(got, Buffer.from(w, 'utf8'), `${shell} changed the word ${JSON.stringify(w)}`);
    offset = end + 1;
  }
  assert.fail(`${shell} printed more words than it was given`);
}

function scratch(t: { after: (fn: () => void) => void }): { cwd: string; canary: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'bulwark-quote-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  return { cwd, canary: join(cwd, 'pwned-absolute') };
}

test('the fuzz runs against /bin/sh and, when installed, dash and bash', () => {
  assert.ok(SHELLS.includes('/bin/sh'));
  assert.ok(SHELLS.length >= 1);
});

for (const shell of SHELLS) {
  test(`${shell} prints every quoted hostile and random string back byte for byte and runs none of them`, (t) => {
    const { cwd, canary } = scratch(t);
    const words = allStrings(canary);
    assert.ok(words.length > 4000);
    for (const batch of batches(words)) {
      const r = runShell(shell, `printf '%s\\0' ${batch.map(quote).join(' ')}`, cwd);
      assertPrinted(shell, batch, r);
    }
    assert.deepEqual(readdirSync(cwd), [], 'a quoted word was executed: the canary directory is not empty');
    assert.equal(existsSync(canary), false);
  });

  test(`${shell} runs a quoteArgv command line with exactly the given arguments`, (t) => {
    const { cwd, canary } = scratch(t);
    for (const batch of batches(allStrings(canary))) {
      const r = runShell(shell, quoteArgv(['printf', '%s\\0', ...batch]), cwd);
      assertPrinted(shell, batch, r);
    }
    assert.deepEqual(readdirSync(cwd), []);
  });

  test(`${shell} keeps a quoted word one word even next to other text in a script`, (t) => {
    const { cwd, canary } = scratch(t);
    const words = hostileStrings(canary);
    // Assigned to a variable, used in a case pattern and concatenated: the value must still be literal.
    const script = words
      .map(
        (w) => `v=${quote(w)}; case "$v" in ${quote(w)}) printf '%s\\0' "$v" ;; *) echo mismatch >&2 ;; esac`,
      )
      .join('\n');
    assertPrinted(shell, words, runShell(shell, script, cwd));
    assert.deepEqual(readdirSync(cwd), []);
  });

  test(`${shell} runs argv[0] of a quoteArgv command line as the command even when it looks like shell syntax`, (t) => {
    const { cwd } = scratch(t);
    // `A=1 printf ran` would be an assignment before printf, and `if`/`{` reserved words: each must instead be
    // looked up as a command named exactly like the word, which does not exist.
    for (const first of ['BULWARK_X=1', 'if', 'while', 'case', '{', '!']) {
      const r = runShell(shell, quoteArgv([first, 'printf', 'ran']), cwd);
      assert.equal(r.stdout.toString('utf8'), '', `${JSON.stringify(first)} let the rest of the line run`);
      assert.equal(r.status, 127, `${JSON.stringify(first)} was not run as a command: exit ${r.status}`);
    }
  });
}

test('quote refuses a NUL byte anywhere in the value with BULWARK_UNSAFE_VALUE', () => {
  for (const s of ['\0', 'a\0', '\0a', 'a\0b', 'safe/path\0; touch x']) {
    assert.throws(
      () => quote(s),
      (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_UNSAFE_VALUE',
    );
  }
});

test('quoteArgv refuses a NUL byte in any word and an empty argv', () => {
  assert.throws(
    () => quoteArgv(['printf', '%s', 'ok', 'bad\0']),
    (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_UNSAFE_VALUE',
  );
  assert.throws(
    () => quoteArgv([]),
    (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_USAGE',
  );
});

test('quote leaves plain words readable and always produces a word for the empty string', () => {
  assert.equal(quote('/etc/ssh/sshd_config'), '/etc/ssh/sshd_config');
  assert.equal(quote('vsftpd'), 'vsftpd');
  assert.equal(quote('-rf'), '-rf');
  assert.equal(quote(''), "''");
  assert.equal(quote("it's"), `'it'\\''s'`);
  assert.equal(quoteArgv(['dpkg-query', '-W', 'a b']), `dpkg-query -W 'a b'`);
});
