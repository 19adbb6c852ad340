import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../../generated/db.ts";
import { renewLeases } from "./run-queries.ts";

/** How often the leases of running runs are renewed (a third of their length). */
export const LEASE_RENEWAL_MS = 10_000;

interface ActiveRun {
  controller: AbortController;
  /** Settles once the run's record is finished. */
  done: Promise<unknown>;
}

/**
 * The runs this server is executing, so `stopWorkflowRun` can abort them. While any is running it
 * renews their leases every 10 seconds (a run whose lease passes is treated as orphaned by a
 * crash) and picks up stop requests that reached another server.
 */
export class RunRegistry {
  readonly #runs = new Map<string, ActiveRun>();
  readonly #db: Kysely<Database>;
  readonly #log: Logger | undefined;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(db: Kysely<Database>, log?: Logger) {
    this.#db = db;
    this.#log = log;
  }

  add(runId: string, run: ActiveRun): void {
    this.#runs.set(runId, run);
    this.#timer ??= setInterval(() => void this.#renew(), LEASE_RENEWAL_MS);
    void run.done.finally(() => {
      this.#runs.delete(runId);
      if (this.#runs.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    });
  }

  get(runId: string): ActiveRun | undefined {
    return this.#runs.get(runId);
  }

  async #renew(): Promise<void> {
    try {
      for (const runId of await renewLeases(this.#db, [...this.#runs.keys()])) this.#runs.get(runId)?.controller.abort();
    } catch (error) {
      this.#log?.warn({ err: error }, "could not renew the leases of running workflow runs");
    }
  }
}
