/**
 * Loads a TypeScript cookbook at run time: esbuild bundles it with its relative imports (the `bulwark` import is
 * bound to this very installation), optional type-checking catches what the editor would, and the module is
 * imported from memory. No tsc step for users.
 */
import { crypto } from '../builtins.js';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyCookbook } from '../dsl/cookbook.js';
import { isCookbook } from '../dsl/cookbook.js';
import { BulwarkError } from '../errors.js';

/** The root of this installation: the nearest folder above this module holding Bulwark's package.json. */
function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'bulwark') return dir;
    } catch {
      // no package.json here
    }
    if (dirname(dir) === dir) throw new Error(`cannot find Bulwark's package.json above ${start}`);
  }
}

/** The folder of this installation (it holds package.json and dist/). */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
/** The type declarations cookbooks are checked against as `bulwark`. */
export const PACKAGE_TYPES = join(PACKAGE_ROOT, 'dist', 'index.d.ts');

let runtimeEntry = join(PACKAGE_ROOT, 'dist', 'index.js');

/**
 * Binds the `bulwark` import of cookbooks to a module. The bundled CLI binds it to itself, so a cookbook and the
 * engine share one module instance and nothing is loaded twice. @default dist/index.js
 */
export function setRuntimeEntry(path: string): void {
  runtimeEntry = path;
}

/** Options for loading. */
export interface LoadOptions {
  /** Type-check the cookbook (cached by content, so only changed cookbooks pay for it). @default true */
  readonly typecheck?: boolean;
  /** What the file is, for messages: `cookbook`, `profile`... @default 'cookbook' */
  readonly what?: string;
}

/** A bundled module: its code and the files it was built from. */
export interface Bundle {
  readonly code: string;
  readonly inputs: readonly string[];
}

/** Bundles a TypeScript module and its relative imports into one ESM string. */
export async function bundle(file: string, what = 'cookbook'): Promise<Bundle> {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new BulwarkError('BULWARK_COOKBOOK_NOT_FOUND', `${what} ${file} does not exist or is not a file`);
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
            build.onResolve({ filter: /^bulwark$/ }, () => ({
              path: pathToFileURL(runtimeEntry).href,
              external: true,
            }));
          },
        },
      ],
    });
    const out = result.outputFiles[0];
    if (out === undefined) throw new Error('esbuild produced no output');
    return { code: out.text, inputs: Object.keys(result.metafile.inputs).map((p) => resolve(p)) };
  } catch (e) {
    const errors = (
      e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }
    ).errors;
    const detail =
      errors
        ?.map((m) =>
          m.location
            ? `${resolve(m.location.file)}:${m.location.line}:${m.location.column}: ${m.text}`
            : m.text,
        )
        .join('\n') ?? String(e);
    throw new BulwarkError('BULWARK_COOKBOOK_COMPILE', `${what} ${file} does not compile:\n${detail}`, {
      cause: e,
    });
  }
}

/** Imports bundled code from memory and returns the module's default export. */
export async function importBundle(code: string, file: string, what = 'cookbook'): Promise<unknown> {
  try {
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as {
      default?: unknown;
    };
    return mod.default;
  } catch (e) {
    throw new BulwarkError('BULWARK_COOKBOOK_COMPILE', `${what} ${file} failed while loading: ${String(e)}`, {
      cause: e,
    });
  }
}

/** A hash of the bundle's inputs and this installation, naming the type-check cache entry. */
export function inputsHash(inputs: readonly string[]): string {
  const h = crypto().createHash('sha256');
  h.update(PACKAGE_TYPES);
  h.update(readFileSync(join(PACKAGE_ROOT, 'package.json')));
  for (const p of [...inputs].sort()) {
    h.update(p);
    h.update('\0');
    h.update(readFileSync(p));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Where bundles are cached: per user, outside the project. */
export function cacheRoot(): string {
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'bulwark');
}

interface CachedBundle {
  readonly entry: string;
  readonly installation: string;
  readonly inputs: readonly { readonly path: string; readonly size: number; readonly mtimeMs: number }[];
  readonly code: string;
  readonly typechecked: boolean;
}

function bundleCachePath(entry: string): string {
  return join(
    cacheRoot(),
    'bundles',
    `${crypto().createHash('sha256').update(entry).digest('hex').slice(0, 32)}.json`,
  );
}

function fingerprint(path: string): { path: string; size: number; mtimeMs: number } {
  const st = statSync(path);
  return { path, size: st.size, mtimeMs: st.mtimeMs };
}

/** A cached bundle whose every input is unchanged (same size and modification time), if there is one. */
function readCachedBundle(entry: string): CachedBundle | undefined {
  try {
    const cached = JSON.parse(readFileSync(bundleCachePath(entry), 'utf8')) as CachedBundle;
    if (cached.entry !== entry || cached.installation !== runtimeEntry) return undefined;
    for (const input of cached.inputs) {
      const now = fingerprint(input.path);
      if (now.size !== input.size || now.mtimeMs !== input.mtimeMs) return undefined;
    }
    return cached;
  } catch {
    return undefined;
  }
}

function writeCachedBundle(entry: CachedBundle): void {
  try {
    const path = bundleCachePath(entry.entry);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // An unwritable cache only costs speed.
  }
}

/**
 * Loads a TypeScript module (a cookbook or a profile), checks its types unless told not to, and returns its
 * default export. The bundle and the fact that it type-checked are cached until one of its input files changes,
 * so repeated runs skip esbuild and the compiler entirely.
 */
export async function loadDefaultExport(file: string, options: LoadOptions = {}): Promise<unknown> {
  const entry = resolve(file);
  const wantCheck = options.typecheck !== false;
  const what = options.what ?? 'cookbook';
  let cached = existsSync(entry) ? readCachedBundle(entry) : undefined;
  if (cached === undefined || (wantCheck && !cached.typechecked)) {
    const { code, inputs } = await bundle(file, what);
    if (wantCheck) {
      const { typecheckCached } = await import('./typecheck.js');
      await typecheckCached(entry, inputsHash(inputs), what);
    }
    cached = {
      entry,
      installation: runtimeEntry,
      inputs: inputs.map(fingerprint),
      code,
      typechecked: wantCheck,
    };
    writeCachedBundle(cached);
  }
  return importBundle(cached.code, file, what);
}

/** Loads a cookbook module and returns its default export, which must be a cookbook. */
export async function loadCookbook(file: string, options: LoadOptions = {}): Promise<AnyCookbook> {
  const value = await loadDefaultExport(file, options);
  if (!isCookbook(value)) {
    throw new BulwarkError(
      'BULWARK_COOKBOOK_INVALID',
      `cookbook ${file} must export a cookbook as its default export: export default defineCookbook({...})`,
    );
  }
  return value;
}
