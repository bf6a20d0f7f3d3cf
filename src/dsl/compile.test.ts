import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBulwarkError } from '../errors.js';
import { compileCookbook, mergeAttributes } from './compile.js';
import { defineCookbook } from './cookbook.js';

test('compile lists resources in declared order with included cookbooks first and each once', () => {
  const base = defineCookbook({ name: 'base', recipe: (r) => void r.directory('/etc/x') });
  const mid = defineCookbook({ name: 'mid', include: [base], recipe: (r) => void r.file('/etc/x/mid') });
  const top = defineCookbook({
    name: 'top',
    include: [mid, base],
    recipe: (r) => {
      r.include(base);
      r.file('/etc/x/top');
    },
  });
  const c = compileCookbook(top);
  assert.deepEqual(c.cookbooks, ['top', 'mid', 'base']);
  assert.deepEqual(
    c.resources.map((r) => r.address),
    ['directory[/etc/x]', 'file[/etc/x/mid]', 'file[/etc/x/top]'],
  );
});

test('attribute overrides are merged deeply by cookbook name and unknown keys are errors', () => {
  const cb = defineCookbook({
    name: 'ssh',
    attributes: { port: 22, opts: { x11: false, banner: 'hi' } },
    recipe: (r, a) => void r.file('/etc/p', { content: `${a.port} ${a.opts.x11} ${a.opts.banner}` }),
  });
  const c = compileCookbook(cb, { attributes: { ssh: { port: 2222, opts: { x11: true } } } });
  assert.equal(c.resources[0]?.props['content'], '2222 true hi');
  assert.throws(
    () => compileCookbook(cb, { attributes: { ssh: { prot: 1 } } }),
    (e) => isBulwarkError(e, 'BULWARK_ATTRIBUTE_UNKNOWN') && /prot/.test(e.message),
  );
  assert.throws(
    () => compileCookbook(cb, { attributes: { other: { x: 1 } } }),
    (e) => isBulwarkError(e, 'BULWARK_ATTRIBUTE_UNKNOWN') && /not in this run/.test(e.message),
  );
  assert.throws(
    () => compileCookbook(cb, { attributes: { ssh: { port: 'many' } } }),
    (e) => isBulwarkError(e, 'BULWARK_ATTRIBUTE_UNKNOWN') && /expected number/.test(e.message),
  );
});

test('mergeAttributes replaces arrays whole and keeps defaults not overridden', () => {
  const found: never[] = [];
  assert.deepEqual(mergeAttributes({ a: [1, 2], b: 'x' }, { a: [3] }, 'c', found), { a: [3], b: 'x' });
  assert.equal(found.length, 0);
});

test('duplicate addresses are an error naming both cookbooks', () => {
  const a = defineCookbook({ name: 'a', recipe: (r) => void r.file('/etc/motd', { content: 'a' }) });
  const b = defineCookbook({
    name: 'b',
    include: [a],
    recipe: (r) => void r.file('/etc/motd', { content: 'b' }),
  });
  assert.throws(
    () => compileCookbook(b),
    (e) => isBulwarkError(e, 'BULWARK_RESOURCE_DUPLICATE') && /cookbooks a and b/.test(e.message),
  );
});

test('every problem is reported at once, with address and property', () => {
  const cb = defineCookbook({
    name: 'bad',
    recipe: (r) => {
      r.file('etc/relative', { content: 'x' });
      r.file('/etc/decimal', { mode: 644 });
      r.file('/etc/special', { mode: 0o7777 });
      r.file('/etc/unknown', { contnet: 'x' } as never);
      r.directory('/etc/d', { onlyIf: 'test -e /x' as never });
    },
  });
  try {
    compileCookbook(cb);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isBulwarkError(e));
    const at = e.problems.map((p) => `${p.at} ${p.property ?? ''}`);
    assert.deepEqual(at, [
      'file[etc/relative] path',
      'file[/etc/decimal] mode',
      'file[/etc/special] mode',
      'file[/etc/unknown] contnet',
      'directory[/etc/d] onlyIf',
    ]);
    assert.match(e.message, /644 is a decimal number \(octal 1204\)/);
    assert.match(e.message, /sticky bit/);
  }
});

test('a recipe that throws is reported as an invalid cookbook', () => {
  const cb = defineCookbook({
    name: 'throws',
    recipe: () => {
      throw new Error('boom');
    },
  });
  assert.throws(
    () => compileCookbook(cb),
    (e) => isBulwarkError(e, 'BULWARK_COOKBOOK_INVALID') && /boom/.test(e.message),
  );
});

test('notifications must name a declared resource and one of its actions', () => {
  const cb = defineCookbook({
    name: 'n',
    recipe: (r) => {
      r.file('/etc/a', { content: 'a', notifies: { resource: 'service[nope]', action: 'restart' } });
      const d = r.directory('/etc/d');
      r.file('/etc/b', { content: 'b', notifies: { resource: d, action: 'restart' } });
    },
  });
  try {
    compileCookbook(cb);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isBulwarkError(e, 'BULWARK_NOTIFY_UNKNOWN_TARGET'));
    assert.equal(e.problems.length, 2);
    assert.match(e.message, /service\[nope\], which is not declared/);
    assert.match(e.message, /directory\[\/etc\/d\] has no action "restart"/);
  }
});

test('hostile paths are refused before anything runs', () => {
  for (const path of ['/etc/x\nrm -rf /', '/etc/../root/.ssh', '/etc/x\0y', 'relative']) {
    const cb = defineCookbook({ name: 'h', recipe: (r) => void r.file(path, { content: 'x' }) });
    assert.throws(
      () => compileCookbook(cb),
      (e) => isBulwarkError(e, 'BULWARK_RESOURCE_INVALID'),
      JSON.stringify(path),
    );
  }
});

test('two resources naming the same service or package under different addresses are duplicates', () => {
  const services = defineCookbook({
    name: 's',
    recipe: (r) => {
      r.service('ssh', { running: true });
      r.service('ssh.service', { running: false });
    },
  });
  assert.throws(
    () => compileCookbook(services),
    (e) =>
      isBulwarkError(e, 'BULWARK_RESOURCE_DUPLICATE') &&
      /service ssh is also managed by service\[ssh\]/.test(e.message),
  );
  const packages = defineCookbook({
    name: 'p',
    recipe: (r) => {
      r.package(['vim', 'vsftpd'], { action: 'install' });
      r.package('vsftpd', { action: 'purge' });
    },
  });
  assert.throws(
    () => compileCookbook(packages),
    (e) => isBulwarkError(e, 'BULWARK_RESOURCE_DUPLICATE') && /package vsftpd/.test(e.message),
  );
});
