import { describe, expect, it } from "vitest";
import { createCoalescer } from "../../server/db/coalescer.ts";

/** A `run` whose batches finish when the test says so, recording what each batch held. */
function heldBatches() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(items);
      releases.push(() =>
        items.includes(13) ? reject(Object.assign(new Error("bad item"), { code: "23514" })) : resolve(items.map((i) => `done ${i}`)),
      );
    });
  return { batches, run, release: (index: number) => releases[index]!() };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("createCoalescer", () => {
  it("sends the calls of one task together, and gathers what arrives while a batch runs into the next", async () => {
    const held = heldBatches();
    const submit = createCoalescer(held.run);
    const first = [submit(1), submit(2)];
    await settle();
    const waiting = [submit(3), submit(4), submit(5)];
    await settle();
    expect(held.batches).toEqual([[1, 2]]);
    held.release(0);
    expect(await Promise.all(first)).toEqual(["done 1", "done 2"]);
    await settle();
    expect(held.batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    held.release(1);
    expect(await Promise.all(waiting)).toEqual(["done 3", "done 4", "done 5"]);
  });

  it("starts a batch beside a running one only once enough calls wait for it", async () => {
    const held = heldBatches();
    const submit = createCoalescer(held.run, { maxInFlight: 2, minBatchWhileBusy: 3 });
    const all = [submit(1)];
    await settle();
    all.push(submit(2), submit(3));
    await settle();
    // 1 runs; 2 and 3 wait, too few for a batch of their own.
    expect(held.batches).toEqual([[1]]);
    all.push(submit(4));
    await settle();
    expect(held.batches).toEqual([[1], [2, 3, 4]]);
    all.push(submit(5), submit(6));
    await settle();
    // The second returns while the first still runs: 5 and 6 are still too few to run beside it.
    held.release(1);
    await settle();
    expect(held.batches).toHaveLength(2);
    // Once the first returns, nothing else runs, so they go.
    held.release(0);
    await settle();
    expect(held.batches).toEqual([[1], [2, 3, 4], [5, 6]]);
    held.release(2);
    expect(await Promise.all(all)).toEqual(["done 1", "done 2", "done 3", "done 4", "done 5", "done 6"]);
  });

  it("caps a batch at maxBatch and runs up to maxInFlight batches at once", async () => {
    const held = heldBatches();
    const submit = createCoalescer(held.run, { maxInFlight: 2, maxBatch: 2 });
    const calls = [1, 2, 3, 4, 5].map((n) => submit(n));
    await settle();
    expect(held.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const more = [submit(6), submit(7)];
    held.release(0);
    held.release(1);
    await settle();
    expect(held.batches).toEqual([[1, 2], [3, 4], [5, 6], [7]]);
    held.release(2);
    held.release(3);
    expect(await Promise.all([...calls, ...more])).toEqual(["done 1", "done 2", "done 3", "done 4", "done 5", "done 6", "done 7"]);
  });

  it("fails every call of a failed batch, or with retryAlone only the call at fault", async () => {
    const failing = heldBatches();
    const plain = createCoalescer(failing.run);
    const all = [plain(12), plain(13)].map((p) => p.then(String, (error: Error) => error.message));
    await settle();
    failing.release(0);
    expect(await Promise.all(all)).toEqual(["bad item", "bad item"]);

    const retried = heldBatches();
    const submit = createCoalescer(retried.run, { retryAlone: (error) => (error as { code?: string }).code === "23514" });
    const each = [submit(12), submit(13), submit(14)].map((p) => p.then(String, (error: Error) => error.message));
    await settle();
    retried.release(0);
    for (let batch = 1; batch <= 3; batch++) {
      await settle();
      retried.release(batch);
    }
    expect(await Promise.all(each)).toEqual(["done 12", "bad item", "done 14"]);
    expect(retried.batches).toEqual([[12, 13, 14], [12], [13], [14]]);
  });
});
