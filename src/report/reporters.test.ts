import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditReport } from '../audit/types.js';
import { isBulwarkError } from '../errors.js';
import { junitCounts, parseJunit, twoHostAudit } from '../testing/audit-fixture.js';
import { validateSarif } from '../testing/sarif-schema.js';
import { makeStyle } from './style.js';
import { parseReporterSpecs, writeReports } from './reporters.js';

test('no reporter specs means the text report on standard output', () => {
  assert.deepEqual(parseReporterSpecs([]), [{ kind: 'cli' }]);
});

test('reporter specs take an optional path after the first colon', () => {
  assert.deepEqual(
    parseReporterSpecs(['cli', 'json:out/a.json', 'junit:r.xml', 'sarif:a:b.sarif', 'html:r.html']),
    [
      { kind: 'cli' },
      { kind: 'json', path: 'out/a.json' },
      { kind: 'junit', path: 'r.xml' },
      { kind: 'sarif', path: 'a:b.sarif' },
      { kind: 'html', path: 'r.html' },
    ],
  );
  assert.deepEqual(parseReporterSpecs(['json']), [{ kind: 'json' }]);
});

test('bad reporter specs are refused with a usage error that says what to write', () => {
  const cases: [string[], RegExp][] = [
    [['xml:a'], /Unknown reporter 'xml:a'/],
    [['cli', 'json'], /Only one reporter can write to standard output/],
    [['sarif'], /needs a file: write sarif:PATH/],
    [['junit'], /junit:audit\.xml/],
    [['json:'], /empty or unusable path/],
    [['json:a\nb'], /empty or unusable path/],
    [['json:x.json', 'html:./x.json'], /Two reporters write to \.\/x\.json/],
  ];
  for (const [specs, message] of cases) {
    assert.throws(
      () => parseReporterSpecs(specs),
      (e: unknown) => isBulwarkError(e, 'BULWARK_USAGE') && message.test(e.message),
      specs.join(' '),
    );
  }
});

test('writeReports writes every format, each parsing back to the same audit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const report = twoHostAudit();
  let stdout = '';
  const specs = parseReporterSpecs([
    'cli',
    `json:${join(dir, 'audit.json')}`,
    `junit:${join(dir, 'junit', 'audit.xml')}`,
    `sarif:${join(dir, 'audit.sarif')}`,
    `html:${join(dir, 'audit.html')}`,
  ]);
  const written = await writeReports(report, specs, {
    stdout: { write: (s: string) => (stdout += s) },
    style: makeStyle(false),
    toolVersion: '0.1.0',
  });
  assert.equal(written.length, 4);
  assert.deepEqual((await readdir(dir)).sort(), ['audit.html', 'audit.json', 'audit.sarif', 'junit']);
  assert.deepEqual(await readdir(join(dir, 'junit')), ['audit.xml'], 'no temporary file is left behind');

  assert.match(stdout, /^Audit of 2 hosts against cis-debian, hardening\n/);
  assert.match(stdout, /13 results: 4 passed, 5 failed, 2 skipped, 1 error, 1 waived/);

  assert.deepEqual(JSON.parse(await readFile(join(dir, 'audit.json'), 'utf8')), report);

  // parseJunit asserts that the XML is well-formed.
  const junit = parseJunit(await readFile(join(dir, 'junit', 'audit.xml'), 'utf8'));
  assert.deepEqual(junitCounts(junit.suites), ['13', '5', '1', '3']);
  assert.deepEqual(
    junit.suite.map((s) => s['name']),
    ['web1/cis-debian', 'web1/hardening', 'db-2/cis-debian', 'db-2/hardening'],
  );
  const firstSuiteCases = (junit.suite[0]?.['testcase'] ?? []) as { name: string }[];
  assert.ok(firstSuiteCases.some((c) => c.name === 'control[<script>alert(1)</script>]'));

  const sarif = JSON.parse(await readFile(join(dir, 'audit.sarif'), 'utf8')) as {
    runs: { results: unknown[]; tool: { driver: { rules: unknown[] } } }[];
  };
  assert.deepEqual(validateSarif(sarif), []);
  assert.equal(sarif.runs[0]?.results.length, 7, '6 failures (one waived) and 1 error');
  assert.equal(sarif.runs[0]?.tool.driver.rules.length, 9, 'one rule per distinct address');

  const html = await readFile(join(dir, 'audit.html'), 'utf8');
  assert.doesNotMatch(html, /<script>alert/);
  assert.doesNotMatch(html, /javascript:/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &quot;quoted&quot; &amp; &#39;single&#39;/);
});

test('a cli report written to a file is never coloured, whatever the terminal style', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeReports(twoHostAudit(), [{ kind: 'cli', path: join(dir, 'audit.txt') }], {
    stdout: { write: () => assert.fail('nothing goes to standard output') },
    style: makeStyle(true),
    verbose: true,
    toolVersion: '0.1.0',
  });
  const text = await readFile(join(dir, 'audit.txt'), 'utf8');
  assert.ok(!text.includes('\u001b['));
  assert.match(text, /ok sshd Protocol is 2/, 'verbose shows passed checks');
});

test('a report that cannot be written fails with a usage error naming the file and leaves nothing behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'not-a-dir'), 'x');
  await assert.rejects(
    writeReports(twoHostAudit(), [{ kind: 'json', path: join(dir, 'not-a-dir', 'audit.json') }], {
      stdout: { write: () => true },
      style: makeStyle(false),
      toolVersion: '0.1.0',
    }),
    (e: unknown) =>
      isBulwarkError(e, 'BULWARK_USAGE') && /Could not write the json report to .*not-a-dir/.test(e.message),
  );
  assert.deepEqual(await readdir(dir), ['not-a-dir']);
});

test('writing a report over an existing file replaces it whole', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-reports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.json');
  await writeFile(path, 'old contents that are longer than nothing');
  await writeReports(twoHostAudit(), [{ kind: 'json', path }], {
    stdout: { write: () => true },
    style: makeStyle(false),
    toolVersion: '0.1.0',
  });
  assert.equal((JSON.parse(await readFile(path, 'utf8')) as AuditReport).kind, 'bulwark.audit');
  assert.deepEqual(await readdir(dir), ['audit.json']);
});
