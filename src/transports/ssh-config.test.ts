/**
 * The ssh config parser and host resolution: patterns, negation, first value wins, tokens, Include (through a fake
 * file reader: globs, conditional includes, cycles, depth) and Match criteria, and what is ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '../errors.js';
import {
  globMatch,
  hostMatches,
  matchPattern,
  parseSshConfig,
  resolveSshConfig,
  type SshConfigFiles,
  type SshConfigParseOptions,
} from './ssh-config.js';

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

test('without a file reader Include lines are listed as not followed; a Match exec block never applies', () => {
  const config = parseSshConfig(
    'Include ~/.ssh/config.d/*\nMatch exec "touch /tmp/pwned" host x\n  User matched\nHost x\n  User hostx\n',
  );
  assert.deepEqual(config.ignored, [
    'line 1: Include (not followed)',
    'line 2: Match exec "touch /tmp/pwned": Bulwark does not evaluate this criterion (it never runs a command from an ssh config), so the block never applies',
  ]);
  assert.deepEqual(resolveSshConfig(config, 'x'), { user: 'hostx' });
});

/** A fake file system for Include: absolute paths to file texts; directories are implied by the paths. */
function fakeFiles(tree: Record<string, string>): SshConfigFiles & { readonly reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read(path) {
      reads.push(path);
      return tree[path];
    },
    list(dir) {
      const prefix = dir.endsWith('/') ? dir : `${dir}/`;
      const names = new Set<string>();
      for (const path of Object.keys(tree)) {
        if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split('/')[0] ?? '');
      }
      return names.size === 0 ? undefined : [...names];
    },
  };
}

function parseWith(
  main: string,
  tree: Record<string, string>,
  options: Partial<SshConfigParseOptions> = {},
): ReturnType<typeof parseSshConfig> {
  return parseSshConfig(main, {
    path: '/home/me/.ssh/config',
    files: fakeFiles(tree),
    home: '/home/me',
    localUser: 'me',
    ...options,
  });
}

test('Include reads relative paths from ~/.ssh, expands globs in byte order, skips dot files and missing files', () => {
  const tree = {
    '/home/me/.ssh/config.d/b': 'Host b\n  User from-b\n',
    '/home/me/.ssh/config.d/a': 'Host *\n  User from-a\n',
    '/home/me/.ssh/config.d/A': 'Host *\n  Port 2001\n',
    '/home/me/.ssh/config.d/10-x': 'Host *\n  IdentityFile /k/10\n',
    '/home/me/.ssh/config.d/2-y': 'Host *\n  IdentityFile /k/2\n',
    '/home/me/.ssh/config.d/.hidden': 'Host *\n  User hidden\n',
    '/etc/bulwark/extra.conf': 'HostName extra.example\n',
  };
  const config = parseWith(
    'Include config.d/* missing-file /etc/bulwark/extra.conf nothing.d/*\nUser main\n',
    tree,
  );
  assert.deepEqual(config.files, [
    '/home/me/.ssh/config',
    '/home/me/.ssh/config.d/10-x',
    '/home/me/.ssh/config.d/2-y',
    '/home/me/.ssh/config.d/A',
    '/home/me/.ssh/config.d/a',
    '/home/me/.ssh/config.d/b',
    '/etc/bulwark/extra.conf',
  ]);
  assert.deepEqual(config.ignored, ['/home/me/.ssh/config line 1: Include nothing.d/* matched no files']);
  // Byte order: "10-x" before "2-y", "A" before "a"; the first value obtained wins, across included files.
  assert.deepEqual(resolveSshConfig(config, 'b'), {
    hostName: 'extra.example',
    user: 'from-a',
    port: 2001,
    identityFiles: ['/k/10', '/k/2'],
  });
});

test('the first value wins across included files: an Include placed first overrides the lines after it', () => {
  const tree = { '/home/me/.ssh/early': 'Host web\n  Port 2222\n', '/home/me/.ssh/late': 'Port 3333\n' };
  const before = parseWith('Include early\nHost web\n  Port 22\n', tree);
  assert.equal(resolveSshConfig(before, 'web').port, 2222);
  const after = parseWith('Host web\n  Port 22\nHost *\n  Include late early\n', tree);
  assert.equal(resolveSshConfig(after, 'web').port, 22);
  assert.equal(resolveSshConfig(after, 'other').port, 3333);
});

test('an Include inside a Host or Match block applies only when the block does, and the block goes on after it', () => {
  const tree = {
    '/inc/0-none': 'Match host never-this\n',
    '/inc/1-hosts': 'Host a\n  HostName a-from-include\nHost c\n  HostName c-from-include\n',
    '/inc/2-all': 'Match all\n  HostName anyone-from-include\n',
  };
  const config = parseWith(
    [
      'Host a',
      '  HostName a-first',
      '  Include /inc/*',
      'Host b',
      '  Include /inc/*',
      '  HostName b-after-include',
      'Host c',
      '  Include /inc/0-none',
      '  HostName c-after-include',
      'Match originalhost d',
      '  Include /inc/1-hosts',
      '  Port 2200',
      '',
    ].join('\n'),
    tree,
  );
  // A value obtained before the Include wins over the included ones.
  assert.equal(resolveSshConfig(config, 'a').hostName, 'a-first');
  // b: no Host line of the included files selects b, but their Match all does.
  assert.equal(resolveSshConfig(config, 'b').hostName, 'anyone-from-include');
  // c: the included file ended inside a block that does not apply; the including block is active again after it.
  assert.equal(resolveSshConfig(config, 'c').hostName, 'c-after-include');
  assert.deepEqual(resolveSshConfig(config, 'd'), { port: 2200 });
  // x: every Include sits in a block that does not apply, so not even Match all applies.
  assert.deepEqual(resolveSshConfig(config, 'x'), {});
});

test('Include expands ~, %d, %u and ${NAME}, and refuses host tokens, ~user and unknown variables', () => {
  const tree = { '/home/me/me.conf': 'User tilde\n', '/srv/me/x.conf': 'Port 2022\n' };
  const config = parseWith('Include ~/%u.conf ${CONF_ROOT}/%u/x.conf\n', tree, {
    env: { CONF_ROOT: '/srv' },
  });
  assert.deepEqual(resolveSshConfig(config, 'h'), { user: 'tilde', port: 2022 });
  const refused = (line: string, pattern: RegExp): void => {
    assert.throws(
      () => parseWith(line, tree),
      (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_USAGE' && pattern.test(e.message),
      line,
    );
  };
  refused('Include %h.conf\n', /config line 1: Include %h\.conf: the token %h is not supported/);
  refused('Include ~root/x\n', /only ~ and ~\/ are supported/);
  refused('Include ${NOPE}/x\n', /the environment variable NOPE is not known/);
  assert.throws(
    () => parseSshConfig('Include x.conf\n', { files: fakeFiles(tree) }),
    /the directory of relative includes \(~\/\.ssh\) is not known here/,
  );
});

test('an Include cycle and includes nested too deep are refused, naming the files', () => {
  const cycle = {
    '/c/a': 'Include /c/b\n',
    '/c/b': 'Host *\n  Include /c/a\n',
  };
  assert.throws(
    () => parseWith('Include /c/a\n', cycle),
    (e: unknown) =>
      e instanceof BulwarkError &&
      e.code === 'BULWARK_USAGE' &&
      e.message ===
        '/c/b line 2: Include cycle: /home/me/.ssh/config includes /c/a includes /c/b includes /c/a',
  );
  assert.throws(
    () => parseWith('Include config\n', {}),
    /Include cycle: \/home\/me\/.ssh\/config includes \/home/,
  );
  // A chain of five files: fine with a limit of 5, refused with 4.
  const deep: Record<string, string> = {};
  for (let i = 1; i <= 5; i++) deep[`/d/${i}`] = i < 5 ? `Include /d/${i + 1}\n` : 'User deepest\n';
  assert.equal(
    resolveSshConfig(parseWith('Include /d/1\n', deep, { maxIncludeDepth: 5 }), 'h').user,
    'deepest',
  );
  assert.throws(
    () => parseWith('Include /d/1\n', deep, { maxIncludeDepth: 4 }),
    (e: unknown) =>
      e instanceof BulwarkError && /^\/d\/4 line 1: Include nests deeper than 4 files: /.test(e.message),
  );
  // Reading the same file twice is not a cycle.
  const twice = parseWith('Include /t/x /t/x\n', { '/t/x': 'Port 2\n' });
  assert.deepEqual(twice.files, ['/home/me/.ssh/config', '/t/x', '/t/x']);
});

test('a line that cannot be read in an included file is refused naming that file and line', () => {
  assert.throws(
    () => parseWith('Include /bad\n', { '/bad': 'Host a\n  Port 22\n!!!\n' }),
    (e: unknown) =>
      e instanceof BulwarkError && e.code === 'BULWARK_USAGE' && /^\/bad line 3: /.test(e.message),
  );
  const config = parseWith('Include /badport\n', { '/badport': 'Host a\n  Port 99999\n' });
  assert.throws(
    () => resolveSshConfig(config, 'a'),
    (e: unknown) =>
      e instanceof BulwarkError && /^\/badport line 2: Port 99999 is not a port/.test(e.message),
  );
});

test('glob segments match *, ?, classes, ranges, negation and escapes, and a wildcard skips a leading dot', () => {
  assert.equal(globMatch('*.conf', 'a.conf'), true);
  assert.equal(globMatch('*.conf', '.a.conf'), false);
  assert.equal(globMatch('.*', '.a'), true);
  assert.equal(globMatch('?.conf', 'ab.conf'), false);
  assert.equal(globMatch('[a-c]x', 'bx'), true);
  assert.equal(globMatch('[a-c]x', 'dx'), false);
  assert.equal(globMatch('[!a-c]x', 'dx'), true);
  assert.equal(globMatch('[^a]x', 'ax'), false);
  assert.equal(globMatch('[]]', ']'), true);
  assert.equal(globMatch('\\*', '*'), true);
  assert.equal(globMatch('\\*', 'a'), false);
  assert.equal(globMatch('[a', '[a'), true, 'an unclosed [ is literal');
  assert.equal(globMatch('a(b)+', 'a(b)+'), true, 'regex characters are literal');
});

const MATCHES = `Match host 198.51.100.*,!198.51.100.99
  Port 2201
Host web
  HostName 198.51.100.10
Match host 198.51.100.* originalhost web
  User from-host-match
Match originalhost WEB user deploy
  IdentityFile /k/deploy
Match !user root localuser me
  IdentityFile /k/not-root
Match host=db originalhost=db
  Port 2202
Match all
  Port 22
`;

test('Match host sees the HostName obtained so far, originalhost the alias; criteria are ANDed, lists negate', () => {
  const config = parseSshConfig(MATCHES);
  // For "web" the first Match sees "web" (no HostName yet); the second sees 198.51.100.10.
  assert.deepEqual(resolveSshConfig(config, 'web', { localUser: 'me' }), {
    hostName: '198.51.100.10',
    user: 'from-host-match',
    port: 22,
    identityFiles: ['/k/not-root'],
  });
  assert.equal(resolveSshConfig(config, '198.51.100.7').port, 2201);
  assert.equal(resolveSshConfig(config, '198.51.100.99').port, 22, 'a negated list entry excludes');
  assert.equal(resolveSshConfig(config, 'DB').port, 2202, 'host names compare case-insensitively');
});

test('Match user sees the explicit user, else a User obtained so far, else root; names compare case-sensitively', () => {
  const config = parseSshConfig(MATCHES);
  // Explicit deploy: the user-specific key first; the config's User does not replace the explicit user for Match.
  assert.deepEqual(resolveSshConfig(config, 'web', { user: 'deploy', localUser: 'me' }).identityFiles, [
    '/k/deploy',
    '/k/not-root',
  ]);
  assert.deepEqual(resolveSshConfig(config, 'web', { user: 'Deploy', localUser: 'me' }).identityFiles, [
    '/k/not-root',
  ]);
  // As root (given, or the default): "!user root" does not apply.
  assert.equal(resolveSshConfig(config, 'other', { user: 'root', localUser: 'me' }).identityFiles, undefined);
  assert.equal(resolveSshConfig(config, 'other', { localUser: 'me' }).identityFiles, undefined);
  // A User obtained before the Match line counts.
  const early = parseSshConfig('User ops\nMatch user ops\n  Port 2203\n');
  assert.equal(resolveSshConfig(early, 'h').port, 2203);
  assert.equal(resolveSshConfig(early, 'h', { user: 'root' }).port, undefined);
  // Without a known local user, a localuser criterion never applies, negated or not.
  assert.equal(resolveSshConfig(config, 'other', { user: 'x' }).identityFiles, undefined);
  assert.equal(resolveSshConfig(parseSshConfig('Match !localuser x\n  Port 2\n'), 'h', {}).port, undefined);
});

test('Match criteria Bulwark cannot evaluate make the block never apply, listed as ignored, whatever else it says', () => {
  const config = parseSshConfig(
    [
      'Match canonical all',
      '  Port 2001',
      'Match !final host *',
      '  Port 2002',
      'Match host * !exec "exit 1"',
      '  Port 2003',
      'Match tagged prod localnetwork 198.51.100.0/24',
      '  Port 2004',
      'Match all # a comment',
      '  Port 2005',
      '',
    ].join('\n'),
  );
  assert.equal(resolveSshConfig(config, 'h').port, 2005);
  assert.equal(config.ignored.length, 4);
  assert.match(config.ignored[0] ?? '', /^line 1: Match canonical: /);
  assert.match(
    config.ignored[2] ?? '',
    /^line 5: Match !exec "exit 1": Bulwark does not evaluate this criterion/,
  );
  assert.match(
    config.ignored[3] ?? '',
    /^line 7: Match tagged "prod" localnetwork "198.51.100.0\/24": .*these criteria/,
  );
});

test('malformed Match lines are refused naming the line', () => {
  for (const [line, pattern] of [
    ['Match host', /line 1: Match host needs an argument/],
    ['Match bogus x', /line 1: Match "bogus" is not a Match criterion/],
    ['Match all host x', /line 1: Match all cannot be combined/],
    ['Match host x user y all', /line 1: Match all cannot be combined/],
    ['Match # nothing', /line 1: Match has no criteria/],
  ] as const) {
    assert.throws(
      () => parseSshConfig(`${line}\n`),
      (e: unknown) => e instanceof BulwarkError && e.code === 'BULWARK_USAGE' && pattern.test(e.message),
      line,
    );
  }
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
