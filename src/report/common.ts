/**
 * Small rules the JUnit, SARIF and HTML reporters share, so that they word a check and pick a link alike. Counting
 * rules live in audit-json.ts.
 */
import type { CheckResult } from '../audit/types.js';

/** A check as one plain line (`sshd PermitRootLogin: expected no / got yes`); undefined for a passed check. */
export function checkText(c: CheckResult): string | undefined {
  switch (c.status) {
    case 'passed':
      return undefined;
    case 'failed':
      return `${c.description}: expected ${c.expected} / got ${c.actual}`;
    case 'error':
      return `${c.description}: ${c.message}`;
  }
}

/** The URL, normalised, when it is an http(s) URL; undefined for anything else (`javascript:`, relative, junk). */
export function httpUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}
