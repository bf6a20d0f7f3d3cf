import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { isBulwarkError } from '../errors.js';
import { compileCookbook } from '../dsl/compile.js';
import { loadCookbook } from './load.js';

const fixture = (name: string): string => resolve('test/fixtures/cookbooks', name);

test('a cookbook with relative imports loads, type-checks and compiles', async () => {
  const cb = await loadCookbook(fixture('with-include.ts'));
  const c = compileCookbook(cb, { attributes: { base: { banner: 'Keep out' } } });
  assert.deepEqual(c.cookbooks, ['site', 'base']);
  assert.equal(
    c.resources.find((r) => r.address === 'file[/etc/bulwark-test/banner]')?.props['content'],
    'Keep out\n',
  );
});

test('a syntax error is BULWARK_COOKBOOK_COMPILE with file and line', async () => {
  await assert.rejects(loadCookbook(fixture('syntax-error.ts')), (e) => {
    assert.ok(isBulwarkError(e, 'BULWARK_COOKBOOK_COMPILE'));
    assert.match(e.message, /syntax-error\.ts:\d+:\d+/);
    return true;
  });
});

test('a misspelt property is a type error naming it, unless type-checking is off', async () => {
  await assert.rejects(loadCookbook(fixture('type-error.ts')), (e) => {
    assert.ok(isBulwarkError(e, 'BULWARK_COOKBOOK_TYPECHECK'));
    assert.match(e.message, /type-error\.ts:5:\d+: .*contnet/);
    return true;
  });
  const cb = await loadCookbook(fixture('type-error.ts'), { typecheck: false });
  // Without the type check, validation still refuses the unknown property.
  assert.throws(
    () => compileCookbook(cb),
    (e) => isBulwarkError(e, 'BULWARK_RESOURCE_INVALID') && /contnet/.test(e.message),
  );
});

test('a module without a default cookbook export is refused', async () => {
  await assert.rejects(loadCookbook(fixture('no-default.ts')), (e) =>
    isBulwarkError(e, 'BULWARK_COOKBOOK_INVALID'),
  );
});

test('a missing file is BULWARK_COOKBOOK_NOT_FOUND', async () => {
  await assert.rejects(loadCookbook(fixture('nope.ts')), (e) =>
    isBulwarkError(e, 'BULWARK_COOKBOOK_NOT_FOUND'),
  );
});
