// Every TypeScript example in the README and docs/ type-checks against the public API, as the editor and
// `bulwark` check cookbooks: a documented name the package does not export, or a property it no longer takes,
// fails here. Fragments are completed the way a reader would: statements on `r` go into a cookbook's recipe, a
// `recipe(...)` member into a cookbook; one-line signatures (`file(path: string, ...): ResourceRef<...>`) are
// reference, not code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { typeErrors } from './typecheck.js';

const IMPORTS = "import { defineCookbook, defineInventory, defineProfile, notify } from 'bulwark';\n";

/** The ```ts blocks of a Markdown file. */
function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** A block as a module the checker can take, or undefined for a signature line. */
function asModule(block: string): string | undefined {
  const code = block.trim();
  if (/^\w+\([^\n]*\): ResourceRef<[^\n]*>$/.test(code)) return undefined;
  const imports = /^import /m.test(code) ? '' : IMPORTS;
  if (/^export default /m.test(code)) return imports + code;
  if (/^recipe\(/.test(code)) return `${IMPORTS}export default defineCookbook({ name: 'doc', ${code} });\n`;
  const body = code.replace(/^import [^\n]*\n/gm, '');
  return `${IMPORTS}export default defineCookbook({\n  name: 'doc',\n  recipe(r) {\n${body}\n  },\n});\n`;
}

test('every TypeScript example in the README and docs type-checks against the public API', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-docs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sources = ['README.md', ...readdirSync('docs').map((f) => join('docs', f))].filter((f) =>
    f.endsWith('.md'),
  );
  const files: string[] = [];
  for (const source of sources) {
    blocks(readFileSync(resolve(source), 'utf8')).forEach((block, i) => {
      const module = asModule(block);
      if (module === undefined) return;
      const file = join(dir, `${source.replace(/[/.]/g, '_')}-${i + 1}.ts`);
      writeFileSync(file, module);
      files.push(file);
    });
  }
  // The examples this test exists for, so that a change in how blocks are found cannot empty it silently.
  assert.ok(files.length >= 20, `only ${files.length} examples found`);
  assert.ok(files.some((f) => f.includes('docs_inventory_md')));
  const { count, lines } = await typeErrors(files);
  assert.equal(count, 0, `type errors in documented examples:\n${lines.join('\n')}`);
});

test('the examples check catches a name the package does not export', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-docs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.ts');
  writeFileSync(
    file,
    "import { defineFleetOfDreams } from 'bulwark';\nexport default defineFleetOfDreams;\n",
  );
  const { count, lines } = await typeErrors([file]);
  assert.equal(count, 1);
  assert.match(lines[0] ?? '', /bad\.ts:1:10: .*has no exported member 'defineFleetOfDreams'/);
});
