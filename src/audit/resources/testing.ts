/**
 * Test support for audit resources: observes resources through the real batched probe, the way the audit engine
 * does (ops prefixed by the resource key, one round trip for all), and selects subjects from the observations.
 */
import { runProbe } from '../../engine/probe.js';
import type { Facts, ProbeOp, ProbeResult } from '../../resources/types.js';
import type { Transport } from '../../transports/transport.js';
import type { AuditResource, Subject } from '../types.js';

/** Observations by resource key, plus the facts of the run. */
export interface Observed {
  readonly facts: Facts;
  /** Selects a subject's value; rethrows the error its resource's `read` threw. */
  value<T>(s: Subject<T>): T;
}

/**
 * Probes every resource behind `subjects` in one round trip and reads each resource once per key. (Subjects are
 * taken by their resource only: a `Subject<boolean>` is not a `Subject<unknown>`, its `format` being contravariant.)
 */
export async function observeSubjects(
  transport: Transport,
  subjects: readonly { readonly resource: AuditResource<unknown> }[],
): Promise<Observed> {
  const resources = new Map<string, AuditResource<unknown>>();
  for (const { resource } of subjects)
    if (!resources.has(resource.key)) resources.set(resource.key, resource);
  const ops = new Map<string, ProbeOp>();
  for (const [key, r] of resources) {
    for (const [id, op] of Object.entries(r.probe())) ops.set(`${key}/${id}`, op);
  }
  const { facts, results } = await runProbe(transport, ops);
  const observations = new Map<string, { ok: true; value: unknown } | { ok: false; error: unknown }>();
  for (const [key, r] of resources) {
    const own: Record<string, ProbeResult> = {};
    for (const [id, result] of results) if (id.startsWith(`${key}/`)) own[id.slice(key.length + 1)] = result;
    try {
      observations.set(key, { ok: true, value: r.read(own, facts) });
    } catch (error) {
      observations.set(key, { ok: false, error });
    }
  }
  return {
    facts,
    value<T>(s: Subject<T>): T {
      const o = observations.get(s.resource.key);
      if (o === undefined) throw new Error(`${s.label} was not observed`);
      if (!o.ok) throw o.error;
      return s.select(o.value as never);
    },
  };
}
