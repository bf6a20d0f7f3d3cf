// The one error class: its codes, and recognising its errors across copies of the module (bulwark vulns loads
// parts of itself as separate bundles, each with its own copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError, ERROR_CODES, isBulwarkError, throwProblems } from './errors.js';

test('an error from another copy of the errors module is a BulwarkError here, and the reverse', async () => {
  // A second module instance of this very file, as a separate bundle holds.
  const copy = (await import(`./errors.js?copy=${Date.now()}`)) as typeof import('./errors.js');
  assert.notEqual(copy.BulwarkError, BulwarkError);
  const theirs = new copy.BulwarkError('BULWARK_FEED_INVALID', 'truncated');
  assert.ok(theirs instanceof BulwarkError);
  assert.ok(isBulwarkError(theirs, 'BULWARK_FEED_INVALID'));
  assert.equal(isBulwarkError(theirs, 'BULWARK_USAGE'), false);
  const ours = new BulwarkError('BULWARK_USAGE', 'bad option');
  assert.ok(ours instanceof copy.BulwarkError);
  assert.ok(copy.isBulwarkError(ours, 'BULWARK_USAGE'));
  // The mark is not data: reports and JSON of an error do not show it.
  assert.deepEqual(Object.keys(ours).sort(), ['code', 'name', 'problems']);
});

test('look-alikes are not BulwarkErrors: plain errors, objects with a code, null', () => {
  const lookalike = Object.assign(new Error('x'), { code: 'BULWARK_USAGE', name: 'BulwarkError' });
  for (const v of [new Error('x'), lookalike, { code: 'BULWARK_USAGE' }, null, undefined, 'BULWARK_USAGE']) {
    assert.equal(v instanceof BulwarkError, false);
    assert.equal(isBulwarkError(v), false);
  }
});

test('throwProblems lists every problem under one code, and returns when there are none', () => {
  throwProblems('BULWARK_COOKBOOK_INVALID', 'cookbook web', []);
  assert.throws(
    () =>
      throwProblems('BULWARK_COOKBOOK_INVALID', 'cookbook web', [
        {
          code: 'BULWARK_RESOURCE_INVALID',
          at: 'file[/etc/motd]',
          property: 'mode',
          message: 'give an octal string',
        },
        { code: 'BULWARK_RESOURCE_INVALID', at: 'package[vsftpd; rm]', message: 'not a Debian package name' },
      ]),
    (e: unknown) =>
      isBulwarkError(e, 'BULWARK_COOKBOOK_INVALID') &&
      e.problems.length === 2 &&
      /cookbook web: 2 problems\n {2}file\[\/etc\/motd\] mode: give an octal string\n {2}package\[vsftpd; rm\]: not/.test(
        e.message,
      ),
  );
  assert.ok(Object.keys(ERROR_CODES).includes('BULWARK_COOKBOOK_INVALID'));
});
