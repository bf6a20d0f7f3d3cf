import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../errors.js';
import { useTestHost } from '../testing/host.js';
import { convergeOne } from '../testing/provider.js';
import { directoryProvider, type DirectoryProps } from './directory.js';
import { sh } from './test-helpers.js';

test('directory validate accepts a full declaration and refuses bad paths and props', () => {
  assert.deepEqual(
    directoryProvider.validate('/srv/app', { mode: '0750', owner: 'root', group: '0', recursive: true }),
    [],
  );
  for (const name of ['srv/app', '/srv/app/', '/srv/../app', '/srv\napp']) {
    assert.deepEqual(
      directoryProvider.validate(name, {}).map((p) => p.property),
      ['path'],
      JSON.stringify(name),
    );
  }
  const props = { ensure: 'gone', recursive: 'yes', mode: 755, owner: '$(id)' } as unknown as DirectoryProps;
  assert.deepEqual(
    directoryProvider
      .validate('/srv/app', props)
      .map((p) => p.property)
      .sort(),
    ['ensure', 'mode', 'owner', 'recursive'],
  );
  assert.match(
    directoryProvider.validate('/', { ensure: 'absent' })[0]?.message ?? '',
    /refusing to remove \//,
  );
});

test('a directory is created with its mode and owner and the second converge changes nothing', async (t) => {
  const host = await useTestHost(t);
  const props: DirectoryProps = { mode: 0o750, owner: 'bin', recursive: true };
  const r = await convergeOne(host.transport, directoryProvider, '/srv/app/releases', props);
  assert.deepEqual(r.after, []);
  assert.equal((await sh(host, "stat -c '%a %U %G' /srv/app/releases")).trim(), '750 bin root');
  assert.deepEqual(
    (await convergeOne(host.transport, directoryProvider, '/srv/app/releases', props)).before,
    [],
  );
});

test('a file where a directory is wanted fails the resource with BULWARK_APPLY_FAILED', async (t) => {
  const host = await useTestHost(t);
  await sh(host, 'touch /srv/notadir');
  await assert.rejects(
    convergeOne(host.transport, directoryProvider, '/srv/notadir', {}),
    (e: unknown) => isBulwarkError(e, 'BULWARK_APPLY_FAILED') && /is a file, not a directory/.test(e.message),
  );
});
