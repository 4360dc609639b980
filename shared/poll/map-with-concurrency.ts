/**
 * Maps over items with at most `concurrency` calls in flight, keeping the order of results. The
 * mapper should not throw (catch inside); a throw rejects the whole map.
 *
 * @example
 * const outcomes = await mapWithConcurrency(runs, 8, (run) => claim(run));
 */
export const mapWithConcurrency = async <T, R>(
  items: readonly T[],
  concurrency: number,
  mapper: (item: T, index: number) => Promise<R>
): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await mapper(items[index] as T, index);
    }
  };
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
};
