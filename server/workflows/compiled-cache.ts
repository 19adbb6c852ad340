import { createSharedLoads } from "../db/shared-loads.ts";
import type { CompiledGraph } from "../workflow/index.ts";

/** How long what the database said about starting a workflow's runs is taken as still true. */
export const RECENT_MS = 1_000;

const recentKey = (workspaceId: string, workflowId: string, version: number | null) =>
  `${workspaceId}/${workflowId}/${version ?? "latest"}`;

/** What starting a run of a workflow needs from the database. */
export interface RecentLookup {
  versionId: string;
  version: number;
  allowPrivateNetwork: boolean;
}

/**
 * Compiled published versions by version id. A published version never changes, so an entry never
 * goes stale; the cache only bounds how many are kept (least recently used goes first).
 *
 * It also remembers which version a run request last resolved to (a workflow's latest, or a
 * version by number), so a run can start in one statement that records it only if the version is
 * still that one; when the latest has moved on, the statement says so and the run compiles it.
 *
 * And, for `RECENT_MS`, what the database last said about starting such a run (the version, the
 * workspace's network setting): a blocking run started within that time need not ask again (see
 * run-service.ts). Publishing, archiving or changing the settings on this server forgets it at once;
 * a change made on another server is seen within `RECENT_MS`, or by the first run's write. Such a
 * write checks the lookup anew, so one that finds it still true renews it (`confirmLookup`): while
 * runs keep coming, they never stop to look the workflow up again.
 */
export class CompiledCache {
  readonly #entries = new Map<string, CompiledGraph>();
  /** Versions being loaded and compiled: runs that need one at once (a server started under load) share it. */
  readonly #compiling = createSharedLoads<CompiledGraph>();
  readonly #resolved = new Map<string, string>();
  readonly #recent = new Map<string, RecentLookup & { workflowId: string; at: number }>();
  readonly #capacity: number;
  readonly #now: () => number;

  /** `now`: the server's clock, in milliseconds. */
  constructor(options: { capacity?: number; now?: () => number } = {}) {
    this.#capacity = options.capacity ?? 500;
    this.#now = options.now ?? Date.now;
  }

  #get(versionId: string): CompiledGraph | undefined {
    const compiled = this.#entries.get(versionId);
    if (compiled) {
      this.#entries.delete(versionId);
      this.#entries.set(versionId, compiled);
    }
    return compiled;
  }

  /** The compiled graph of `versionId`, kept, or `load()`'s, kept once it settles; one load at a time per version. */
  compiled(versionId: string, load: () => Promise<CompiledGraph>): Promise<CompiledGraph> {
    const kept = this.#get(versionId);
    if (kept) return Promise.resolve(kept);
    return this.#compiling.share(versionId, async () => {
      const compiled = await load();
      this.#set(versionId, compiled);
      return compiled;
    });
  }

  #set(versionId: string, compiled: CompiledGraph): void {
    this.#entries.set(versionId, compiled);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** The version id a run of `workflowId` at `version` (null: the latest) last resolved to, with its compiled graph. */
  resolved(workflowId: string, version: number | null): { versionId: string; compiled: CompiledGraph } | null {
    const versionId = this.#resolved.get(`${workflowId}:${version ?? "latest"}`);
    const compiled = versionId === undefined ? undefined : this.#get(versionId);
    return versionId !== undefined && compiled ? { versionId, compiled } : null;
  }

  /**
   * What a run of `workflowId` at `version` (null: the latest), in `workspaceId`, looked up less than
   * `RECENT_MS` ago, with its compiled graph. Kept by workspace, so a lookup only ever answers the
   * tenant whose statement made it.
   */
  recent(workspaceId: string, workflowId: string, version: number | null): (RecentLookup & { compiled: CompiledGraph }) | null {
    const key = recentKey(workspaceId, workflowId, version);
    const found = this.#recent.get(key);
    if (!found) return null;
    const compiled = this.#now() - found.at < RECENT_MS ? this.#get(found.versionId) : undefined;
    if (!compiled) {
      this.#recent.delete(key);
      return null;
    }
    return { versionId: found.versionId, version: found.version, allowPrivateNetwork: found.allowPrivateNetwork, compiled };
  }

  /** Remembers, from now, what the database said about starting a run of `workflowId` at `version` in `workspaceId`. */
  rememberLookup(workspaceId: string, workflowId: string, version: number | null, lookup: RecentLookup): void {
    const key = recentKey(workspaceId, workflowId, version);
    this.#recent.delete(key);
    this.#recent.set(key, { ...lookup, workflowId, at: this.#now() });
    if (this.#recent.size > this.#capacity) this.#recent.delete(this.#recent.keys().next().value as string);
  }

  /** The cache's clock, in milliseconds: when a statement that may confirm a lookup began. */
  now(): number {
    return this.#now();
  }

  /**
   * A statement begun at `at` (this cache's clock) found that runs of `workflowId` at `version` in
   * `workspaceId` still start as `lookup` says: what is remembered counts from then. Only renews what
   * is still remembered as that lookup, so nothing forgotten meanwhile comes back.
   */
  confirmLookup(workspaceId: string, workflowId: string, version: number | null, lookup: RecentLookup, at: number): void {
    const found = this.#recent.get(recentKey(workspaceId, workflowId, version));
    if (!found || found.at >= at) return;
    if (
      found.versionId === lookup.versionId &&
      found.version === lookup.version &&
      found.allowPrivateNetwork === lookup.allowPrivateNetwork
    ) {
      found.at = at;
    }
  }

  /** Forgets what was looked up about a workflow (it was published, archived, or a run found it changed). */
  forgetWorkflow(workflowId: string): void {
    for (const [key, lookup] of this.#recent) if (lookup.workflowId === workflowId) this.#recent.delete(key);
  }

  /** Forgets every lookup (a workspace's settings changed). */
  forgetLookups(): void {
    this.#recent.clear();
  }

  /** Remembers what a run of `workflowId` at `version` resolved to. */
  resolve(workflowId: string, version: number | null, versionId: string): void {
    const key = `${workflowId}:${version ?? "latest"}`;
    this.#resolved.delete(key);
    this.#resolved.set(key, versionId);
    if (this.#resolved.size > this.#capacity) this.#resolved.delete(this.#resolved.keys().next().value as string);
  }
}
