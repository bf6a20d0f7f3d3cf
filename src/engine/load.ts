/**
 * Loads a TypeScript cookbook at run time: esbuild bundles it with its relative imports (the `bulwark` import is
 * bound to this very installation), optional type-checking catches what the editor would, and the module is
 * imported from memory. No tsc step for users.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyCookbook } from '../dsl/cookbook.js';
import { isCookbook } from '../dsl/cookbook.js';
import { BulwarkError } from '../errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The compiled entry point cookbooks import as `bulwark`. */
export const PACKAGE_ENTRY = resolve(HERE, '../index.js');

/** Options for loading. */
export interface LoadOptions {
  /** Type-check the cookbook (cached by content, so only changed cookbooks pay for it). @default true */
  readonly typecheck?: boolean;
}

/** A bundled module: its code and the files it was built from. */
export interface Bundle {
  readonly code: string;
  readonly inputs: readonly string[];
}

/** Bundles a TypeScript module and its relative imports into one ESM string. */
export async function bundle(file: string): Promise<Bundle> {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new BulwarkError('BULWARK_COOKBOOK_NOT_FOUND', `cookbook ${file} does not exist or is not a file`);
  }
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [path],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      metafile: true,
      plugins: [
        {
          name: 'bulwark',
          setup(build) {
            build.onResolve({ filter: /^bulwark$/ }, () => ({ path: pathToFileURL(PACKAGE_ENTRY).href, external: true }));
          },
        },
      ],
    });
    const out = result.outputFiles[0];
    if (out === undefined) throw new Error('esbuild produced no output');
    return { code: out.text, inputs: Object.keys(result.metafile.inputs).map((p) => resolve(p)) };
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    const detail =
      errors?.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text)).join('\n') ??
      String(e);
    throw new BulwarkError('BULWARK_COOKBOOK_COMPILE', `cookbook ${file} does not compile:\n${detail}`, { cause: e });
  }
}

/** Imports bundled code from memory and returns the module's default export. */
export async function importBundle(code: string, file: string): Promise<unknown> {
  try {
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as {
      default?: unknown;
    };
    return mod.default;
  } catch (e) {
    throw new BulwarkError('BULWARK_COOKBOOK_COMPILE', `cookbook ${file} failed while loading: ${String(e)}`, { cause: e });
  }
}

/** A hash of the bundle's inputs, naming the type-check cache entry. */
export function inputsHash(inputs: readonly string[]): string {
  const h = createHash('sha256');
  h.update(readFileSync(resolve(HERE, '../../package.json')));
  for (const p of [...inputs].sort()) {
    h.update(p);
    h.update('\0');
    h.update(readFileSync(p));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Loads a cookbook module, checks its types unless told not to, and returns its default export. */
export async function loadCookbook(file: string, options: LoadOptions = {}): Promise<AnyCookbook> {
  const { code, inputs } = await bundle(file);
  if (options.typecheck !== false) {
    const { typecheckCached } = await import('./typecheck.js');
    await typecheckCached(resolve(file), inputsHash(inputs));
  }
  const value = await importBundle(code, file);
  if (!isCookbook(value)) {
    throw new BulwarkError(
      'BULWARK_COOKBOOK_INVALID',
      `cookbook ${file} must export a cookbook as its default export: export default defineCookbook({...})`,
    );
  }
  return value;
}
