import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalRepo, REPO_SOURCE } from '../testing/apt-repo.js';
import { useTestHost, type TestHost } from '../testing/host.js';
import { convergeOne, observe } from '../testing/provider.js';
import {
  aptUpdateProvider,
  indexAge,
  parseAptUpdateProbe,
  UPDATE_STAMP,
  type AptUpdateProps,
  type AptUpdateState,
} from './apt-update.js';
import { FACTS, probeResult } from './test-helpers.js';

const NOW = 1_800_000_000;
const DAY = 86_400;

function diff(props: AptUpdateProps, state: AptUpdateState) {
  return aptUpdateProvider.diff('apt', props, state, FACTS);
}

test('aptUpdate validate accepts the name the DSL gives it, apt, and a whole number of seconds', () => {
  assert.deepEqual(aptUpdateProvider.validate('apt', {}), []);
  assert.deepEqual(aptUpdateProvider.validate('apt', { maxAgeSeconds: 0 }), []);
  assert.deepEqual(aptUpdateProvider.validate('apt', { maxAgeSeconds: 3600 }), []);
});

test('aptUpdate validate refuses a maximum age that is not a whole number of seconds', () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3600', null]) {
    const problems = aptUpdateProvider.validate('apt', {
      maxAgeSeconds: bad,
    } as unknown as AptUpdateProps);
    assert.equal(problems.length, 1, String(bad));
    assert.equal(problems[0]?.property, 'maxAgeSeconds');
    assert.equal(problems[0]?.code, 'BULWARK_RESOURCE_INVALID');
  }
});

test('aptUpdate validate refuses a hostile or empty resource name', () => {
  for (const name of ['', 'apt; reboot', '$(id)', 'a\nb', 'a b']) {
    const problems = aptUpdateProvider.validate(name, {});
    assert.equal(problems.length, 1, JSON.stringify(name));
    assert.match(problems[0]?.message ?? '', /names this resource 'apt'/);
  }
});

test('aptUpdate probe is one exec of a fixed script, whatever the props', () => {
  const a = aptUpdateProvider.probe('apt', {});
  const b = aptUpdateProvider.probe('apt', { maxAgeSeconds: 5 });
  assert.deepEqual(a, b);
  assert.deepEqual(Object.keys(a), ['age']);
  assert.equal(a['age']?.kind, 'exec');
});

test('parseAptUpdateProbe reads the host time and newest mtimes, with 0 meaning none', () => {
  assert.deepEqual(parseAptUpdateProbe(`${NOW}\n${NOW - 10}\n0\n`), {
    now: NOW,
    newestList: NOW - 10,
    newestStamp: null,
  });
  assert.deepEqual(parseAptUpdateProbe(`${NOW}\n0\n${NOW - 5}\n`), {
    now: NOW,
    newestList: null,
    newestStamp: NOW - 5,
  });
  assert.throws(() => parseAptUpdateProbe('garbage\n'), { code: 'BULWARK_PROBE_FAILED' });
  assert.throws(() => parseAptUpdateProbe(''), { code: 'BULWARK_PROBE_FAILED' });
});

test('aptUpdate read refuses to guess when the probe failed', () => {
  const failed = probeResult('', 1, 'date: not found');
  assert.throws(() => aptUpdateProvider.read('apt', {}, { age: failed }, FACTS), /date: not found/);
});

test('aptUpdate diff wants a refresh when the index is older than the maximum age or missing', () => {
  const old = { now: NOW, newestList: NOW - 2 * DAY, newestStamp: null };
  assert.deepEqual(diff({}, old), [{ property: 'index age', from: `${2 * DAY}s`, to: `at most ${DAY}s` }]);
  assert.deepEqual(diff({}, { now: NOW, newestList: null, newestStamp: NOW }), [
    { property: 'index age', from: null, to: `at most ${DAY}s` },
  ]);
  assert.deepEqual(diff({ maxAgeSeconds: 3 * DAY }, old), []);
  assert.equal(diff({ maxAgeSeconds: 0 }, { now: NOW, newestList: NOW - 1, newestStamp: null }).length, 1);
});

test('aptUpdate diff counts a recent success stamp even when apt left the lists with old mtimes', () => {
  const state = { now: NOW, newestList: NOW - 30 * DAY, newestStamp: NOW - 60 };
  assert.equal(indexAge(state), 60);
  assert.deepEqual(diff({}, state), []);
  // A clock that runs behind the mirror's timestamps does not make the age negative.
  assert.equal(indexAge({ now: NOW, newestList: NOW + 100, newestStamp: null }), 0);
});

async function localOnlyHost(t: { after(fn: () => unknown): void }): Promise<TestHost> {
  const host = await useTestHost(t);
  await createLocalRepo(host, [{ name: 'bwt-index', version: '1.0' }], { only: true });
  return host;
}

async function stampExists(host: TestHost): Promise<boolean> {
  return (await host.sh(`test -f ${UPDATE_STAMP}`)).exitCode === 0;
}

test('aptUpdate refreshes old lists once, and the next run sees a fresh index', async (t) => {
  const host = await localOnlyHost(t);
  await host.sh(`touch -d '3 days ago' /var/lib/apt/lists/* && rm -f /var/lib/apt/periodic/*`);
  const r = await convergeOne(host.transport, aptUpdateProvider, 'apt', {});
  assert.equal(r.before.length, 1);
  assert.equal(r.before[0]?.property, 'index age');
  assert.match(r.before[0]?.from ?? '', /^2592\d\ds$/);
  assert.deepEqual(r.after, []);
  assert.ok(await stampExists(host));
  // apt really ran: it rebuilt the list of the local repository.
  const lists = await host.sh('ls /var/lib/apt/lists');
  assert.match(lists.stdout.toString(), /_srv_bulwark-repo_\._Packages/);
  const again = await convergeOne(host.transport, aptUpdateProvider, 'apt', {});
  assert.deepEqual(again.before, []);
});

test('aptUpdate leaves a fresh index alone and honours maxAgeSeconds', async (t) => {
  const host = await localOnlyHost(t);
  await host.sh(`rm -f /var/lib/apt/periodic/* && touch -d '2 hours ago' /var/lib/apt/lists/*`);
  const fresh = await convergeOne(host.transport, aptUpdateProvider, 'apt', {});
  assert.deepEqual(fresh.before, []);
  assert.ok(!(await stampExists(host)), 'no refresh happened, so no stamp was written');
  const hourly = await convergeOne(host.transport, aptUpdateProvider, 'apt', { maxAgeSeconds: 3600 });
  assert.equal(hourly.before.length, 1);
  assert.deepEqual(hourly.after, []);
  assert.ok(await stampExists(host));
});

test('aptUpdate fails clearly when a source cannot be fetched and writes no stamp', async (t) => {
  const host = await localOnlyHost(t);
  await host.sh(`echo 'deb [trusted=yes] file:/srv/no-such-repo ./' >> ${REPO_SOURCE}`);
  await host.sh(`touch -d '3 days ago' /var/lib/apt/lists/* && rm -f /var/lib/apt/periodic/*`);
  await assert.rejects(convergeOne(host.transport, aptUpdateProvider, 'apt', {}), (e: Error) => {
    assert.equal((e as { code?: string }).code, 'BULWARK_APPLY_FAILED');
    assert.match(e.message, /no-such-repo/);
    return true;
  });
  assert.ok(!(await stampExists(host)));
  const seen = await observe(host.transport, aptUpdateProvider, 'apt', {});
  assert.equal(seen.changes.length, 1, 'the failed refresh is retried on the next run');
});
