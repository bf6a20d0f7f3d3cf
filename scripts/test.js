// The whole test suite: prepare the cached Debian test root once, clear hosts a killed run left behind, then run
// every compiled test file with Node's test runner, several files at once.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const { ensureBaseRoot } = await import('../dist/testing/root.js');
const { cleanupStaleHosts } = await import('../dist/testing/host.js');
const { cleanupStaleNetworks } = await import('../dist/testing/network.js');
const { ensureSecurityMirror } = await import('../dist/testing/security-mirror.js');

if (process.getuid?.() !== 0) {
  console.error(
    'The tests need root: they build Debian roots, mount overlays and create network namespaces.',
  );
  process.exit(1);
}
ensureBaseRoot((line) => console.log(line));
// The bookworm-security updates of the test root, as a local apt repository (downloaded once, then cached).
await ensureSecurityMirror((line) => console.log(line));
cleanupStaleHosts();
cleanupStaleNetworks();

function testFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...testFiles(path));
    else if (entry.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : testFiles('dist').sort();
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${process.env['BULWARK_TEST_CONCURRENCY'] ?? 3}`, ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
