/** How a coalescer gathers. */
export interface CoalescerOptions {
  /** Batches running at once. Default 1. */
  maxInFlight?: number;
  /** Calls in one batch at most. Default 200. */
  maxBatch?: number;
  /** Calls that must wait before a batch starts beside one already running. Default 1. */
  minBatchWhileBusy?: number;
  /**
   * Whether a failed batch of several calls is tried again call by call, so the call at fault fails
   * alone: for errors that come from a call's data, never for those of the connection (a batch whose
   * answer was lost may have been written). Default: never.
   */
  retryAlone?: (error: unknown) => boolean;
}

/**
 * Gathers calls into batches: one round trip and one commit for many calls, and a row they all
 * touch (a busy tenant's counter) locked once per batch instead of once per call. A call that finds
 * nothing running starts a batch at once, with the calls made in the same task; the calls that
 * arrive while it runs go together as the next batch. So nothing waits when idle.
 *
 * Up to `maxInFlight` batches run at once, but one beside another starts only when
 * `minBatchWhileBusy` calls wait for it: tiny batches side by side cost more per call than they
 * save, while one big batch at a time leaves the server idle during each round trip.
 *
 * `run` answers each call in order; throwing fails every call of the batch (see `retryAlone`).
 *
 * @example
 * const isLive = createCoalescer((ids: string[]) => selectLive(db, ids), { maxInFlight: 2, minBatchWhileBusy: 8 });
 * if (!(await isLive(sessionId))) throw new AppError("UNAUTHENTICATED");
 */
export function createCoalescer<I, O>(run: (items: I[]) => Promise<O[]>, options: CoalescerOptions = {}): (item: I) => Promise<O> {
  const maxInFlight = options.maxInFlight ?? 1;
  const maxBatch = options.maxBatch ?? 200;
  const minBatchWhileBusy = options.minBatchWhileBusy ?? 1;
  type Entry = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };
  const queue: Entry[] = [];
  let inFlight = 0;

  async function runAlone(entry: Entry): Promise<void> {
    try {
      entry.resolve((await run([entry.item]))[0]!);
    } catch (error) {
      entry.reject(error);
    }
  }

  async function runBatches(): Promise<void> {
    try {
      while (queue.length > 0 && (inFlight === 1 || queue.length >= minBatchWhileBusy)) {
        const batch = queue.splice(0, maxBatch);
        try {
          const outcomes = await run(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(outcomes[i]!));
        } catch (error) {
          if (batch.length > 1 && options.retryAlone?.(error)) for (const b of batch) await runAlone(b);
          else for (const b of batch) b.reject(error);
        }
      }
    } finally {
      inFlight--;
    }
  }

  return function submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (inFlight === 0 || (inFlight < maxInFlight && queue.length >= minBatchWhileBusy)) {
        inFlight++;
        // Started once the current task's other calls have queued, so they go in the same batch.
        queueMicrotask(() => void runBatches());
      }
    });
  };
}
