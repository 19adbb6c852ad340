/**
 * A short-lived cache of the grants a request looks up before its handler: that an access token's
 * session is live, the caller's role in the tenant its path names, the API key it presents
 * (server/api-keys/service.ts, for `KEY_CACHE_TTL_MS`), the plan its metered call counts against
 * (server/metering/plan-cache.ts). A client that sends many
 * requests at once with one token (an SDK running workflows 60 at a time) then costs one lookup a
 * `ttlMs` instead of one a request; on a 2-core machine the session and role lookups were a fifth of
 * the CPU of a workflow run.
 *
 * - Only grants are kept (`keep`); a lookup that fails or denies asks again next time, so access
 *   given on another server works at once.
 * - The services that take a grant away (logout, a changed role, a removed member, a revoked key)
 *   evict their owner's entries (a user's; a key's, by its hash) once their transaction has
 *   committed, so on this server the change holds from the next request. Other servers keep
 *   honouring the grant for at most `ttlMs`.
 * - A lookup that was in flight when an eviction came is answered but not kept: it may have read
 *   the grant before the change committed.
 * - Requests that miss the same key at once share one lookup (a server started under load asks
 *   once per key, not once per request); one that comes after an eviction starts its own.
 * - Each entry has an owner (`evictOwner`); at most `maxEntries` are kept, the oldest going first.
 * - An entry used in the second half of its life is looked up again in the background, and the
 *   request is answered from the entry meanwhile: a key in steady use is renewed before it expires,
 *   so its requests never wait for its lookup (without this, every request that came while the
 *   expired key was looked up again waited for that statement, once a `ttlMs`). The renewed entry's
 *   life counts from when its lookup began, so no answer is older than `ttlMs`; a renewal that
 *   denies or fails drops the entry, and the next request asks in the foreground.
 *
 * @example
 * const scopes = createLookupCache<TenantScope>({ ttlMs: LOOKUP_CACHE_TTL_MS });
 * const scope = await scopes.lookUp(`${userId} workspace ${workspaceId}`, userId, () => resolveFromDb());
 * // after a transaction that removed the member:
 * scopes.evictOwner(userId);
 */

import { createSharedLoads } from "./shared-loads.ts";

/** How long a grant looked up for one request is trusted for the next without asking the database. */
export const LOOKUP_CACHE_TTL_MS = 2_000;

/** The share of an entry's life after which using it starts a renewal in the background. */
const RENEW_AFTER = 0.5;

export interface LookupCacheOptions<V> {
  ttlMs: number;
  /** Whether a value is a grant worth keeping. Default: every value. */
  keep?: (value: V) => boolean;
  /** Default 10,000. */
  maxEntries?: number;
  /** Milliseconds, monotonic. Default (also when undefined) `performance.now`. */
  clock?: (() => number) | undefined;
}

export function createLookupCache<V>(options: LookupCacheOptions<V>) {
  const { ttlMs, keep = () => true, maxEntries = 10_000, clock = () => performance.now() } = options;
  type Entry = { value: V; owner: string; at: number; renewing: boolean };
  const entries = new Map<string, Entry>();
  /** Bumped by every eviction: a lookup started under an older generation is not kept. */
  let generation = 0;
  /** Foreground lookups in flight, shared by the requests of their generation. */
  const loading = createSharedLoads<V>();

  function put(key: string, entry: Entry): void {
    entries.delete(key);
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
    entries.set(key, entry);
  }

  /** Looks `key` up again for `entry`, which stays in use meanwhile; what the lookup finds replaces it. */
  function renew(key: string, entry: Entry, load: () => Promise<V>): void {
    entry.renewing = true;
    const startedIn = generation;
    const startedAt = clock();
    void (async () => {
      try {
        const value = await load();
        if (entries.get(key) !== entry) return;
        if (startedIn !== generation) entry.renewing = false;
        else if (keep(value)) put(key, { value, owner: entry.owner, at: startedAt, renewing: false });
        else entries.delete(key);
      } catch {
        if (entries.get(key) === entry) entries.delete(key);
      }
    })();
  }

  return {
    /** The value kept for `key`, or `load()`'s (kept for `owner` when it is a grant). */
    async lookUp(key: string, owner: string, load: () => Promise<V>): Promise<V> {
      const entry = entries.get(key);
      const now = clock();
      if (entry) {
        const age = now - entry.at;
        if (age <= ttlMs) {
          if (age > ttlMs * RENEW_AFTER && !entry.renewing) renew(key, entry, load);
          return entry.value;
        }
        entries.delete(key);
      }
      // Requests that miss the same key together share one lookup, unless an eviction came since it began.
      const startedIn = generation;
      return loading.share(
        key,
        async () => {
          const found = await load();
          if (startedIn === generation && keep(found)) put(key, { value: found, owner, at: now, renewing: false });
          return found;
        },
        startedIn,
      );
    },

    /** Forgets every entry of `owner`; call it after the transaction that changed their grants commits. */
    evictOwner(owner: string): void {
      generation++;
      for (const [key, entry] of entries) if (entry.owner === owner) entries.delete(key);
    },

    /** How many entries are kept (for tests). */
    get size(): number {
      return entries.size;
    },
  };
}

export type LookupCache<V> = ReturnType<typeof createLookupCache<V>>;
