/**
 * Running work for many hosts with a concurrency limit. Apart from the fleet runs (run.ts) so that commands
 * which only need the limit (`bulwark vulns --inventory`) do not load the converge and audit engines.
 */

/** How many hosts run at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 16;

/** Runs `fn` for each item with at most `concurrency` at once; results keep the items' order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
