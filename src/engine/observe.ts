/**
 * What a cookbook resource needs observed, and how its guards read the answers: shared by converge, plan and
 * audit mode, so a resource is observed the same way whichever command runs.
 */
import type { Guard, ResourceDecl } from '../dsl/cookbook.js';
import type { AnyProvider } from '../resources/registry.js';
import type { Facts, ProbeOp, ProbeResult } from '../resources/types.js';

/** The probe ops of one resource and its command guards, with ids `${prefix}r:NAME` and `${prefix}g:onlyIf`. */
export function resourceOps(
  decl: ResourceDecl,
  provider: AnyProvider,
  prefix: string,
  guardTimeoutSec: number,
): [string, ProbeOp][] {
  const request = provider.probe(decl.name, decl.props) as Readonly<Record<string, ProbeOp>>;
  const ops = Object.entries(request).map(([k, op]): [string, ProbeOp] => [`${prefix}r:${k}`, op]);
  for (const which of ['onlyIf', 'notIf'] as const) {
    const g = decl.options[which];
    if (Array.isArray(g)) {
      ops.push([
        `${prefix}g:${which}`,
        { kind: 'exec', argv: g as readonly string[], timeoutSec: guardTimeoutSec },
      ]);
    }
  }
  return ops;
}

/** The results whose ids start with `prefix`, keyed by the rest of the id. */
export function resultsWithPrefix(
  prefix: string,
  results: ReadonlyMap<string, ProbeResult>,
): Record<string, ProbeResult> {
  const mine: Record<string, ProbeResult> = {};
  for (const [id, r] of results) if (id.startsWith(prefix)) mine[id.slice(prefix.length)] = r;
  return mine;
}

/** Evaluates a guard: a command's exit status from the probe, or a function of the facts. */
export function guardHolds(
  guard: Guard,
  id: string,
  results: ReadonlyMap<string, ProbeResult>,
  facts: Facts,
): boolean {
  if (typeof guard === 'function') return guard(facts);
  return results.get(id)?.exitCode === 0;
}

/** A guard as people read it in skip reasons. */
export function describeGuard(guard: Guard): string {
  return typeof guard === 'function' ? 'function' : guard.join(' ');
}
