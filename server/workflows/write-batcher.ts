/** How a batcher gathers. */
export interface BatcherOptions {
  /** Batches running at once; the next one gathers what arrives meanwhile. Default 1. */
  maxInFlight?: number;
  /** Items in one batch at most. Default 100. */
  maxBatch?: number;
  /**
   * Whether a failed batch of several items is tried again item by item, so the item at fault fails
   * alone: for errors that come from an item's data, never for those of the connection (a batch
   * whose answer was lost may have been written). Default: never.
   */
  retryAlone?: (error: unknown) => boolean;
}

/**
 * Gathers the writes of concurrent runs into one statement each: a call that finds a free slot
 * runs at once, with the calls made in the same task (nothing waits when idle); calls that arrive
 * while `maxInFlight` batches are in flight go together as the next batch. One round trip and one commit then serve many runs.
 *
 * `run` answers each item in order; a failed batch fails all its items, unless `retryAlone` says
 * to try them again one by one.
 *
 * @example
 * const open = createBatcher((requests: OpenRequest[]) => openRuns(db, requests), { maxInFlight: 2 });
 * const opened = await open(request);
 */
export function createBatcher<I, O>(run: (items: I[]) => Promise<O[]>, options: BatcherOptions = {}): (item: I) => Promise<O> {
  const maxInFlight = options.maxInFlight ?? 1;
  const maxBatch = options.maxBatch ?? 100;
  const queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  let inFlight = 0;

  async function runOne(entry: (typeof queue)[number]): Promise<void> {
    try {
      const [outcome] = await run([entry.item]);
      entry.resolve(outcome as O);
    } catch (error) {
      entry.reject(error);
    }
  }

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        if (batch.length === 1) {
          await runOne(batch[0]!);
          continue;
        }
        try {
          const outcomes = await run(batch.map((entry) => entry.item));
          batch.forEach((entry, i) => entry.resolve(outcomes[i] as O));
        } catch (error) {
          if (options.retryAlone?.(error)) for (const entry of batch) await runOne(entry);
          else for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      inFlight--;
    }
  }

  return function submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (inFlight < maxInFlight) {
        inFlight++;
        // Started after the current task's other calls have queued, so they go in the same batch.
        queueMicrotask(() => void drain());
      }
    });
  };
}
