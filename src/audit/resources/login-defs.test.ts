import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTestHost } from '../../testing/host.js';
import { ensureBaseRoot } from '../../testing/root.js';
import { loginDefs, parseLoginDefs } from './login-defs.js';
import { observeSubjects } from './testing.js';

test("Debian's login.defs parses into its settings", () => {
  const values = parseLoginDefs(readFileSync(join(ensureBaseRoot(), 'etc/login.defs'), 'utf8'));
  assert.deepEqual(values.get('PASS_MAX_DAYS'), ['99999']);
  assert.deepEqual(values.get('UMASK'), ['022']);
  assert.deepEqual(values.get('ENV_PATH'), ['PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games']);
  assert.equal(values.get('ENCRYPT_METHOD')?.[0], 'SHA512');
  assert.equal(values.has('#'), false);
  assert.equal(values.has('MD5_CRYPT_ENAB'), false);
});

test('the last line of a key wins as in shadow, keys are case-sensitive and quotes are dropped', () => {
  const values = parseLoginDefs(
    'PASS_MAX_DAYS 99999\n  PASS_MAX_DAYS\t90  \npass_max_days 1\nMAIL_DIR "/var/mail"\nLONE\n',
  );
  const o = { exists: true, values };
  const defs = loginDefs();
  assert.equal(defs.get('PASS_MAX_DAYS').select(o as never), '90');
  assert.deepEqual(defs.getAll('PASS_MAX_DAYS').select(o as never), ['99999', '90']);
  assert.equal(defs.get('pass_max_days').select(o as never), '1');
  assert.equal(defs.get('MAIL_DIR').select(o as never), '/var/mail');
  assert.equal(defs.get('LONE').select(o as never), undefined);
  assert.deepEqual(defs.duplicates.select(o as never), ['PASS_MAX_DAYS']);
});

test('login.defs on a test host is read with its changes', async (t) => {
  const host = await createTestHost();
  t.after(() => host.destroy());
  await host.sh("printf 'PASS_MAX_DAYS 60\\n' >> /etc/login.defs");
  const defs = loginDefs();
  const o = await observeSubjects(host.transport, [defs.exists]);
  assert.equal(o.value(defs.exists), true);
  assert.equal(o.value(defs.get('PASS_MAX_DAYS')), '60');
  assert.deepEqual(o.value(defs.getAll('PASS_MAX_DAYS')), ['99999', '60']);
  assert.equal(o.value(defs.get('UID_MIN')), '1000');
});
