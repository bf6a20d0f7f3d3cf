// The cached bookworm-security mirror: apt must take it for the Debian security suite, and it must hold exactly
// the updates that upgrade something installed in the test root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareDebianVersions } from '../audit/debversion.js';
import { useTestHost } from './host.js';
import {
  addSecurityMirror,
  ensureSecurityMirror,
  parseStanzas,
  securityMirrorPackages,
} from './security-mirror.js';

test('stanza parsing keeps continuation lines with their field', () => {
  const [s] = parseStanzas('Package: a\nDescription: one\n two\n\n\nPackage: b\n');
  assert.equal(s?.fields.get('Package'), 'a');
  assert.equal(s?.fields.get('Description'), 'one\n two');
  assert.equal(parseStanzas('Package: a\n\nPackage: b\n').length, 2);
});

test('the mirror is a flat repository whose Release names the Debian security suite, with only real upgrades', async () => {
  const dir = await ensureSecurityMirror();
  const release = readFileSync(join(dir, 'Release'), 'utf8');
  assert.match(release, /^Origin: Debian-Security$/m);
  assert.match(release, /^Label: Debian-Security$/m);
  assert.match(release, /^Suite: bookworm-security$/m);
  const stanzas = parseStanzas(readFileSync(join(dir, 'Packages'), 'utf8'));
  const packages = await securityMirrorPackages();
  assert.equal(stanzas.length, packages.length);
  for (const s of stanzas) assert.match(s.fields.get('Filename') ?? '', /^\.\/[^/]+\.deb$/);
  for (const p of packages) assert.ok(compareDebianVersions(p.version, p.installed) > 0, p.name);
});

test('a host given the mirror sees its updates as coming from Debian-Security', async (t) => {
  const host = await useTestHost(t);
  await addSecurityMirror(host);
  const sim = (await host.sh('apt-get -s upgrade')).stdout.toString();
  const inst = sim.split('\n').filter((l) => l.startsWith('Inst '));
  assert.equal(inst.length, (await securityMirrorPackages()).length);
  for (const line of inst) assert.match(line, /Debian-Security:12\/bookworm-security/);
});
