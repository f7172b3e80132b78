// Runs fn over items with at most `limit` in flight. Stops taking new items once the signal aborts.
export async function forEachLimit<T>(
  items: readonly T[], limit: number, signal: AbortSignal, fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
}
