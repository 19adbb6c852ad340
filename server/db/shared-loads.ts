/**
 * Loads in flight, by key, shared by every caller that asks for the same key while one runs: a
 * server started under load reads and builds each thing once, not once per request. A load is
 * shared only among callers of the same `epoch`; a caller with another starts its own, which the
 * next callers then share (see lookup-cache.ts: a lookup begun before an eviction is not joined
 * after it).
 *
 * @example
 * const loads = createSharedLoads<CompiledGraph>();
 * const compiled = await loads.share(versionId, () => loadAndCompile(versionId));
 */
export function createSharedLoads<V>() {
  const inFlight = new Map<string, { value: Promise<V>; epoch: number }>();
  return {
    /** The load in flight for `key` in `epoch`, or `load()`'s, shared until it settles. */
    share(key: string, load: () => Promise<V>, epoch = 0): Promise<V> {
      const running = inFlight.get(key);
      if (running && running.epoch === epoch) return running.value;
      const value = (async () => load())();
      inFlight.set(key, { value, epoch });
      const settled = () => {
        if (inFlight.get(key)?.value === value) inFlight.delete(key);
      };
      value.then(settled, settled);
      return value;
    },
  };
}
