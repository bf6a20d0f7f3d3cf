/**
 * The audit reporters the CLI can ask for (`--reporter cli json:out.json sarif:out.sarif`), and writing them:
 * at most one to standard output, every file written atomically so a CI job never reads half a report.
 */
import { crypto } from '../builtins.js';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { AuditReport } from '../audit/types.js';
import { BulwarkError } from '../errors.js';
import { formatJson } from './audit-json.js';
import { formatAuditReport } from './audit-text.js';
import { makeStyle, type Style } from './style.js';

/** The kinds of audit report Bulwark writes. */
export type ReporterKind = 'cli' | 'json' | 'junit' | 'sarif' | 'html';

/** One requested report: its kind and where it goes (standard output when `path` is absent). */
export interface ReporterSpec {
  readonly kind: ReporterKind;
  readonly path?: string;
}

/** Which reporters may write to standard output when no path is given. */
const STDOUT_OK: Record<ReporterKind, boolean> = {
  cli: true,
  json: true,
  junit: false,
  sarif: false,
  html: false,
};

function isKind(s: string): s is ReporterKind {
  return Object.hasOwn(STDOUT_OK, s);
}

/**
 * Parses `--reporter` values such as `cli`, `json`, `json:PATH`, `junit:PATH`, `sarif:PATH`, `html:PATH`.
 * No specs means `cli`. Throws BULWARK_USAGE for an unknown kind, a missing path, two reports on standard output
 * or two reports to one file.
 */
export function parseReporterSpecs(specs: readonly string[]): ReporterSpec[] {
  if (specs.length === 0) return [{ kind: 'cli' }];
  const parsed: ReporterSpec[] = [];
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    const kind = colon === -1 ? spec : spec.slice(0, colon);
    const path = colon === -1 ? undefined : spec.slice(colon + 1);
    const kinds = Object.keys(STDOUT_OK).join(', ');
    if (!isKind(kind))
      throw new BulwarkError(
        'BULWARK_USAGE',
        `Unknown reporter '${spec}': use one of ${kinds}, optionally as KIND:PATH.`,
      );
    if (path !== undefined && (path === '' || /[\n\r]/.test(path) || path.includes('\u0000')))
      throw new BulwarkError(
        'BULWARK_USAGE',
        `Reporter '${spec}' has an empty or unusable path: write ${kind}:PATH.`,
      );
    if (path === undefined && !STDOUT_OK[kind])
      throw new BulwarkError(
        'BULWARK_USAGE',
        `Reporter '${kind}' needs a file: write ${kind}:PATH, e.g. ${kind}:audit.${kind === 'junit' ? 'xml' : kind}.`,
      );
    parsed.push(path === undefined ? { kind } : { kind, path });
  }
  const toStdout = parsed.filter((s) => s.path === undefined);
  if (toStdout.length > 1)
    throw new BulwarkError(
      'BULWARK_USAGE',
      `Only one reporter can write to standard output, but ${toStdout.map((s) => s.kind).join(' and ')} both would: give the others a path (KIND:PATH).`,
    );
  const seen = new Set<string>();
  for (const s of parsed) {
    if (s.path === undefined) continue;
    const key = resolve(s.path);
    if (seen.has(key))
      throw new BulwarkError('BULWARK_USAGE', `Two reporters write to ${s.path}: give each its own file.`);
    seen.add(key);
  }
  return parsed;
}

/** Where and how `writeReports` writes. */
export interface WriteReportsOptions {
  /** Where reports without a path go. */
  readonly stdout: { write(text: string): unknown };
  /** Colours for the `cli` reporter on standard output; a `cli` report written to a file is never coloured. */
  readonly style: Style;
  /** Passed to the `cli` reporter. @default false */
  readonly verbose?: boolean;
  /** Bulwark's version, for the SARIF log. */
  readonly toolVersion: string;
}

/** The report in one format, as text. */
export async function renderReport(
  report: AuditReport,
  kind: ReporterKind,
  options: { style: Style; verbose?: boolean; toolVersion: string },
): Promise<string> {
  // The two formats for standard output, one of which nearly every run prints, are part of this module; the
  // file formats' code is loaded only when asked for.
  switch (kind) {
    case 'cli':
      return `${formatAuditReport(report, options.style, { verbose: options.verbose ?? false })}\n`;
    case 'json':
      return formatJson(report);
    case 'junit':
      return (await import('./junit.js')).toJunit(report);
    case 'sarif': {
      const { toSarif } = await import('./sarif.js');
      return `${JSON.stringify(toSarif(report, { toolVersion: options.toolVersion }), null, 2)}\n`;
    }
    case 'html':
      return (await import('./html.js')).toHtml(report);
  }
}

/** Writes `text` to `path` through a temporary file beside it, so readers see the old file or the whole new one. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { mode: 0o644, flag: 'wx' });
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

/** Writes every requested report; returns the files written. Throws BULWARK_USAGE when a file cannot be written. */
export async function writeReports(
  report: AuditReport,
  specs: readonly ReporterSpec[],
  options: WriteReportsOptions,
): Promise<string[]> {
  const written: string[] = [];
  for (const spec of specs) {
    if (spec.path === undefined) {
      options.stdout.write(await renderReport(report, spec.kind, options));
      continue;
    }
    const text = await renderReport(report, spec.kind, { ...options, style: makeStyle(false) });
    try {
      await writeFileAtomic(spec.path, text);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new BulwarkError(
        'BULWARK_USAGE',
        `Could not write the ${spec.kind} report to ${spec.path}: ${why}`,
        {
          cause: e,
        },
      );
    }
    written.push(spec.path);
  }
  return written;
}
