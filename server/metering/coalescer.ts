/**
 * Gathers calls that arrive while `maxInFlight` batches are already running (one by default), and
 * runs them together as the next batch when one returns: one round trip and one commit for many
 * calls, and a busy tenant's counter row locked once per batch instead of once per call, so it is
 * not held to one commit at a time. A call that finds a free slot runs at once, so nothing waits
 * when idle. More than one batch in flight buys little: batches of one tenant wait on its counter.
 *
 * `run` answers each item in order; throwing fails every item of the batch.
 */
export function createCoalescer<I, O>(run: (items: I[]) => Promise<O[]>, options: { maxInFlight?: number; maxBatch?: number } = {}) {
  const maxInFlight = options.maxInFlight ?? 1;
  const maxBatch = options.maxBatch ?? 200;
  const queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  let inFlight = 0;

  async function runBatches(): Promise<void> {
    inFlight++;
    try {
      while (queue.length > 0) {
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
      if (inFlight < maxInFlight) void runBatches();
    });
  };
}
