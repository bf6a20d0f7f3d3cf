/**
 * The audit report as one self-contained HTML page: totals first, then each host with its failures on top and every
 * control expandable to its checks. No external assets and no script: filtering is done with CSS alone, and every
 * value from a profile or a host passes through `escapeHtml` (links also through an http(s)-only check).
 */
import {
  BUCKETS,
  type AuditReport,
  type AuditResult,
  type AuditStatus,
  type CheckResult,
  type StatusCounts,
} from '../audit/types.js';
import { countStatuses, groupByHost, isWaived, SEVERITIES, type HostGroup } from './audit-json.js';
import { httpUrl } from './common.js';

const HTML_ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Makes text safe in HTML content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITY[c] ?? c);
}

/** What a result shows as: its status, or `waived` for a failure under a waiver that has not expired. */
type Shown = AuditStatus | 'waived';

const SHOWN: Record<AuditStatus, { readonly label: string; readonly rank: number }> = {
  failed: { label: 'Failed', rank: 0 },
  error: { label: 'Error', rank: 1 },
  skipped: { label: 'Skipped', rank: 3 },
  passed: { label: 'Passed', rank: 4 },
};
const WAIVED = { label: 'Waived', rank: 2 };

function shown(r: AuditResult): Shown {
  return isWaived(r) ? 'waived' : r.status;
}

function info(s: Shown): { readonly label: string; readonly rank: number } {
  return s === 'waived' ? WAIVED : SHOWN[s];
}

/** Failures first, then errors, waived, skipped and passed; the most severe first within each. */
function byConcern(a: AuditResult, b: AuditResult): number {
  return (
    info(shown(a)).rank - info(shown(b)).rank ||
    b.impact - a.impact ||
    (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)
  );
}

const STATUS_COLUMNS: readonly (readonly [keyof StatusCounts, Shown, string])[] = [
  ['failed', 'failed', 'Failed'],
  ['errors', 'error', 'Errors'],
  ['waived', 'waived', 'Waived'],
  ['skipped', 'skipped', 'Skipped'],
  ['passed', 'passed', 'Passed'],
];

function noun(k: keyof StatusCounts, n: number): string {
  return k === 'errors' && n === 1 ? 'error' : k;
}

function total(c: StatusCounts): number {
  return c.passed + c.failed + c.skipped + c.errors + c.waived;
}

function countChips(c: StatusCounts): string {
  return STATUS_COLUMNS.filter(([k]) => c[k] > 0)
    .map(([k, s]) => `<span class="chip s-${s}">${c[k]} ${noun(k, c[k])}</span>`)
    .join(' ');
}

function breakdown(title: string, rows: readonly (readonly [string, StatusCounts])[]): string {
  const head = STATUS_COLUMNS.map(([, s, label]) => `<th class="s-${s}">${label}</th>`).join('');
  const body = rows
    .filter(([, c]) => total(c) > 0)
    .map(
      ([name, c]) =>
        `<tr><th scope="row">${escapeHtml(name)}</th>${STATUS_COLUMNS.map(
          ([k, s]) => `<td class="${c[k] > 0 ? `s-${s}` : 'zero'}">${c[k]}</td>`,
        ).join('')}</tr>`,
    )
    .join('');
  return `<table class="breakdown"><caption>${escapeHtml(title)}</caption><thead><tr><th></th>${head}</tr></thead><tbody>${body === '' ? '<tr><td colspan="6">No results</td></tr>' : body}</tbody></table>`;
}

function checkRow(c: CheckResult): string {
  const desc = `<td>${escapeHtml(c.description)}</td>`;
  switch (c.status) {
    case 'passed':
      return `<tr class="c-passed"><td class="mark">✓</td>${desc}<td colspan="2" class="muted">as expected</td></tr>`;
    case 'failed':
      return `<tr class="c-failed"><td class="mark">✗</td>${desc}<td><code>${escapeHtml(c.expected)}</code></td><td><code class="got">${escapeHtml(c.actual)}</code></td></tr>`;
    case 'error':
      return `<tr class="c-error"><td class="mark">!</td>${desc}<td colspan="2">${escapeHtml(c.message)}</td></tr>`;
  }
}

function waiverBlock(r: AuditResult): string {
  const w = r.waiver;
  if (w === undefined) return '';
  const who = [
    w.approver === undefined ? '' : `approved by ${escapeHtml(w.approver)}`,
    w.expires === undefined ? '' : `${w.expired ? 'expired' : 'expires'} ${escapeHtml(w.expires)}`,
  ]
    .filter((s) => s !== '')
    .join(' · ');
  const title = w.expired ? 'Waiver expired: this failure counts again' : 'Waived';
  return `<div class="waiver${w.expired ? ' expired' : ''}"><strong>${title}.</strong> ${escapeHtml(w.justification)}${who === '' ? '' : ` <span class="muted">(${who})</span>`}</div>`;
}

function resultBlock(r: AuditResult): string {
  const s = shown(r);
  const open = s === 'failed' || s === 'error' ? ' open' : '';
  const expiredMark = r.waiver?.expired === true ? ' <span class="chip s-failed">waiver expired</span>' : '';
  const summary =
    `<summary><span class="badge s-${s}">${info(s).label}</span>` +
    `<span class="sev sev-${r.severity}" title="impact ${escapeHtml(String(r.impact))}">${r.severity}</span>` +
    `<code class="addr">${escapeHtml(r.address)}</code> <span class="title">${escapeHtml(r.title)}</span>${expiredMark}` +
    `<span class="src">${escapeHtml(r.source)}</span></summary>`;
  const parts: string[] = [];
  if (r.message !== '') parts.push(`<p class="message">${escapeHtml(r.message)}</p>`);
  parts.push(waiverBlock(r));
  if (r.checks.length > 0)
    parts.push(
      `<table class="checks"><thead><tr><th></th><th>Check</th><th>Expected</th><th>Actual</th></tr></thead><tbody>${r.checks.map(checkRow).join('')}</tbody></table>`,
    );
  if (r.description !== undefined) parts.push(`<p class="description">${escapeHtml(r.description)}</p>`);
  const tags = Object.entries(r.tags).map(
    ([k, v]) =>
      `<li><span class="k">${escapeHtml(k)}</span>${(typeof v === 'string' ? [v] : v)
        .filter((x) => x !== '')
        .map((x) => ` ${escapeHtml(x)}`)
        .join(',')}</li>`,
  );
  const refs = r.refs.map((ref) => {
    const url = httpUrl(ref.url);
    const text = escapeHtml(ref.title ?? ref.url ?? '');
    return url === undefined
      ? `<li>${text}</li>`
      : `<li><a href="${escapeHtml(url)}" rel="noreferrer">${text}</a></li>`;
  });
  parts.push(
    `<dl class="facts"><dt>Bucket</dt><dd>${r.bucket}</dd><dt>Impact</dt><dd>${escapeHtml(String(r.impact))} (${r.severity})</dd><dt>Source</dt><dd>${escapeHtml(r.source)}</dd></dl>`,
  );
  if (tags.length > 0) parts.push(`<ul class="tags">${tags.join('')}</ul>`);
  if (refs.length > 0) parts.push(`<ul class="refs">${refs.join('')}</ul>`);
  return `<details class="result r-${s}"${open}>${summary}<div class="body">${parts.join('')}</div></details>`;
}

function hostSection(group: HostGroup, index: number): string {
  const h = group.host;
  const c = countStatuses(group.results);
  const meta: string[] = [];
  if (h !== undefined) {
    meta.push(escapeHtml(h.target));
    meta.push(`${h.roundTrips} round trip${h.roundTrips === 1 ? '' : 's'}`);
    meta.push(`${Math.round(h.durationMs)} ms`);
    if (h.facts !== undefined) {
      const f = h.facts;
      meta.push(escapeHtml(`${f.osId} ${f.osVersion} (${f.osCodename}) ${f.arch}, ${f.init}`));
    }
  }
  const error =
    h?.error === undefined
      ? ''
      : `<p class="host-error"><strong>${escapeHtml(h.error.code)}</strong>: ${escapeHtml(h.error.message)}</p>`;
  const results = [...group.results].sort(byConcern).map(resultBlock).join('\n');
  return `<section class="host" id="host-${index}">
<h2>${escapeHtml(group.name)} <span class="counts">${countChips(c)}</span></h2>
<p class="muted">${meta.join(' · ')}</p>
${error}
${results === '' ? '<p class="muted">No results.</p>' : results}
</section>`;
}

const CSS = `
:root{--bg:#f7f7f5;--card:#fff;--fg:#1d1d1f;--muted:#6b6b70;--line:#e2e2e0;--fail:#c62828;--err:#8e24aa;--waive:#b26a00;--skip:#607d8b;--pass:#2e7d32;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
@media (prefers-color-scheme:dark){:root{--bg:#161618;--card:#202024;--fg:#e8e8ea;--muted:#9a9aa2;--line:#34343a;--fail:#ff6b6b;--err:#d58cf0;--waive:#f0b45a;--skip:#90a4ae;--pass:#66bb6a}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg)}
main,header .wrap{max-width:1100px;margin:0 auto;padding:0 20px}
header{background:var(--card);border-bottom:1px solid var(--line);padding:18px 0 14px;margin-bottom:18px}
h1{margin:0 0 4px;font-size:1.5rem}h2{font-size:1.2rem;margin:0 0 2px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.muted{color:var(--muted)}code{font:0.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.totals{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0}
.total{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:92px}
.total b{display:block;font-size:1.6rem;line-height:1.1}.total span{color:var(--muted);font-size:.85rem}
.total.s-failed b{color:var(--fail)}.total.s-error b{color:var(--err)}.total.s-waived b{color:var(--waive)}.total.s-skipped b{color:var(--skip)}.total.s-passed b{color:var(--pass)}
.tables{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
table{border-collapse:collapse}.breakdown caption{text-align:left;font-weight:600;padding-bottom:4px}
.breakdown th,.breakdown td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:right}.breakdown th[scope=row]{text-align:left;font-weight:500}
.breakdown td.zero{color:var(--line)}
th.s-failed,td.s-failed{color:var(--fail)}th.s-error,td.s-error{color:var(--err)}th.s-waived,td.s-waived{color:var(--waive)}th.s-skipped,td.s-skipped{color:var(--skip)}th.s-passed,td.s-passed{color:var(--pass)}
.filters{margin-top:12px;display:flex;gap:14px;flex-wrap:wrap;font-size:.9rem}.filters label{cursor:pointer}
nav{margin:0 0 14px;display:flex;gap:8px;flex-wrap:wrap}nav a{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:4px 10px;color:inherit;text-decoration:none}
.host{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:18px}
.host>p{margin:2px 0 10px}.host-error{color:var(--fail);background:color-mix(in srgb,var(--fail) 10%,transparent);padding:8px 10px;border-radius:6px}
.chip{font-size:.78rem;font-weight:600;padding:1px 8px;border-radius:10px;border:1px solid currentColor;white-space:nowrap}
.chip.s-failed{color:var(--fail)}.chip.s-error{color:var(--err)}.chip.s-waived{color:var(--waive)}.chip.s-skipped{color:var(--skip)}.chip.s-passed{color:var(--pass)}
details.result{border-top:1px solid var(--line)}details.result:first-of-type{border-top:0}
summary{cursor:pointer;padding:7px 2px;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap;list-style-position:outside}
summary::-webkit-details-marker{color:var(--muted)}
.badge{font-size:.72rem;font-weight:700;text-transform:uppercase;letter-spacing:.04em;color:#fff;border-radius:4px;padding:2px 7px;min-width:64px;text-align:center}
.badge.s-failed{background:var(--fail)}.badge.s-error{background:var(--err)}.badge.s-waived{background:var(--waive)}.badge.s-skipped{background:var(--skip)}.badge.s-passed{background:var(--pass)}
.sev{font-size:.75rem;color:var(--muted);min-width:52px}.sev-critical,.sev-high{color:var(--fail);font-weight:600}.sev-medium{color:var(--waive)}
.addr{color:var(--muted)}.title{font-weight:500}.src{margin-left:auto;color:var(--muted);font-size:.8rem}
.body{padding:2px 0 12px 20px}.message{margin:4px 0}
.checks{width:100%;margin:6px 0;font-size:.92rem}.checks th{text-align:left;color:var(--muted);font-weight:500;border-bottom:1px solid var(--line);padding:3px 8px}
.checks td{padding:3px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}.checks .mark{width:1.5em;font-weight:700}
.c-passed .mark{color:var(--pass)}.c-failed .mark,.got{color:var(--fail)}.c-error .mark{color:var(--err)}
.waiver{margin:6px 0;padding:6px 10px;border-left:3px solid var(--waive);background:color-mix(in srgb,var(--waive) 10%,transparent)}
.waiver.expired{border-left-color:var(--fail);background:color-mix(in srgb,var(--fail) 10%,transparent)}
.description{color:var(--muted);white-space:pre-line}
.facts{display:flex;gap:4px 14px;flex-wrap:wrap;margin:6px 0;font-size:.85rem}.facts dt{color:var(--muted)}.facts dd{margin:0 8px 0 -8px}
.tags,.refs{list-style:none;padding:0;margin:6px 0;display:flex;gap:6px;flex-wrap:wrap;font-size:.82rem}
.tags li{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 6px}.tags .k{color:var(--muted)}
.refs li::before{content:"↗ ";color:var(--muted)}
footer{max-width:1100px;margin:0 auto 30px;padding:0 20px;color:var(--muted);font-size:.9rem}
${STATUS_COLUMNS.map(([, s]) => `body:has(#show-${s}:not(:checked)) .r-${s}`).join(',')}{display:none}
`;

/** The report as one self-contained HTML page. */
export function toHtml(report: AuditReport): string {
  const s = report.summary;
  const groups = groupByHost(report);
  const totals = [
    `<div class="total"><b>${s.total}</b><span>results</span></div>`,
    ...STATUS_COLUMNS.map(
      ([k, st, label]) =>
        `<div class="total s-${st}"><b>${s[k]}</b><span>${label.toLowerCase()}</span></div>`,
    ),
  ].join('');
  const sources = report.sources
    .map(
      (src) =>
        `${escapeHtml(src.title === '' ? src.name : src.title)} <span class="muted">(${src.kind} ${escapeHtml(src.name)}${src.version === undefined ? '' : ` ${escapeHtml(src.version)}`})</span>`,
    )
    .join(', ');
  const filters = STATUS_COLUMNS.map(
    ([, st, label]) => `<label><input type="checkbox" id="show-${st}" checked> ${label}</label>`,
  ).join('');
  const nav = groups
    .map((g, i) => `<a href="#host-${i}">${escapeHtml(g.name)} ${countChips(countStatuses(g.results))}</a>`)
    .join('');
  const notes = [
    ...report.unusedWaivers.map((w) => `<li>Waiver matched no control: ${escapeHtml(w)}</li>`),
    ...report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`),
  ];
  const failing = s.failed + s.errors;
  const title = `Bulwark audit: ${failing === 0 ? 'all clear' : `${s.failed} failed, ${s.errors} ${noun('errors', s.errors)}`} on ${groups.length} host${groups.length === 1 ? '' : 's'}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bulwark">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><div class="wrap">
<h1>${escapeHtml(title)}</h1>
<p class="muted">Started ${escapeHtml(report.startedAt)} · took ${Math.round(report.durationMs)} ms${sources === '' ? '' : ` · ${sources}`}</p>
<div class="totals">${totals}</div>
<div class="tables">
${breakdown(
  'By bucket',
  BUCKETS.map((b) => [b, s.byBucket[b]] as const),
)}
${breakdown(
  'By severity',
  SEVERITIES.map((v) => [v, s.bySeverity[v]] as const),
)}
</div>
<div class="filters"><span class="muted">Show:</span>${filters}</div>
</div></header>
<main>
<nav>${nav}</nav>
${groups.map(hostSection).join('\n')}
</main>
${notes.length === 0 ? '' : `<footer><h3>Notes</h3><ul>${notes.join('')}</ul></footer>`}
</body>
</html>
`;
}
