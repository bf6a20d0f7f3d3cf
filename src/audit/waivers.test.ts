import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBulwarkError } from '../errors.js';
import { applyWaiver, parseWaivers } from './waivers.js';

test('a waiver file maps ids to justification, approver, expiry and run', async () => {
  const w = await parseWaivers(
    [
      'ssh-07:',
      '  justification: legacy jump host, replaced in Q1',
      '  approver: security@example.org',
      '  expires: 2027-03-31',
      'file[/etc/shadow]:',
      '  justification: checked elsewhere',
      '  run: false',
    ].join('\n'),
    'w.yaml',
  );
  assert.deepEqual(w.get('ssh-07'), {
    justification: 'legacy jump host, replaced in Q1',
    approver: 'security@example.org',
    expires: '2027-03-31',
    run: true,
  });
  assert.deepEqual(w.get('file[/etc/shadow]'), { justification: 'checked elsewhere', run: false });
});

test('an empty waiver file holds no waivers', async () => {
  assert.equal((await parseWaivers('', 'w.yaml')).size, 0);
});

test('a waiver holds through its expiry day (UTC) and has expired the day after', () => {
  const w = { justification: 'x', expires: '2026-11-26', run: true };
  assert.equal(applyWaiver(w, new Date('2026-11-26T23:59:59Z')).expired, false);
  assert.equal(applyWaiver(w, new Date('2026-11-27T00:00:00Z')).expired, true);
  assert.equal(applyWaiver({ justification: 'x', run: true }, new Date('2100-01-01')).expired, false);
});

test('malformed waiver files are refused with every problem listed', async () => {
  const bad = [
    'a:\n  approver: x\n',
    'b:\n  justification: y\n  expires: 2026-02-30\n',
    'c:\n  justification: y\n  expires: next week\n',
    'd:\n  justification: y\n  run: sometimes\n',
    'e:\n  justification: y\n  reason: typo\n',
    'f: just a string\n',
  ];
  for (const text of bad) {
    await assert.rejects(
      parseWaivers(text, 'w.yaml'),
      (e) => isBulwarkError(e, 'BULWARK_WAIVER_INVALID'),
      text,
    );
  }
  await assert.rejects(parseWaivers('- a\n- b\n', 'w.yaml'), (e) =>
    isBulwarkError(e, 'BULWARK_WAIVER_INVALID'),
  );
  await assert.rejects(parseWaivers('a: [unclosed', 'w.yaml'), (e) =>
    isBulwarkError(e, 'BULWARK_WAIVER_INVALID'),
  );
  try {
    await parseWaivers(bad.join(''), 'all.yaml');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isBulwarkError(e));
    assert.equal(e.problems.length, 6);
  }
});
