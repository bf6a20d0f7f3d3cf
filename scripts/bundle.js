// Bundles the CLI for Node (esbuild), so `bulwark` starts by loading one module instead of dozens. Two bundles,
// each one self-contained file (bin/bulwark.js picks one by the command's name):
//   dist/bulwark.js        the public API plus the whole CLI: what audit, converge and plan load, and what the
//                          cookbooks and profiles they run import as `bulwark` (one module instance for both)
//   dist/bulwark-vulns.js  the vulns command alone, which runs no user code, so it need not share instances
// Heavy dependencies stay external and load only on the paths that need them.
import { build } from 'esbuild';

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, entryPoints: ['src/cli/entry.ts'], outfile: 'dist/bulwark.js' }),
  build({ ...common, entryPoints: ['src/cli/vulns-entry.ts'], outfile: 'dist/bulwark-vulns.js' }),
]);
