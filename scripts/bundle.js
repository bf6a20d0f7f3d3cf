// Bundles the CLI and the public API into one ESM file, dist/bulwark.js, so `bulwark` starts by loading one
// module instead of dozens. Heavy dependencies stay external and load only on the paths that need them.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/entry.ts'],
  outfile: 'dist/bulwark.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
