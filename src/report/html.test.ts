import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, auditResult } from '../testing/audit-fixture.js';
import { escapeHtml, toHtml } from './html.js';

const HOSTILE = `<script>alert(1)</script>" onmouseover="alert(2)' x='`;

const results = [
  auditResult({ address: 'control[pass]', status: 'passed', title: 'Passing control' }),
  auditResult({
    address: 'control[ssh-07]',
    status: 'failed',
    severity: 'high',
    impact: 0.8,
    title: 'Disable root login',
    description: 'Root logins hide who did what.',
    message: '1 of 2 checks failed',
    checks: [
      { status: 'passed', description: 'sshd Protocol' },
      { status: 'failed', description: 'sshd PermitRootLogin', expected: 'no', actual: 'yes' },
      { status: 'error', description: 'sshd effective config', message: 'exit 255' },
    ],
    tags: { nist: ['AC-6', 'IA-2'] },
    refs: [
      { title: 'CIS 5.2.10', url: 'https://www.cisecurity.org/?a=1&b=2' },
      { title: 'sneaky', url: 'javascript:alert(3)' },
    ],
  }),
  auditResult({ address: 'control[err]', status: 'error', message: 'sshd -T exited 255' }),
  auditResult({ address: 'control[skip]', status: 'skipped', message: 'not systemd' }),
  auditResult({
    address: 'control[waived]',
    status: 'failed',
    title: 'Waived control',
    waiver: {
      justification: 'Legacy partner upload',
      approver: 'alice',
      expires: '2099-01-01',
      expired: false,
    },
  }),
  auditResult({
    address: 'control[expired]',
    status: 'failed',
    title: 'Expired waiver control',
    waiver: { justification: 'Vendor fix due', expires: '2020-01-01', expired: true },
  }),
  auditResult({
    address: `control[${HOSTILE}]`,
    host: HOSTILE,
    status: 'failed',
    title: HOSTILE,
    message: HOSTILE,
    source: HOSTILE,
    checks: [{ status: 'failed', description: HOSTILE, expected: HOSTILE, actual: HOSTILE }],
    tags: { [HOSTILE]: [HOSTILE] },
    refs: [{ title: HOSTILE, url: `https://example.org/"><script>alert(4)</script>` }],
    waiver: { justification: HOSTILE, approver: HOSTILE, expires: HOSTILE, expired: true },
  }),
];
const hosts = [
  { name: 'web1', target: 'ssh:root@web1', roundTrips: 1, durationMs: 812 },
  {
    name: HOSTILE,
    target: HOSTILE,
    roundTrips: 2,
    durationMs: 5,
    error: { code: 'BULWARK_PROBE_FAILED', message: HOSTILE },
  },
];
const html = toHtml(auditReport(results, { hosts, warnings: [HOSTILE], unusedWaivers: [HOSTILE] }));

test('escapeHtml escapes every character that can open a tag or end an attribute', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&amp;</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
  );
  assert.equal(escapeHtml('plain text 🔒'), 'plain text 🔒');
});

test('hostile titles, hosts, tags, waivers and links are shown as text, never as markup', () => {
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /onmouseover="/);
  assert.doesNotMatch(html, /javascript:/);
  assert.ok(
    html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;alert(2)&#39; x=&#39;'),
  );
  // The only tags in the page are the reporter's own.
  const tags = new Set([...html.matchAll(/<([a-z0-9]+)/g)].map((m) => m[1]));
  const allowed =
    'b html head meta title style body header div h1 h2 h3 p span table caption thead tbody tr th td label input nav a main section details summary code strong dl dt dd ul li footer';
  for (const tag of tags) assert.ok(allowed.split(' ').includes(tag ?? ''), `unexpected <${tag}>`);
});

test('links are only made for http(s) references, with their URL escaped', () => {
  assert.ok(
    html.includes('<a href="https://www.cisecurity.org/?a=1&amp;b=2" rel="noreferrer">CIS 5.2.10</a>'),
  );
  assert.ok(html.includes('<li>sneaky</li>'));
  assert.ok(html.includes('href="https://example.org/%22%3E%3Cscript%3Ealert(4)%3C/script%3E"'));
});

test('the page is self-contained: no external stylesheets, scripts, images or fonts', () => {
  assert.doesNotMatch(html, /<link|<img|<script|@import|url\(/i);
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.match(html, /<meta charset="utf-8">/);
});

test('the header shows totals and the bucket and severity breakdowns', () => {
  assert.match(html, /<title>Bulwark audit: 3 failed, 1 error on 2 hosts<\/title>/);
  assert.match(html, /<div class="total"><b>7<\/b><span>results<\/span><\/div>/);
  assert.match(html, /<div class="total s-failed"><b>3<\/b><span>failed<\/span><\/div>/);
  assert.match(html, /<div class="total s-waived"><b>1<\/b><span>waived<\/span><\/div>/);
  assert.match(
    html,
    /<caption>By bucket<\/caption>.*<th scope="row">configuration<\/th><td class="s-failed">3<\/td>/s,
  );
  assert.match(
    html,
    /<caption>By severity<\/caption>.*<th scope="row">high<\/th><td class="s-failed">1<\/td>/s,
  );
});

test('each host has a section with failures first, open, and passed controls last, collapsed', () => {
  const web1 = html.slice(
    html.indexOf('<section class="host" id="host-0">'),
    html.indexOf('<section class="host" id="host-1">'),
  );
  assert.match(web1, /1 round trip · 812 ms/);
  const order = [...web1.matchAll(/<details class="result r-([a-z]+)"( open)?>/g)].map(
    (m) => `${m[1]}${m[2] ?? ''}`,
  );
  assert.deepEqual(order, ['failed open', 'failed open', 'error open', 'waived', 'skipped', 'passed']);
  assert.ok(web1.indexOf('control[ssh-07]') < web1.indexOf('control[expired]'), 'high before medium');
});

test('checks show expected against actual, and waivers and expired waivers are visible', () => {
  assert.match(
    html,
    /<td>sshd PermitRootLogin<\/td><td><code>no<\/code><\/td><td><code class="got">yes<\/code><\/td>/,
  );
  assert.match(html, /<td>sshd effective config<\/td><td colspan="2">exit 255<\/td>/);
  assert.match(
    html,
    /<div class="waiver"><strong>Waived.<\/strong> Legacy partner upload <span class="muted">\(approved by alice · expires 2099-01-01\)/,
  );
  assert.match(
    html,
    /<div class="waiver expired"><strong>Waiver expired: this failure counts again.<\/strong> Vendor fix due/,
  );
  assert.match(html, /<li><span class="k">nist<\/span> AC-6, IA-2<\/li>/);
});

test('an unreachable host shows its error, and filters work without script', () => {
  assert.match(html, /<p class="host-error"><strong>BULWARK_PROBE_FAILED<\/strong>: &lt;script&gt;/);
  assert.match(html, /body:has\(#show-passed:not\(:checked\)\) \.r-passed/);
  assert.match(html, /<input type="checkbox" id="show-passed" checked>/);
});
