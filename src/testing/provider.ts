/**
 * Runs one provider against a transport outside the engine, for provider tests: observe (one batched probe), diff,
 * apply as the engine does (recorded, then one batch script), observe again. Test-only.
 */
import {
  directContext,
  groupError,
  groupWarnings,
  recordingContext,
  runBatch,
  type BatchGroup,
} from '../engine/apply.js';
import { runProbe } from '../engine/probe.js';
import type { ApplyContext, Change, Facts, Provider, ProbeOp, ProbeResult } from '../resources/types.js';
import type { Transport } from '../transports/transport.js';

/** The observed state of one resource and what would change. */
export interface Observation<S> {
  readonly state: S;
  readonly facts: Facts;
  readonly changes: Change[];
}

/** Observes one resource in one round trip and diffs it against its props. */
export async function observe<P, S>(
  transport: Transport,
  provider: Provider<P, S>,
  name: string,
  props: P,
): Promise<Observation<S>> {
  const request = provider.probe(name, props);
  const ops = new Map<string, ProbeOp>(Object.entries(request).map(([k, op]) => [`r0:${k}`, op]));
  const { facts, results } = await runProbe(transport, ops);
  const mine: Record<string, ProbeResult> = {};
  for (const k of Object.keys(request)) {
    const r = results.get(`r0:${k}`);
    if (r !== undefined) mine[k] = r;
  }
  const state = provider.read(name, props, mine, facts);
  return { state, facts, changes: provider.diff(name, props, state, facts) };
}

/** An apply context for tests that runs each command at once; warnings are collected in `warnings`. */
export function applyContext(transport: Transport, facts: Facts, warnings: string[] = []): ApplyContext {
  return directContext({
    transport,
    facts,
    backupDir: '/var/backups/bulwark',
    warn: (m) => warnings.push(m),
  });
}

/**
 * Applies the way the engine does: the apply is recorded and its steps run as one batch script, in one round trip;
 * an apply that asks the host questions runs directly instead.
 */
export async function applyBatched<P, S>(
  transport: Transport,
  provider: Provider<P, S>,
  name: string,
  props: P,
  observed: Observation<S>,
  warnings: string[] = [],
): Promise<'batched' | 'direct'> {
  const base = {
    transport,
    facts: observed.facts,
    backupDir: '/var/backups/bulwark',
    warn: (m: string) => warnings.push(m),
  };
  const { ctx, recording } = recordingContext(base);
  try {
    await provider.apply(name, props, observed.state, observed.changes, ctx);
  } catch (e) {
    if (recording.refused === undefined) throw e;
  }
  if (recording.refused !== undefined) {
    await provider.apply(name, props, observed.state, observed.changes, directContext(base));
    return 'direct';
  }
  const group: BatchGroup = { id: 'r0', kind: 'resource', steps: recording.steps, stopOnFailure: true };
  const outcome = await runBatch(transport, [group], { final: true, reprobe: new Map() });
  warnings.push(...groupWarnings(group, outcome));
  if (outcome.groups.get('r0') !== 'ok') throw groupError(group, outcome);
  return 'batched';
}

/** Observes, applies the changes when there are any, and observes again; returns both sets of changes. */
export async function convergeOne<P, S>(
  transport: Transport,
  provider: Provider<P, S>,
  name: string,
  props: P,
): Promise<{ before: Change[]; after: Change[]; warnings: string[] }> {
  const first = await observe(transport, provider, name, props);
  const warnings: string[] = [];
  if (first.changes.length > 0) await applyBatched(transport, provider, name, props, first, warnings);
  const second = await observe(transport, provider, name, props);
  return { before: first.changes, after: second.changes, warnings };
}
