import { describe, expect, it } from "vitest";
import { createBatcher } from "../../server/workflows/write-batcher.ts";

/** A batch function that records each batch and answers when its test releases it. */
function heldBatches() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(items);
      releases.push(() =>
        items.includes(13) ? reject(Object.assign(new Error("bad item"), { code: "23514" })) : resolve(items.map(String)),
      );
    });
  return { batches, run, release: (index: number) => releases[index]!() };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("write batcher", () => {
  it("sends calls of one task together, and gathers what arrives while batches are in flight into the next", async () => {
    const held = heldBatches();
    const submit = createBatcher(held.run, { maxInFlight: 1 });
    const first = [submit(1), submit(2)];
    await settle();
    const waiting = [submit(3), submit(4), submit(5)];
    await settle();
    expect(held.batches).toEqual([[1, 2]]);

    held.release(0);
    expect(await Promise.all(first)).toEqual(["1", "2"]);
    await settle();
    expect(held.batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    held.release(1);
    expect(await Promise.all(waiting)).toEqual(["3", "4", "5"]);
  });

  it("caps a batch at maxBatch and runs up to maxInFlight batches at once", async () => {
    const held = heldBatches();
    const submit = createBatcher(held.run, { maxInFlight: 2, maxBatch: 2 });
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
    expect(await Promise.all([...calls, ...more])).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
  });

  it("fails every item of a failed batch, or with retryAlone only the item at fault", async () => {
    const failing = heldBatches();
    const plain = createBatcher(failing.run);
    const all = [plain(12), plain(13)].map((p) => p.then(String, (error: Error) => error.message));
    await settle();
    failing.release(0);
    expect(await Promise.all(all)).toEqual(["bad item", "bad item"]);

    const retried = heldBatches();
    const submit = createBatcher(retried.run, { retryAlone: (error) => (error as { code?: string }).code === "23514" });
    const each = [submit(12), submit(13), submit(14)].map((p) => p.then(String, (error: Error) => error.message));
    await settle();
    retried.release(0);
    for (let batch = 1; batch <= 3; batch++) {
      await settle();
      retried.release(batch);
    }
    expect(await Promise.all(each)).toEqual(["12", "bad item", "14"]);
    expect(retried.batches).toEqual([[12, 13, 14], [12], [13], [14]]);
  });
});
