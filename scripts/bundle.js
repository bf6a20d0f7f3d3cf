// Bundles the CLI for Node (esbuild), so `bulwark` starts by loading one module instead of dozens. bin/bulwark.js
// picks a bundle by the command's name:
//   dist/bulwark.js        the public API plus the whole CLI: what audit, converge and plan load, and what the
//                          cookbooks and profiles they run import as `bulwark` (one module instance for both)
//   dist/bulwark-vulns.js  the vulns command, which runs no user code, so it need not share instances. What it
//                          imports only on some paths (OSV records, changelogs, the feed's cold parse, inventories,
//                          SSH, the file reporters) is left out of it: each such dynamic import loads a bundle of
//                          its own from dist/vulns-lazy/, so a scan compiles none of that code. Errors thrown in
//                          those bundles are still BulwarkErrors here (src/errors.ts recognises every copy).
// Heavy dependencies stay external and load only on the paths that need them.
import { rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
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
const LAZY_DIR = 'vulns-lazy';

/** The source files the vulns bundle imports dynamically, as entry points for their own bundles. */
const lazy = new Set();
const splitDynamicImports = {
  name: 'split-dynamic-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const source = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      lazy.add(source);
      const out = `./${LAZY_DIR}/${relative(resolve('src'), source).replace(/\.ts$/, '.js')}`;
      return { path: out, external: true };
    });
  },
};

rmSync(`dist/${LAZY_DIR}`, { recursive: true, force: true });
await Promise.all([
  build({ ...common, entryPoints: ['src/cli/entry.ts'], outfile: 'dist/bulwark.js' }),
  build({
    ...common,
    entryPoints: ['src/cli/vulns-entry.ts'],
    outfile: 'dist/bulwark-vulns.js',
    plugins: [splitDynamicImports],
  }),
]);
if (lazy.size === 0) throw new Error('the vulns bundle imports nothing on demand: check the split');
// Each lazy part is a self-contained bundle (its own dynamic imports inlined), placed as the path above says.
await build({
  ...common,
  entryPoints: [...lazy],
  outdir: `dist/${LAZY_DIR}`,
  outbase: 'src',
});
