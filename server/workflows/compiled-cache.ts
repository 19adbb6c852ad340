import type { CompiledGraph } from "../workflow/index.ts";

/**
 * Compiled published versions by version id. A published version never changes, so an entry never
 * goes stale; the cache only bounds how many are kept (least recently used goes first).
 *
 * It also remembers which version a run request last resolved to (a workflow's latest, or a
 * version by number), so a run can start in one statement that records it only if the version is
 * still that one; when the latest has moved on, the statement says so and the run compiles it.
 */
export class CompiledCache {
  readonly #entries = new Map<string, CompiledGraph>();
  readonly #resolved = new Map<string, string>();
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

  /** The version id a run of `workflowId` at `version` (null: the latest) last resolved to, with its compiled graph. */
  resolved(workflowId: string, version: number | null): { versionId: string; compiled: CompiledGraph } | null {
    const versionId = this.#resolved.get(`${workflowId}:${version ?? "latest"}`);
    const compiled = versionId === undefined ? undefined : this.get(versionId);
    return versionId !== undefined && compiled ? { versionId, compiled } : null;
  }

  /** Remembers what a run of `workflowId` at `version` resolved to. */
  resolve(workflowId: string, version: number | null, versionId: string): void {
    const key = `${workflowId}:${version ?? "latest"}`;
    this.#resolved.delete(key);
    this.#resolved.set(key, versionId);
    if (this.#resolved.size > this.#capacity) this.#resolved.delete(this.#resolved.keys().next().value as string);
  }
}
