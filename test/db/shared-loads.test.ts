import { describe, expect, it } from "vitest";
import type { CompiledGraph } from "../../server/workflow/index.ts";
import { createSharedLoads } from "../../server/db/shared-loads.ts";
import { CompiledCache } from "../../server/workflows/compiled-cache.ts";

// Loads shared while in flight (server/db/shared-loads.ts), alone and as the compiled-version cache
// of server/workflows uses them; lookup-cache.test.ts covers the lookup cache's use (an eviction's epoch).

/** A load the test finishes, counting how often it was begun. */
function gate<V>() {
  let begun = 0;
  let settle!: { resolve: (value: V) => void; reject: (error: Error) => void };
  const load = () => {
    begun++;
    return new Promise<V>((resolve, reject) => (settle = { resolve, reject }));
  };
  return { load, begun: () => begun, resolve: (value: V) => settle.resolve(value), reject: (error: Error) => settle.reject(error) };
}

describe("shared loads", () => {
  it("shares a load among the callers of one key and epoch until it settles, then loads again", async () => {
    const loads = createSharedLoads<string>();
    const first = gate<string>();
    const together = [loads.share("k", first.load), loads.share("k", first.load)];
    const otherEpoch = loads.share("k", async () => "own", 1);
    first.resolve("shared");
    expect([await Promise.all(together), await otherEpoch, first.begun()]).toEqual([["shared", "shared"], "own", 1]);
    expect(await loads.share("k", async () => "again")).toBe("again");
  });

  it("hands a failure to every caller that shared the load, and the next caller loads again", async () => {
    const loads = createSharedLoads<string>();
    const failing = gate<string>();
    const together = [loads.share("k", failing.load), loads.share("k", failing.load)];
    failing.reject(new Error("connection lost"));
    expect((await Promise.allSettled(together)).map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect([await loads.share("k", async () => "recovered"), failing.begun()]).toEqual(["recovered", 1]);
  });
});

describe("compiled versions", () => {
  const graph = (name: string) => ({ name }) as unknown as CompiledGraph;

  it("loads and compiles a version once for the runs that need it at once, then keeps it", async () => {
    const cache = new CompiledCache();
    const compile = gate<CompiledGraph>();
    const runs = [1, 2, 3].map(() => cache.compiled("v1", compile.load));
    compile.resolve(graph("v1"));
    const compiled = await Promise.all(runs);
    expect(compiled.every((c) => c === compiled[0])).toBe(true);
    expect(await cache.compiled("v1", async () => graph("not loaded"))).toBe(compiled[0]);
    expect(compile.begun()).toBe(1);
  });

  it("keeps nothing of a load that failed", async () => {
    const cache = new CompiledCache();
    await expect(cache.compiled("v1", async () => Promise.reject(new Error("no such version")))).rejects.toThrow("no such version");
    expect(await cache.compiled("v1", async () => graph("v1"))).toEqual(graph("v1"));
  });
});
