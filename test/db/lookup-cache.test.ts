import { describe, expect, it } from "vitest";
import { createLookupCache } from "../../server/db/lookup-cache.ts";

// The cache's own rules, with a clock the test moves; the API tests in test/api/tenant/kept-grants.test.ts
// check that the services evict what they take away.

function counting<V>(values: V[]) {
  let calls = 0;
  return {
    load: async () => values[Math.min(calls++, values.length - 1)]!,
    calls: () => calls,
  };
}

describe("lookup cache", () => {
  it("answers from the cache after the lookup began, and looks up again once ttlMs has passed", async () => {
    let now = 1000;
    const cache = createLookupCache<string>({ ttlMs: 50, clock: () => now });
    const source = counting(["first", "second"]);
    expect(await cache.lookUp("k", "u", source.load)).toBe("first");
    now += 25;
    expect(await cache.lookUp("k", "u", source.load)).toBe("first");
    now += 26;
    expect(await cache.lookUp("k", "u", source.load)).toBe("second");
    expect(source.calls()).toBe(2);
  });

  it("keeps only what `keep` accepts, and nothing that failed", async () => {
    const cache = createLookupCache<boolean>({ ttlMs: 1000, keep: (live) => live, clock: () => 0 });
    const denied = counting([false, true]);
    expect(await cache.lookUp("d", "u", denied.load)).toBe(false);
    expect(await cache.lookUp("d", "u", denied.load)).toBe(true);
    expect(await cache.lookUp("d", "u", denied.load)).toBe(true);
    expect(denied.calls()).toBe(2);

    let attempts = 0;
    const failing = async () => {
      attempts++;
      if (attempts === 1) throw new Error("not found");
      return true;
    };
    await expect(cache.lookUp("f", "u", failing)).rejects.toThrow("not found");
    expect(await cache.lookUp("f", "u", failing)).toBe(true);
    expect(attempts).toBe(2);
  });

  it("forgets every entry of an owner, and no other", async () => {
    const cache = createLookupCache<string>({ ttlMs: 1000, clock: () => 0 });
    await cache.lookUp("a1", "alice", async () => "a1");
    await cache.lookUp("a2", "alice", async () => "a2");
    await cache.lookUp("b1", "bob", async () => "b1");
    cache.evictOwner("alice");
    expect(cache.size).toBe(1);
    expect(await cache.lookUp("a1", "alice", async () => "a1 again")).toBe("a1 again");
    expect(await cache.lookUp("b1", "bob", async () => "b1 again")).toBe("b1");
  });

  it("answers a lookup that was in flight when an eviction came, but does not keep it", async () => {
    const cache = createLookupCache<string>({ ttlMs: 1000, clock: () => 0 });
    let finish!: (value: string) => void;
    const inFlight = cache.lookUp("k", "alice", () => new Promise<string>((resolve) => (finish = resolve)));
    cache.evictOwner("bob");
    finish("read before the change committed");
    expect(await inFlight).toBe("read before the change committed");
    expect(cache.size).toBe(0);
    expect(await cache.lookUp("k", "alice", async () => "read after")).toBe("read after");
  });

  it("drops the oldest entry when full", async () => {
    const cache = createLookupCache<string>({ ttlMs: 1000, maxEntries: 2, clock: () => 0 });
    await cache.lookUp("1", "u", async () => "one");
    await cache.lookUp("2", "u", async () => "two");
    await cache.lookUp("3", "u", async () => "three");
    expect(cache.size).toBe(2);
    expect(await cache.lookUp("1", "u", async () => "one again")).toBe("one again");
    expect(await cache.lookUp("3", "u", async () => "three again")).toBe("three");
  });

  it("shares one lookup among requests that miss the same key at once, failures too", async () => {
    const cache = createLookupCache<string>({ ttlMs: 1000, clock: () => 0 });
    const source = counting(["one", "two"]);
    const answers = await Promise.all([1, 2, 3].map(() => cache.lookUp("k", "u", source.load)));
    expect([answers, source.calls()]).toEqual([["one", "one", "one"], 1]);

    let attempts = 0;
    const failing = async () => {
      attempts++;
      throw new Error("connection lost");
    };
    const failed = await Promise.allSettled([cache.lookUp("f", "u", failing), cache.lookUp("f", "u", failing)]);
    expect([failed.map((f) => f.status), attempts]).toEqual([["rejected", "rejected"], 1]);
    // Once it has failed, the next request asks again.
    await expect(cache.lookUp("f", "u", failing)).rejects.toThrow("connection lost");
    expect(attempts).toBe(2);
  });

  it("does not let a request that comes after an eviction join a lookup that began before it", async () => {
    const cache = createLookupCache<string>({ ttlMs: 1000, clock: () => 0 });
    let finish!: (value: string) => void;
    const before = cache.lookUp("k", "alice", () => new Promise<string>((resolve) => (finish = resolve)));
    cache.evictOwner("alice");
    const after = cache.lookUp("k", "alice", async () => "read after the change");
    finish("read before the change committed");
    expect([await before, await after]).toEqual(["read before the change committed", "read after the change"]);
    expect(await cache.lookUp("k", "alice", async () => "unused")).toBe("read after the change");
  });

  describe("renewal", () => {
    /** Lets a renewal begun in the background settle. */
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    it("renews an entry used in the second half of its life in the background, answering from it meanwhile", async () => {
      let now = 0;
      const cache = createLookupCache<string>({ ttlMs: 100, clock: () => now });
      const source = counting(["first", "second", "third"]);
      expect(await cache.lookUp("k", "u", source.load)).toBe("first");
      now = 50;
      expect(await cache.lookUp("k", "u", source.load)).toBe("first");
      expect(source.calls()).toBe(1);
      now = 60;
      // The renewal's lookup is still going: both requests are answered from the entry, one renewal begun.
      let finish!: () => void;
      let renewals = 0;
      const slow = () => {
        renewals++;
        return new Promise<void>((resolve) => (finish = resolve)).then(source.load);
      };
      expect(await cache.lookUp("k", "u", slow)).toBe("first");
      expect(await cache.lookUp("k", "u", slow)).toBe("first");
      finish();
      await settle();
      expect([renewals, source.calls()]).toEqual([1, 2]);
      // The renewal began at 60: its answer is kept until 160 (and renewed when used then), past the first entry's end.
      now = 160;
      expect(await cache.lookUp("k", "u", source.load)).toBe("second");
      await settle();
      now = 161;
      expect(await cache.lookUp("k", "u", source.load)).toBe("third");
      expect(source.calls()).toBe(3);
    });

    it("drops the entry when the renewal denies or fails, so the next request asks", async () => {
      let now = 0;
      const cache = createLookupCache<boolean>({ ttlMs: 100, keep: (live) => live, clock: () => now });
      const revoked = counting([true, false, false]);
      await cache.lookUp("d", "u", revoked.load);
      now = 60;
      expect(await cache.lookUp("d", "u", revoked.load)).toBe(true);
      await settle();
      expect(cache.size).toBe(0);
      expect(await cache.lookUp("d", "u", revoked.load)).toBe(false);

      now = 0;
      let attempts = 0;
      const failing = async () => {
        if (++attempts === 2) throw new Error("connection lost");
        return true;
      };
      await cache.lookUp("f", "u", failing);
      now = 60;
      expect(await cache.lookUp("f", "u", failing)).toBe(true);
      await settle();
      expect(cache.size).toBe(0);
    });

    it("does not keep a renewal that was in flight when an eviction came", async () => {
      let now = 0;
      const cache = createLookupCache<string>({ ttlMs: 100, clock: () => now });
      await cache.lookUp("k", "alice", async () => "kept");
      now = 60;
      let finish!: (value: string) => void;
      expect(await cache.lookUp("k", "alice", () => new Promise<string>((resolve) => (finish = resolve)))).toBe("kept");
      cache.evictOwner("bob");
      finish("read before the change committed");
      await settle();
      // The old entry stays to its end, and may be renewed again.
      expect(await cache.lookUp("k", "alice", async () => "read after")).toBe("kept");
      await settle();
      now = 101;
      expect(await cache.lookUp("k", "alice", async () => "unused")).toBe("read after");
    });
  });
});
