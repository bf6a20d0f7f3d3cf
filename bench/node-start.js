// What a bare `node -e 0` costs on this machine right now, as a yardstick for the whole-process figures: this
// machine's speed varies from minute to minute, and bulwark's start includes Node's own. Median of 11 starts, as
// bin/bulwark starts Node (without NODE_EXTRA_CA_CERTS, which it defers) and, when the variable is set, with it.
import { spawnSync } from 'node:child_process';

function medianStart(env) {
  const times = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { env });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[5];
}

/** One line for a bench's output: the bare Node start, median, in ms. */
export function describeNodeStart() {
  const { NODE_EXTRA_CA_CERTS: certs, ...without } = process.env;
  const bare = medianStart(without).toFixed(0);
  if (certs === undefined) return `for reference, bare node start here: median ${bare} ms`;
  const withCerts = medianStart(process.env).toFixed(0);
  return `for reference, bare node start here: median ${bare} ms as bin/bulwark starts it (${withCerts} ms with NODE_EXTRA_CA_CERTS, which it defers)`;
}
