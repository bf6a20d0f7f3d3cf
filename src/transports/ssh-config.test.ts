/** The ssh config parser and host resolution: patterns, negation, first value wins, tokens, and what is ignored. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '../errors.js';
import { hostMatches, matchPattern, parseSshConfig, resolveSshConfig } from './ssh-config.js';

const CONFIG = `# a comment
User globaluser

Host web web.*
    HostName 198.51.100.10
    User deploy
    Port 2222
    IdentityFile ~/.ssh/web_ed25519
    IdentityFile "/keys/%h/%r key"

Host *.internal !bastion.internal
  ProxyJump admin@bastion.internal:2200
  UserKnownHostsFile ~/.ssh/known_hosts.internal /ignored/second

Host db?
  HostName %h.example.org
  Port=2022

Host web
  HostName 192.0.2.99
  User ignored

Host *
  Port 22
  User fallback
  ForwardAgent yes
`;

test('host patterns match with * and ?, case-insensitively, and a negated pattern excludes', () => {
  assert.equal(matchPattern('*', 'anything.example'), true);
  assert.equal(matchPattern('web?', 'web1'), true);
  assert.equal(matchPattern('web?', 'web12'), false);
  assert.equal(matchPattern('*.Example.ORG', 'a.example.org'), true);
  assert.equal(matchPattern('a.b', 'axb'), false, 'a dot is literal');
  assert.equal(hostMatches(['*.internal', '!bastion.internal'], 'db.internal'), true);
  assert.equal(hostMatches(['*.internal', '!bastion.internal'], 'bastion.internal'), false);
  assert.equal(hostMatches(['!foo'], 'bar'), false, 'negation alone selects nothing');
  assert.equal(hostMatches(['a', 'b'], 'b'), true);
});

test('the first value obtained for a keyword wins, across blocks in file order, and IdentityFile accumulates', () => {
  const config = parseSshConfig(CONFIG);
  assert.deepEqual(resolveSshConfig(config, 'web', { home: '/home/me' }), {
    hostName: '198.51.100.10',
    user: 'globaluser',
    port: 2222,
    identityFiles: ['/home/me/.ssh/web_ed25519', '/keys/198.51.100.10/globaluser key'],
  });
  assert.deepEqual(resolveSshConfig(config, 'other', {}), { user: 'globaluser', port: 22 });
});

test('ProxyJump and UserKnownHostsFile come from a matching block; a negated name does not get them', () => {
  const config = parseSshConfig(CONFIG);
  assert.deepEqual(resolveSshConfig(config, 'db.internal', { home: '/root' }), {
    user: 'globaluser',
    port: 22,
    proxyJump: 'admin@bastion.internal:2200',
    userKnownHostsFile: '/root/.ssh/known_hosts.internal',
  });
  assert.deepEqual(resolveSshConfig(config, 'bastion.internal', { home: '/root' }), {
    user: 'globaluser',
    port: 22,
  });
});

test('HostName expands %h to the alias; %r uses the user really used when given', () => {
  const config = parseSshConfig(
    `Host db?\n  HostName %h.example.org\n  Port=2022\n  IdentityFile /k/%r@%h:%p-%n-%%\n`,
  );
  assert.deepEqual(resolveSshConfig(config, 'db1', { user: 'ops' }), {
    hostName: 'db1.example.org',
    port: 2022,
    identityFiles: ['/k/ops@db1.example.org:2022-db1-%'],
  });
  // Without a user anywhere, %r is Bulwark's default login user.
  assert.deepEqual(resolveSshConfig(config, 'db2').identityFiles, ['/k/root@db2.example.org:2022-db2-%']);
});

test('keywords and values are read in every spelling OpenSSH accepts', () => {
  const config = parseSshConfig('HOST a\n\tHOSTNAME=x.example\n  port = 2200\r\n  user\tbob\n  # Port 1\n');
  assert.deepEqual(resolveSshConfig(config, 'a'), { hostName: 'x.example', user: 'bob', port: 2200 });
  assert.deepEqual(resolveSshConfig(config, 'A'), { hostName: 'x.example', user: 'bob', port: 2200 });
});

test('Include lines and Match blocks are ignored and listed as such', () => {
  const config = parseSshConfig(
    'Include ~/.ssh/config.d/*\nMatch host x\n  User matched\nHost x\n  User hostx\n',
  );
  assert.deepEqual(config.ignored, [
    'line 1: Include (not followed)',
    'line 2: Match (its block never applies)',
  ]);
  assert.deepEqual(resolveSshConfig(config, 'x'), { user: 'hostx' });
});

test('malformed lines, bad ports and unsupported tokens are refused naming the line', () => {
  const refused = (text: string, alias: string, pattern: RegExp): void => {
    assert.throws(
      () => resolveSshConfig(parseSshConfig(text), alias),
      (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_USAGE' && pattern.test(e.message),
      text,
    );
  };
  refused('Host a\n  Port 0\n', 'a', /line 2: Port 0 is not a port/);
  refused('Host a\n  Port 22x\n', 'a', /line 2: Port 22x/);
  refused('Host a\n  HostName\n', 'a', /line 2: HostName has no value/);
  refused('Host a\n  IdentityFile "/unclosed\n', 'a', /line 2: a double quote is not closed/);
  refused('Host a\n  IdentityFile /k/%C\n', 'a', /line 2: the token %C is not supported/);
  refused('!!!\n', 'a', /line 1: /);
  // A bad port in a block that does not apply is not an error for other hosts.
  assert.deepEqual(resolveSshConfig(parseSshConfig('Host a\n  Port 0\n'), 'b'), {});
});
