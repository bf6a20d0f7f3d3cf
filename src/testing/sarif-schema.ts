/**
 * Checks a SARIF log against the official SARIF 2.1.0 schema, for tests of anything that writes SARIF. Test-only;
 * imports ajv and the schema file shipped with @microsoft/jest-sarif (both dev dependencies).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

let compiled: ValidateFunction | undefined;

/**
 * The official SARIF 2.1.0 schema, compiled once. It is draft-04, which ajv 8 reads once its `$schema`/`id` are given
 * ajv's spelling; its `uri`, `uri-reference` and `date-time` formats are checked by hand-written rules.
 */
function sarifValidator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const path = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  const { id, ...schema } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete schema['$schema'];
  // unicodeRegExp: false because one of the schema's patterns is not a valid unicode-mode regular expression.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addFormat('uri-reference', (s: string) => !/\s/.test(s));
  ajv.addFormat('date-time', (s: string) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s),
  );
  compiled = ajv.compile({ ...schema, $id: String(id) });
  return compiled;
}

/**
 * Where `log` breaks the SARIF 2.1.0 schema, one line per violation (`/runs/0/results/0/level must be equal to one of
 * the allowed values`); empty when it is a valid log. Pass the log as JSON would read it back (plain data).
 */
export function validateSarif(log: unknown): string[] {
  const validate = sarifValidator();
  if (validate(log)) return [];
  const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  return errors.length > 0 ? errors : ['/ does not match the SARIF 2.1.0 schema'];
}
