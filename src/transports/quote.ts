/**
 * The one function through which any value reaches a POSIX shell. Everything Bulwark sends to `sh` is either a
 * fixed script written in this repository or a word produced by `quote`.
 */
import { BulwarkError } from '../errors.js';

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one word for a POSIX shell so that the shell passes it through as exactly one argument, unexpanded.
 * NUL cannot be passed in an argument at all, so a value holding one is refused.
 */
export function quote(word: string): string {
  if (word.includes('\0')) {
    throw new BulwarkError(
      'BULWARK_UNSAFE_VALUE',
      'a value holding a NUL byte cannot be passed to a command',
    );
  }
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

// Words a shell reads as syntax in command position even though they need no quoting elsewhere.
const RESERVED = new Set([
  'case',
  'coproc',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'function',
  'if',
  'in',
  'select',
  'then',
  'time',
  'until',
  'while',
]);

/**
 * Quotes every word of an argv and joins them into one shell command line. The first word is also quoted when a
 * shell would read it as syntax there: a reserved word (`if`) or an assignment (`A=1`).
 */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new BulwarkError('BULWARK_USAGE', 'an empty command cannot be run');
  return argv
    .map((word, i) => {
      const q = quote(word);
      return i === 0 && q === word && (word.includes('=') || RESERVED.has(word)) ? `'${word}'` : q;
    })
    .join(' ');
}
