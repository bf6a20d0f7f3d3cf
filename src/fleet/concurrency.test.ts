// The concurrency limit of fleet runs: results in the items' order, never more than the limit at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapConcurrent } from './concurrency.js';

test('mapConcurrent keeps the items order and never runs more than the limit at once', async () => {
  let running = 0;
  let peak = 0;
  const delays = [30, 5, 20, 1, 15, 2, 25, 3, 10, 4];
  const out = await mapConcurrent(delays, 3, async (ms) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    return ms * 2;
  });
  assert.deepEqual(
    out,
    delays.map((ms) => ms * 2),
  );
  assert.equal(peak, 3);
});

test('mapConcurrent handles no items and limits below one, and passes a failure on', async () => {
  assert.deepEqual(await mapConcurrent([], 4, () => Promise.resolve(1)), []);
  assert.deepEqual(await mapConcurrent([1, 2], 0, (n) => Promise.resolve(n + 1)), [2, 3]);
  await assert.rejects(
    mapConcurrent([1, 2, 3], 2, (n) =>
      n === 2 ? Promise.reject(new Error('host 2 failed')) : Promise.resolve(n),
    ),
    /host 2 failed/,
  );
});
