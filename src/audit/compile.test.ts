import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBulwarkError } from '../errors.js';
import { compileProfile, impactValue, severityOf } from './compile.js';
import { defineProfile, recordControl } from './profile.js';

const noop = (): void => undefined;

test('controls get addresses, defaults and numeric impacts; included profiles come first', () => {
  const base = defineProfile({
    name: 'base',
    controls: (control) => {
      control('b-1', { title: 'one', impact: 'critical' }, noop);
      control('b-2', {}, noop);
      control('b-3', { impact: 0.2 }, noop);
    },
  });
  const top = defineProfile({
    name: 'top',
    include: [{ profile: base, skip: ['b-2'], impact: { 'b-3': 'high' } }],
    controls: (control) => control('t-1', { bucket: 'patch', tags: { cis: '1.1' } }, noop),
  });
  const c = compileProfile(top);
  assert.deepEqual(c.profiles, ['top', 'base']);
  assert.deepEqual(
    c.controls.map((x) => [x.address, x.profile, x.impact, x.bucket, x.title]),
    [
      ['control[b-1]', 'base', 0.9, 'configuration', 'one'],
      ['control[b-3]', 'base', 0.7, 'configuration', 'b-3'],
      ['control[t-1]', 'top', 0.5, 'patch', 't-1'],
    ],
  );
});

test('inputs have typed defaults that callers override by profile name', () => {
  const p = defineProfile({
    name: 'ssh',
    inputs: { port: 22, ciphers: ['a'] },
    controls: (control, inputs) => control(`port-${inputs.port}-${inputs.ciphers.length}`, {}, noop),
  });
  assert.equal(compileProfile(p).controls[0]?.id, 'port-22-1');
  assert.equal(
    compileProfile(p, { inputs: { ssh: { port: 2222, ciphers: ['a', 'b'] } } }).controls[0]?.id,
    'port-2222-2',
  );
  assert.throws(
    () => compileProfile(p, { inputs: { ssh: { prot: 1 } } }),
    (e) => isBulwarkError(e, 'BULWARK_INPUT_UNKNOWN'),
  );
  assert.throws(
    () => compileProfile(p, { inputs: { other: {} } }),
    (e) => isBulwarkError(e, 'BULWARK_INPUT_UNKNOWN'),
  );
});

test('duplicate ids, impacts outside 0..1, bad buckets and hostile ids are reported together', () => {
  const p = defineProfile({
    name: 'bad',
    controls: (control) => {
      control('dup', {}, noop);
      control('dup', {}, noop);
      control('too-big', { impact: 1.5 }, noop);
      control('negative', { impact: -0.1 }, noop);
      control('named', { impact: 'severe' as never }, noop);
      control('bucket', { bucket: 'misc' as never }, noop);
      control('$(reboot)', {}, noop);
      control('a b', {}, noop);
    },
  });
  try {
    compileProfile(p);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isBulwarkError(e));
    assert.deepEqual(
      e.problems.map((x) => `${x.code} ${x.at} ${x.property ?? ''}`),
      [
        'BULWARK_CONTROL_DUPLICATE control[dup] ',
        'BULWARK_PROFILE_INVALID control[too-big] impact',
        'BULWARK_PROFILE_INVALID control[negative] impact',
        'BULWARK_PROFILE_INVALID control[named] impact',
        'BULWARK_PROFILE_INVALID control[bucket] bucket',
        'BULWARK_PROFILE_INVALID control[$(reboot)] id',
        'BULWARK_PROFILE_INVALID control[a b] id',
      ],
    );
  }
});

test('a skip or impact override naming a control the included profile lacks is an error', () => {
  const base = defineProfile({ name: 'base', controls: (control) => control('real', {}, noop) });
  const top = defineProfile({ name: 'top', include: [{ profile: base, skip: ['ghost'] }], controls: noop });
  assert.throws(
    () => compileProfile(top),
    (e) => isBulwarkError(e, 'BULWARK_PROFILE_INVALID') && /base has no control ghost/.test(e.message),
  );
});

test('a controls function that throws is an invalid profile', () => {
  const p = defineProfile({
    name: 'boom',
    controls: () => {
      throw new Error('kaput');
    },
  });
  assert.throws(
    () => compileProfile(p),
    (e) => isBulwarkError(e, 'BULWARK_PROFILE_INVALID') && /kaput/.test(e.message),
  );
});

test('impacts and severities follow InSpec ranges', () => {
  assert.equal(impactValue(undefined), 0.5);
  assert.equal(impactValue('low'), 0.3);
  assert.equal(impactValue(2), undefined);
  assert.deepEqual([0, 0.1, 0.4, 0.69, 0.7, 0.9, 1].map(severityOf), [
    'none',
    'low',
    'medium',
    'medium',
    'high',
    'critical',
    'critical',
  ]);
});

test('recording a control body captures its exception instead of throwing', () => {
  const r = recordControl(() => {
    throw new Error('body broke');
  });
  assert.equal(r.checks.length, 0);
  assert.match(String(r.thrown), /body broke/);
});

test('skips and impact overrides reach controls of profiles included further down', () => {
  const inner = defineProfile({
    name: 'inner',
    controls: (control) => {
      control('deep-1', {}, noop);
      control('deep-2', {}, noop);
    },
  });
  const mid = defineProfile({
    name: 'mid',
    include: [inner],
    controls: (control) => control('mid-1', {}, noop),
  });
  const top = defineProfile({
    name: 'top',
    include: [{ profile: mid, skip: ['deep-1'], impact: { 'deep-2': 'critical' } }],
    controls: noop,
  });
  const c = compileProfile(top);
  assert.deepEqual(
    c.controls.map((x) => [x.id, x.impact]),
    [
      ['deep-2', 0.9],
      ['mid-1', 0.5],
    ],
  );
});

test('a bad impact override is reported with the override value', () => {
  const base = defineProfile({ name: 'base', controls: (control) => control('b', { impact: 0.5 }, noop) });
  const top = defineProfile({ name: 'top', include: [{ profile: base, impact: { b: 7 } }], controls: noop });
  assert.throws(
    () => compileProfile(top),
    (e) => isBulwarkError(e, 'BULWARK_PROFILE_INVALID') && /7 is not an impact/.test(e.message),
  );
});
