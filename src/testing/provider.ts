/**
 * Runs one provider against a transport outside the engine, for provider tests: observe (one batched probe), diff,
 * apply, observe again. Test-only.
 */
import { runProbe } from '../engine/probe.js';
import type { ApplyContext, Change, Facts, Provider, ProbeOp, ProbeResult } from '../resources/types.js';
import { BulwarkError } from '../errors.js';
import { describeFailure } from '../transports/shell-transport.js';
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

/** An apply context for tests; warnings are collected in `warnings`. */
export function applyContext(transport: Transport, facts: Facts, warnings: string[] = []): ApplyContext {
  return {
    transport,
    facts,
    backupDir: '/var/backups/bulwark',
    warn: (m) => warnings.push(m),
    run: async (argv, options = {}) => {
      const r = await transport.exec(argv, options);
      if (r.exitCode !== 0) {
        throw new BulwarkError('BULWARK_APPLY_FAILED', `${argv.join(' ')} ${describeFailure(r)}`);
      }
      return r;
    },
  };
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
  if (first.changes.length > 0) {
    await provider.apply(
      name,
      props,
      first.state,
      first.changes,
      applyContext(transport, first.facts, warnings),
    );
  }
  const second = await observe(transport, provider, name, props);
  return { before: first.changes, after: second.changes, warnings };
}
