import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../../generated/db.ts";
import type { Notifications, Subscription } from "../db/database.ts";
import type { AbortSwitch } from "../workflow/index.ts";
import { renewLeases, STOP_CHANNEL } from "./run-queries.ts";

/** How often the leases of running runs are renewed (a third of their length). */
export const LEASE_RENEWAL_MS = 10_000;

/** How long the stop channel stays subscribed after the last run ends, so steady traffic keeps one subscription. */
const IDLE_SUBSCRIPTION_MS = 5_000;

/** After a failed subscription, how long runs go without one before it is tried again. */
const SUBSCRIBE_RETRY_MS = 5_000;

interface ActiveRun {
  /** Throwing it stops the run (see executeWorkflow's `signal`). */
  cancel: AbortSwitch;
  /** Settles once the run's record is finished. */
  done: Promise<unknown>;
}

/**
 * The runs this server is executing, so `stopWorkflowRun` can abort them. While any is running it
 * renews their leases every 10 seconds (a run whose lease passes is treated as orphaned by a
 * crash) and picks up stop requests that reached another server. With the database's
 * notifications it also listens for those stop requests (`STOP_CHANNEL`), so they take effect at
 * once; the renewal still catches any sent while the subscription was down.
 */
export class RunRegistry {
  readonly #runs = new Map<string, ActiveRun>();
  readonly #db: Kysely<Database>;
  readonly #log: Logger | undefined;
  readonly #notifications: Notifications | undefined;
  #timer: ReturnType<typeof setInterval> | null = null;
  #subscription: Promise<Subscription | null> | null = null;
  #idle: ReturnType<typeof setTimeout> | null = null;
  #retryAfter = 0;

  constructor(db: Kysely<Database>, log?: Logger, notifications?: Notifications) {
    this.#db = db;
    this.#log = log;
    this.#notifications = notifications;
  }

  add(runId: string, run: ActiveRun): void {
    this.#runs.set(runId, run);
    this.#timer ??= setInterval(() => void this.#renew(), LEASE_RENEWAL_MS);
    this.#subscribe();
    void run.done.finally(() => {
      this.#runs.delete(runId);
      if (this.#runs.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
        this.#unsubscribeWhenIdle();
      }
    });
  }

  get(runId: string): ActiveRun | undefined {
    return this.#runs.get(runId);
  }

  #subscribe(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    if (!this.#notifications || this.#subscription || Date.now() < this.#retryAfter) return;
    const subscription = this.#notifications
      .listen(
        STOP_CHANNEL,
        (runId) => this.#runs.get(runId)?.cancel.abort(),
        () => {
          if (this.#subscription === subscription) this.#subscription = null;
        },
      )
      .catch((error: unknown) => {
        this.#log?.warn({ err: error }, "could not listen for stop requests; they take effect at the next lease renewal");
        this.#retryAfter = Date.now() + SUBSCRIBE_RETRY_MS;
        if (this.#subscription === subscription) this.#subscription = null;
        return null;
      });
    this.#subscription = subscription;
  }

  #unsubscribeWhenIdle(): void {
    const subscription = this.#subscription;
    if (!subscription) return;
    this.#idle = setTimeout(() => {
      this.#idle = null;
      if (this.#subscription !== subscription) return;
      this.#subscription = null;
      void subscription.then((s) => s?.close()).catch(() => {});
    }, IDLE_SUBSCRIPTION_MS);
    this.#idle.unref();
  }

  async #renew(): Promise<void> {
    try {
      for (const runId of await renewLeases(this.#db, [...this.#runs.keys()])) this.#runs.get(runId)?.cancel.abort();
    } catch (error) {
      this.#log?.warn({ err: error }, "could not renew the leases of running workflow runs");
    }
  }
}
