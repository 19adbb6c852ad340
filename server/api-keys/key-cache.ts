import type { ApiKeyCredential } from "./queries.ts";

/** How long a looked-up key is trusted without asking the database again. */
export const KEY_CACHE_TTL_MS = 10_000;

const MAX_ENTRIES = 10_000;

/**
 * Keys by hash, each kept for `KEY_CACHE_TTL_MS` of real time so a metered call costs no key
 * lookup. A revoke evicts the key here at once; other servers stop honouring it within the TTL.
 * Unknown keys are not cached, so a key created on another server works at once.
 */
export function createKeyCache(clock: () => number = () => performance.now()) {
  const entries = new Map<string, { credential: ApiKeyCredential; at: number }>();
  return {
    get(hash: string): ApiKeyCredential | undefined {
      const entry = entries.get(hash);
      if (!entry) return undefined;
      if (clock() - entry.at > KEY_CACHE_TTL_MS) {
        entries.delete(hash);
        return undefined;
      }
      return entry.credential;
    },
    set(hash: string, credential: ApiKeyCredential): void {
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      entries.set(hash, { credential, at: clock() });
    },
    evictKey(keyId: string): void {
      for (const [hash, entry] of entries) if (entry.credential.id === keyId) entries.delete(hash);
    },
  };
}

export type KeyCache = ReturnType<typeof createKeyCache>;
