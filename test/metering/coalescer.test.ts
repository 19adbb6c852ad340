import { describe, expect, it } from "vitest";
import { createCoalescer } from "../../server/metering/coalescer.ts";

/** A `run` whose batches finish when the test says so, recording what each batch held. */
function controlledRun() {
  const batches: number[][] = [];
  const pending: { items: number[]; finish: (fail?: Error) => void }[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(items);
      pending.push({ items, finish: (fail) => (fail ? reject(fail) : resolve(items.map((i) => `done ${i}`))) });
    });
  return { run, batches, pending };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("createCoalescer", () => {
  it("runs a lone call at once and gathers the calls that arrive meanwhile into the next batch", async () => {
    const c = controlledRun();
    const submit = createCoalescer(c.run);
    const first = submit(1);
    const rest = [submit(2), submit(3), submit(4)];
    expect(c.batches).toEqual([[1]]);
    c.pending[0]!.finish();
    expect(await first).toBe("done 1");
    await settle();
    expect(c.batches).toEqual([[1], [2, 3, 4]]);
    c.pending[1]!.finish();
    expect(await Promise.all(rest)).toEqual(["done 2", "done 3", "done 4"]);
  });

  it("starts a second batch beside the first only once enough calls wait for it", async () => {
    const c = controlledRun();
    const submit = createCoalescer(c.run, { maxInFlight: 2, minBatchWhileBusy: 3 });
    const all = [1, 2, 3].map((i) => submit(i));
    // 1 went alone; 2 and 3 wait, too few for a batch of their own.
    expect(c.batches).toEqual([[1]]);
    all.push(submit(4));
    expect(c.batches).toEqual([[1], [2, 3, 4]]);
    all.push(submit(5), submit(6));
    // Both slots are taken: 5 and 6 wait for whichever batch returns first.
    expect(c.batches).toHaveLength(2);
    // The second batch returns while the first still runs: 5 and 6 are still too few to run beside it.
    c.pending[1]!.finish();
    await settle();
    expect(c.batches).toHaveLength(2);
    // Once the first returns, nothing else runs, so they go.
    c.pending[0]!.finish();
    await settle();
    expect(c.batches).toEqual([[1], [2, 3, 4], [5, 6]]);
    c.pending[2]!.finish();
    expect(await Promise.all(all)).toEqual(["done 1", "done 2", "done 3", "done 4", "done 5", "done 6"]);
  });

  it("fails every call of a batch that throws, and only those", async () => {
    const c = controlledRun();
    const submit = createCoalescer(c.run);
    const first = submit(1);
    const second = [submit(2), submit(3)];
    c.pending[0]!.finish(new Error("the database went away"));
    await expect(first).rejects.toThrow("the database went away");
    await settle();
    c.pending[1]!.finish();
    expect(await Promise.all(second)).toEqual(["done 2", "done 3"]);
  });
});
