import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAccount,
  checkAccountList,
  checkArgv,
  checkBoolean,
  checkEnsure,
  checkId,
  checkPath,
  checkVerify,
  problem,
  problems,
} from './validate.js';

test('problem builds a resource problem, with the property only when there is one', () => {
  assert.deepEqual(problem('file[/x]', 'mode', 'bad'), {
    code: 'BULWARK_RESOURCE_INVALID',
    at: 'file[/x]',
    property: 'mode',
    message: 'bad',
  });
  assert.ok(!('property' in problem('service[x]', undefined, 'bad name')));
  assert.deepEqual(problems(undefined, problem('r', 'p', 'm'), undefined).length, 1);
});

test('checkPath accepts absolute normalised paths', () => {
  for (const path of ['/', '/etc/ssh/sshd_config', '/srv/my app/x.conf', '/a-b_c.d/e']) {
    assert.equal(checkPath(path, 'r'), undefined, path);
  }
});

test('checkPath refuses relative, unnormalised, directory-like and multi-line paths', () => {
  for (const bad of [
    'etc/x',
    '/etc/../x',
    '/etc//x',
    '/etc/x/',
    '/',
    '/etc/x\n',
    '/etc/\0x',
    '/a\tb',
    '',
    42,
  ]) {
    const p = checkPath(bad, 'r', 'path', { file: true });
    assert.equal(p?.property, 'path', JSON.stringify(bad));
    assert.equal(p?.code, 'BULWARK_RESOURCE_INVALID');
  }
  assert.match(checkPath('etc/motd', 'r')?.message ?? '', /is relative/);
  assert.match(checkPath('/etc/../x', 'r')?.message ?? '', /not normalised.*write "\/x"/);
  assert.match(checkPath('/etc/x/', 'r')?.message ?? '', /ends with '\/'; write "\/etc\/x"/);
  assert.match(checkPath('/', 'r', 'path', { file: true })?.message ?? '', /names a directory/);
});

test('checkPath accepts a trailing slash only when asked to, and still wants it normalised', () => {
  assert.equal(checkPath('/tmp/', 'r', 'cwd', { trailingSlash: true }), undefined);
  assert.equal(checkPath('/tmp/', 'r', 'cwd')?.property, 'cwd');
  assert.match(checkPath('/tmp/../x/', 'r', 'cwd', { trailingSlash: true })?.message ?? '', /write "\/x\/"/);
  assert.notEqual(checkPath('//', 'r', 'cwd', { trailingSlash: true }), undefined);
});

test('checkAccount accepts Debian user and group names, and numeric ids only when asked to', () => {
  for (const name of ['root', 'www-data', '_apt', 'machine$', 'a'.repeat(32)]) {
    assert.equal(checkAccount(name, 'r', 'owner'), undefined, name);
  }
  assert.equal(checkAccount('1000', 'r', 'owner', { numeric: true }), undefined);
  assert.equal(checkAccount('1000', 'r', 'owner')?.property, 'owner');
  assert.match(checkAccount('99999999999', 'r', 'owner', { numeric: true })?.message ?? '', /not a valid id/);
});

test('checkAccount refuses hostile and malformed names', () => {
  for (const bad of [
    'Root',
    'a b',
    'x;id',
    '$(reboot)',
    '`id`',
    'a\nb',
    '-o',
    '',
    'a/b',
    'a:b',
    'u'.repeat(33),
    7,
  ]) {
    assert.equal(checkAccount(bad, 'r', 'name')?.property, 'name', JSON.stringify(bad));
  }
});

test('checkId accepts whole numbers from 0 to 4294967294', () => {
  for (const id of [0, 1000, 4294967294]) assert.equal(checkId(id, 'r', 'uid'), undefined);
  for (const bad of [-1, 1.5, 4294967295, Number.NaN, '1000', null]) {
    assert.equal(checkId(bad, 'r', 'uid')?.property, 'uid', String(bad));
  }
});

test('checkAccountList reports every bad or repeated name', () => {
  assert.deepEqual(checkAccountList(['a', 'b'], 'r', 'members'), []);
  assert.equal(checkAccountList('alice', 'r', 'members').length, 1);
  const found = checkAccountList(['fine', 'x;reboot', 'fine'], 'r', 'members');
  assert.equal(found.length, 2);
  assert.match(found[1]?.message ?? '', /listed twice/);
});

test('checkEnsure and checkBoolean accept their values or nothing, and nothing else', () => {
  for (const ok of [undefined, 'present', 'absent']) assert.equal(checkEnsure(ok, 'r'), undefined);
  assert.equal(checkEnsure('gone', 'r')?.property, 'ensure');
  for (const ok of [undefined, true, false]) assert.equal(checkBoolean(ok, 'r', 'running'), undefined);
  assert.match(checkBoolean('yes', 'r', 'running')?.message ?? '', /must be true or false, not "yes"/);
});

test('checkArgv wants a non-empty array of strings without NUL and with a program', () => {
  assert.equal(checkArgv(['true'], 'r', 'command', "['true']"), undefined);
  for (const bad of [[], 'true', ['true', 3], [''], ['echo', 'a\0b'], undefined]) {
    assert.equal(checkArgv(bad, 'r', 'command', "['true']")?.property, 'command', JSON.stringify(bad));
  }
});

test('checkVerify refuses verify commands that do not look at the new content', () => {
  assert.equal(checkVerify(['/usr/sbin/sshd', '-t', '-f', '%{path}'], 'r'), undefined);
  assert.equal(checkVerify(['/bin/sh', '-c', 'check "$1"', 'sh', '--file=%{path}'], 'r'), undefined);
  assert.equal(checkVerify(undefined, 'r'), undefined);
  for (const bad of [
    [],
    '/usr/sbin/sshd -t',
    ['/usr/sbin/sshd', '-t'],
    ['x', '%{path}\0'],
    ['', '%{path}'],
  ]) {
    assert.equal(checkVerify(bad, 'r')?.property, 'verify', JSON.stringify(bad));
  }
  assert.match(checkVerify(['visudo', '-c'], 'r')?.message ?? '', /%\{path\}/);
});
