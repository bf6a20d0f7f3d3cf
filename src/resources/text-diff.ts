/** The unified line diff that plans and reports show for content changes (`file`, `keyValue`, `configLine`). */

// One operation of a line diff: keep, delete (from a) or insert (from b), with its index in a and in b.
type DiffOp = { readonly op: ' ' | '-' | '+'; readonly text: string; readonly a: number; readonly b: number };

// Above this many cells the middle of a diff is shown as replaced wholesale instead of aligned line by line.
const MAX_LCS_CELLS = 4_000_000;

function diffOps(a: readonly string[], b: readonly string[]): DiffOp[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++;
  const ops: DiffOp[] = [];
  for (let i = 0; i < pre; i++) ops.push({ op: ' ', text: a[i] ?? '', a: i, b: i });
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  if (n * m > MAX_LCS_CELLS) {
    am.forEach((text, i) => ops.push({ op: '-', text, a: pre + i, b: pre }));
    bm.forEach((text, j) => ops.push({ op: '+', text, a: pre + n, b: pre + j }));
  } else {
    // lcs[i * (m + 1) + j] = length of the longest common subsequence of am[i..] and bm[j..].
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          am[i] === bm[j]
            ? (lcs[(i + 1) * (m + 1) + j + 1] ?? 0) + 1
            : Math.max(lcs[(i + 1) * (m + 1) + j] ?? 0, lcs[i * (m + 1) + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push({ op: ' ', text: am[i] ?? '', a: pre + i, b: pre + j });
        i++;
        j++;
      } else if (j < m && (i === n || (lcs[i * (m + 1) + j + 1] ?? 0) > (lcs[(i + 1) * (m + 1) + j] ?? 0))) {
        ops.push({ op: '+', text: bm[j] ?? '', a: pre + i, b: pre + j });
        j++;
      } else {
        ops.push({ op: '-', text: am[i] ?? '', a: pre + i, b: pre + j });
        i++;
      }
    }
  }
  for (let k = 0; k < suf; k++) {
    ops.push({ op: ' ', text: a[a.length - suf + k] ?? '', a: a.length - suf + k, b: b.length - suf + k });
  }
  return ops;
}

/**
 * The lines of a text as a diff shows them: a CRLF ending as a visible `\r`, and a last line without an ending
 * followed by `\ No newline at end of file`, so that changing either one shows as a changed line.
 */
function shownLines(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  const last = parts.pop() ?? '';
  const lines = parts.map((l) => (l.endsWith('\r') ? `${l.slice(0, -1)}\\r` : l));
  if (last !== '') lines.push(`${last}\n\\ No newline at end of file`);
  return lines;
}

function range(start: number, count: number): string {
  // Unified diff numbers lines from 1; an empty range names the line before it.
  const first = count === 0 ? start : start + 1;
  return count === 1 ? String(first) : `${first},${count}`;
}

/** Options for `unifiedDiff`. */
export interface UnifiedDiffOptions {
  /** The name shown in the `---`/`+++` header lines. @default no header */
  readonly path?: string;
  /** Unchanged lines shown around each change. @default 3 */
  readonly context?: number;
  /** Whether the old text is a file that does not exist yet (header `--- /dev/null`). @default false */
  readonly created?: boolean;
}

/**
 * A unified diff of two texts, line by line, with `@@` hunks; `''` when they are equal. A change of line ending
 * only shows as `\r` at the end of a line, and a missing final newline as `\ No newline at end of file`. Texts too
 * large to align line by line show their differing middle as removed and added wholesale.
 */
export function unifiedDiff(before: string, after: string, options: UnifiedDiffOptions = {}): string {
  if (before === after) return '';
  const context = options.context ?? 3;
  const ops = diffOps(shownLines(before), shownLines(after));
  const out: string[] = [];
  if (options.path !== undefined) {
    out.push(`--- ${options.created === true ? '/dev/null' : options.path}`, `+++ ${options.path}`);
  }
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k]?.op === ' ') k++;
    if (k >= ops.length) break;
    const start = Math.max(0, k - context);
    let end = k;
    // Extend the hunk while the next change is within twice the context of the last one.
    for (;;) {
      while (end < ops.length && ops[end]?.op !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]?.op === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    end = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, end);
    const first = hunk[0];
    const aCount = hunk.filter((o) => o.op !== '+').length;
    const bCount = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(first?.a ?? 0, aCount)} +${range(first?.b ?? 0, bCount)} @@`);
    for (const o of hunk) out.push(`${o.op}${o.text}`);
    k = end;
  }
  return out.join('\n') + '\n';
}
