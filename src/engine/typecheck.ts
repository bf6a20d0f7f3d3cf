/**
 * Type-checks a cookbook with the TypeScript compiler, as the editor would, with `bulwark` bound to this
 * installation's type declarations. Results are cached by the content of every input file, so a cookbook is
 * checked once per change and repeated runs stay fast. Loaded only on a cache miss.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';
import { cacheRoot, PACKAGE_TYPES } from './load.js';

function cacheDir(): string {
  return join(cacheRoot(), 'typecheck');
}

/** Type-checks `file` unless a check of exactly these inputs already passed. */
export async function typecheckCached(file: string, hash: string, what = 'cookbook'): Promise<void> {
  const stamp = join(cacheDir(), hash);
  if (existsSync(stamp)) return;
  await typecheck(file, what);
  try {
    mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
    writeFileSync(stamp, `${file}\n`);
  } catch {
    // An unwritable cache only costs speed.
  }
}

/**
 * The type errors of `files`, checked together as the editor would check cookbooks (strict, `bulwark` bound to
 * this installation's declarations), each as `file:line:column: message`, at most 50.
 */
export async function typeErrors(files: readonly string[]): Promise<{ count: number; lines: string[] }> {
  const ts = (await import('typescript')).default;
  const options: import('typescript').CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    types: [],
    baseUrl: '/',
    paths: { bulwark: [PACKAGE_TYPES] },
  };
  const program = ts.createProgram([...files], options);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error);
  const lines = diagnostics.slice(0, 50).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1}:${character + 1}: ${text}`;
  });
  return { count: diagnostics.length, lines };
}

/**
 * Type-checks one cookbook (or profile, inventory: `what` names it in the message) and throws
 * BULWARK_COOKBOOK_TYPECHECK listing every error.
 */
export async function typecheck(file: string, what = 'cookbook'): Promise<void> {
  const { count, lines } = await typeErrors([file]);
  if (count === 0) return;
  throw new BulwarkError(
    'BULWARK_COOKBOOK_TYPECHECK',
    `${what} ${file} has ${count} type error${count === 1 ? '' : 's'}:\n${lines.join('\n')}\n` +
      '(fix them, or run with --no-typecheck to skip the check)',
  );
}
