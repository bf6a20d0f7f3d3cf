import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cmp,
  compare,
  equal,
  include,
  match,
  not,
  notMorePermissiveThan,
  oneOf,
  satisfy,
  show,
} from './matchers.js';

test('equal compares deeply and describes what it expected', () => {
  assert.equal(equal(['a', { b: 1 }]).test(['a', { b: 1 }]).pass, true);
  assert.equal(equal(['a']).test(['a', 'b']).pass, false);
  assert.equal(equal('no').test('no').expected, '== "no"');
});

test('cmp compares loosely like InSpec: numbers with numeric strings, yes/no with booleans, case-insensitive', () => {
  assert.equal(cmp(22).test('22').pass, true);
  assert.equal(cmp('22').test(22).pass, true);
  assert.equal(cmp(true).test('yes').pass, true);
  assert.equal(cmp('no').test(false).pass, true);
  assert.equal(cmp('NO').test('no').pass, true);
  assert.equal(cmp('022').test('22').pass, true);
  assert.equal(cmp(['3']).test(3).pass, true);
  assert.equal(cmp('no').test('prohibit-password').pass, false);
  assert.equal(cmp(3).test(undefined).pass, false);
});

test('match, include and oneOf', () => {
  assert.equal(match(/^no$/).test('no').pass, true);
  assert.equal(match(/x/).test(['a', 'xa']).pass, true);
  assert.equal(match(/x/).test(undefined).pass, false);
  assert.equal(include('ssh').test(['cron', 'ssh']).pass, true);
  assert.equal(include('sh').test('bash').pass, true);
  assert.equal(include(3).test([1, 2]).pass, false);
  assert.equal(oneOf(['no', 'prohibit-password']).test('prohibit-password').pass, true);
  assert.equal(oneOf(['no']).test('yes').pass, false);
});

test('numeric ordering treats numeric strings as numbers and anything else as a failure', () => {
  assert.equal(compare('<=', 3).test('3').pass, true);
  assert.equal(compare('<', 3).test(3).pass, false);
  assert.equal(compare('>=', 90).test(99999).pass, true);
  assert.equal(compare('>', 1).test('many').pass, false);
  assert.equal(compare('<', 1).test(undefined).pass, false);
});

test('a mode is no more permissive than another when it grants no bit the other lacks', () => {
  assert.equal(notMorePermissiveThan(0o640).test(0o640).pass, true);
  assert.equal(notMorePermissiveThan(0o640).test(0o600).pass, true);
  assert.equal(notMorePermissiveThan(0o640).test(0o644).pass, false);
  assert.equal(notMorePermissiveThan(0o755).test(0o4755).pass, false);
  assert.equal(notMorePermissiveThan(0o640).test('0640').pass, false);
  assert.equal(notMorePermissiveThan(0o640).test(0o666).expected, 'no more permissive than 0640');
});

test('not negates the verdict and the description', () => {
  const m = not(equal(true));
  assert.equal(m.test(false).pass, true);
  assert.equal(m.test(true).pass, false);
  assert.equal(m.description, 'not to equal true');
  assert.equal(m.test(true).expected, 'not == true');
});

test('satisfy runs the author predicate and show prints values for people', () => {
  assert.equal(satisfy((v: number) => v % 2 === 0, 'an even number').test(4).pass, true);
  assert.equal(show(undefined), '(none)');
  assert.equal(show('a"b'), '"a\\"b"');
  assert.equal(show([1, 'x']), '[1,"x"]');
  assert.equal(show(/x/i), '/x/i');
});

test('cmp compares an octal mode string with a number as octal', () => {
  assert.equal(cmp('0640').test(0o640).pass, true);
  assert.equal(cmp(0o640).test('0640').pass, true);
  assert.equal(cmp('0644').test(0o640).pass, false);
});

test('a global regular expression gives the same verdict every time', () => {
  const m = match(/x/g);
  assert.deepEqual([m.test('x').pass, m.test('x').pass, m.test('x').pass], [true, true, true]);
});
