/**
 * Gathers calls that arrive while a batch is running, and runs them together as the next batch:
 * one round trip and one commit for many calls, and a busy tenant's counter row locked once per
 * batch instead of once per call, so it is not held to one commit at a time. A call that finds
 * nothing running goes at once, so nothing waits when idle.
 *
 * Up to `maxInFlight` batches run at once (one by default), but a batch beside another starts only
 * when `minBatchWhileBusy` calls wait for it: tiny batches side by side cost more per call than
 * they save, while one big batch at a time leaves the server idle during each round trip.
 *
 * `run` answers each item in order; throwing fails every item of the batch.
 */
export function createCoalescer<I, O>(
  run: (items: I[]) => Promise<O[]>,
  options: { maxInFlight?: number; maxBatch?: number; minBatchWhileBusy?: number } = {},
) {
  const maxInFlight = options.maxInFlight ?? 1;
  const maxBatch = options.maxBatch ?? 200;
  const minBatchWhileBusy = options.minBatchWhileBusy ?? 1;
  const queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  let inFlight = 0;

  async function runBatches(): Promise<void> {
    inFlight++;
    try {
      while (queue.length > 0 && (inFlight === 1 || queue.length >= minBatchWhileBusy)) {
        const batch = queue.splice(0, maxBatch);
        try {
          const outcomes = await run(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(outcomes[i]!));
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      inFlight--;
    }
  }

  return function submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (inFlight === 0 || (inFlight < maxInFlight && queue.length >= minBatchWhileBusy)) void runBatches();
    });
  };
}
