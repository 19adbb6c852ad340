import type { CompiledGraph } from "../workflow/index.ts";

/**
 * Compiled published versions by version id. A published version never changes, so an entry never
 * goes stale; the cache only bounds how many are kept (least recently used goes first).
 */
export class CompiledCache {
  readonly #entries = new Map<string, CompiledGraph>();
  readonly #capacity: number;

  constructor(capacity = 500) {
    this.#capacity = capacity;
  }

  get(versionId: string): CompiledGraph | undefined {
    const compiled = this.#entries.get(versionId);
    if (compiled) {
      this.#entries.delete(versionId);
      this.#entries.set(versionId, compiled);
    }
    return compiled;
  }

  set(versionId: string, compiled: CompiledGraph): void {
    this.#entries.set(versionId, compiled);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}
