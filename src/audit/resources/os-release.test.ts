import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { LocalTransport } from '../../transports/local.js';
import { osRelease, parseOsRelease } from './os-release.js';
import { observeSubjects } from './testing.js';

test('os-release values are unquoted and unescaped', () => {
  const v = parseOsRelease(
    'NAME="Debian GNU/Linux"\nID=debian\nID_LIKE="rhel fedora"\nX="a \\"b\\" \\$c"\nY=\'single\'\n# c\n',
  );
  assert.equal(v['NAME'], 'Debian GNU/Linux');
  assert.equal(v['ID'], 'debian');
  assert.equal(v['X'], 'a "b" $c');
  assert.equal(v['Y'], 'single');
  const o = { exists: true, values: v };
  assert.deepEqual(osRelease().idLike.select(o as never), ['rhel', 'fedora']);
});

test('the distribution of a test host is Debian 12 bookworm', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  const os = osRelease();
  const o = await observeSubjects(host.transport, [os.id]);
  assert.equal(o.value(os.id), 'debian');
  assert.equal(o.value(os.versionId), '12');
  assert.equal(o.value(os.codename), 'bookworm');
  assert.equal(o.value(os.prettyName), 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(o.value(os.get('HOME_URL')), 'https://www.debian.org/');
});

test("this machine's os-release reads through the local transport as it is on disk", async () => {
  const os = osRelease();
  const o = await observeSubjects(new LocalTransport(), [os.id]);
  const text = readFileSync('/etc/os-release', 'utf8');
  const id = /^ID=("?)([^"\n]*)\1$/m.exec(text)?.[2];
  assert.equal(o.value(os.id), id);
  assert.equal(o.value(os.id), o.facts.osId);
});
