/**
 * Waivers: a YAML file mapping control ids (or resource addresses) to a justification, an approver, an optional
 * expiry date and `run: false`. A waived failure is reported as waived, never hidden; after its date a waiver
 * stops counting and the report says it expired.
 */
import { BulwarkError, throwProblems, type Problem } from '../errors.js';
import type { AppliedWaiver, AuditResult } from './types.js';

/** One waiver as written in the file. */
export interface Waiver {
  readonly justification: string;
  readonly approver?: string;
  /** `YYYY-MM-DD`: the waiver holds through that day (UTC). */
  readonly expires?: string;
  /** False: do not run the control at all. @default true */
  readonly run: boolean;
}

/** Waivers by control id or resource address. */
export type Waivers = ReadonlyMap<string, Waiver>;

const KEYS = new Set(['justification', 'approver', 'expires', 'run']);
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function validDate(s: string): boolean {
  const m = DATE.exec(s);
  if (m === null) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/** Parses and validates waiver YAML, collecting every problem. `source` names the file in messages. */
export async function parseWaivers(text: string, source: string): Promise<Waivers> {
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new BulwarkError('BULWARK_WAIVER_INVALID', `waiver file ${source} is not valid YAML: ${String(e)}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new BulwarkError('BULWARK_WAIVER_INVALID', `waiver file ${source} must map control ids to waivers`);
  }
  const found: Problem[] = [];
  const waivers = new Map<string, Waiver>();
  for (const [id, raw] of Object.entries(doc)) {
    const at = `waiver[${id}]`;
    const bad = (property: string, message: string): void => {
      found.push({ code: 'BULWARK_WAIVER_INVALID', at, property, message });
    };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      bad('(entry)', 'a waiver is a mapping with justification, approver, expires and run');
      continue;
    }
    const w = raw as Record<string, unknown>;
    for (const key of Object.keys(w))
      if (!KEYS.has(key)) bad(key, `unknown key (known: ${[...KEYS].join(', ')})`);
    const { justification, approver, expires, run } = w;
    if (typeof justification !== 'string' || justification.trim() === '')
      bad('justification', 'every waiver needs a justification');
    if (approver !== undefined && typeof approver !== 'string') bad('approver', 'must be a string');
    // An unquoted YAML date may arrive as a Date under some schemas; accept it as its calendar day.
    const expiry = expires instanceof Date ? expires.toISOString().slice(0, 10) : expires;
    if (expiry !== undefined && (typeof expiry !== 'string' || !validDate(expiry))) {
      bad('expires', `${JSON.stringify(expires)} is not a date: write YYYY-MM-DD`);
    }
    if (run !== undefined && typeof run !== 'boolean') bad('run', 'must be true or false');
    waivers.set(id, {
      justification: typeof justification === 'string' ? justification : '',
      ...(typeof approver === 'string' ? { approver } : {}),
      ...(typeof expiry === 'string' ? { expires: expiry } : {}),
      run: run !== false,
    });
  }
  throwProblems('BULWARK_WAIVER_INVALID', `waiver file ${source} is invalid`, found);
  return waivers;
}

/** The waiver as applied at `now`: expired when `now` is past the end of its expiry day (UTC). */
export function applyWaiver(w: Waiver, now: Date): AppliedWaiver {
  const expired =
    w.expires !== undefined && now.getTime() >= Date.parse(`${w.expires}T00:00:00Z`) + 86_400_000;
  return {
    justification: w.justification,
    ...(w.approver === undefined ? {} : { approver: w.approver }),
    ...(w.expires === undefined ? {} : { expires: w.expires }),
    expired,
  };
}

/**
 * True when a waiver that has not expired covers this result: a failure it accepts, or a control it told not to
 * run. Such results count as `waived` in every total, never as failed or skipped. Errors are not waivable: a
 * control that could not be evaluated says nothing a waiver could accept.
 */
export function isWaived(r: AuditResult): boolean {
  return r.waiver !== undefined && !r.waiver.expired && (r.status === 'failed' || r.status === 'skipped');
}
