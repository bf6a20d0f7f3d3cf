/** A small line diff for showing content changes in plans and reports. */

const MAX_CELLS = 4_000_000;

/**
 * A unified-style diff of two texts (`-` removed, `+` added, two lines of context), or a one-line summary when the
 * texts are too large to compare line by line.
 */
export function unifiedDiff(before: string, after: string, context = 2): string {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  if (a.length * b.length > MAX_CELLS) {
    return `content differs (${before.length} bytes -> ${after.length} bytes)`;
  }
  // Longest common subsequence table, filled from the end.
  const n = a.length;
  const m = b.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[i] === b[j]
          ? (lcs[(i + 1) * (m + 1) + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j] ?? 0, lcs[i * (m + 1) + j + 1] ?? 0);
    }
  }
  const ops: { kind: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] ?? '' });
      i++;
      j++;
    } else if (j < m && (i >= n || (lcs[i * (m + 1) + j + 1] ?? 0) >= (lcs[(i + 1) * (m + 1) + j] ?? 0))) {
      ops.push({ kind: '+', line: b[j] ?? '' });
      j++;
    } else {
      ops.push({ kind: '-', line: a[i] ?? '' });
      i++;
    }
  }
  const keep = ops.map((_op, k) =>
    ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.kind !== ' '),
  );
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (keep[k]) {
      if (skipped && out.length > 0) out.push('@@');
      skipped = false;
      out.push(`${op.kind}${op.line}`);
    } else {
      skipped = true;
    }
  });
  if (!before.endsWith('\n') && before !== '' && after.endsWith('\n')) out.push('\\ added a final newline');
  return out.join('\n');
}
