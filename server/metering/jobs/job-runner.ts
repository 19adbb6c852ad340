import { sql, type Kysely, type Selectable } from "kysely";
import type { Logger } from "pino";
import type { BackgroundJobsTable, Database } from "../../../generated/db.ts";

/** A claimed job, as its handler sees it. */
export interface Job {
  id: string;
  kind: string;
  organizationId: string | null;
  payload: Record<string, unknown>;
  /** 1 on the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** When the next attempt will run if this one fails; null when this is the last. */
  retryAt: Date | null;
}

/** Runs one attempt of a job; throwing fails the attempt (retried with backoff until the last). */
export type JobHandler = (job: Job) => Promise<void>;

/** 30 s after the first failure, then four times longer each time, at most 6 hours apart. */
export function defaultBackoff(failedAttempt: number): number {
  return Math.min(30_000 * 4 ** (failedAttempt - 1), 6 * 3600_000);
}

type JobRow = Selectable<BackgroundJobsTable>;

/**
 * The background job queue's worker. Due jobs are claimed with `FOR UPDATE SKIP LOCKED` and held
 * by a lease, so any number of servers share the queue, and a job whose server died is taken again
 * when its lease runs out (delivery is at least once). `start()` polls; `stop()` stops claiming and
 * waits for the jobs in flight, so a shutdown can close the database afterwards.
 *
 * @example
 * const runner = createJobRunner({ db, now, logger, handlers: { "webhook.deliver": deliver } });
 * runner.start();
 * await runner.stop();
 */
export function createJobRunner(deps: {
  db: Kysely<Database>;
  now: () => Date;
  logger: Logger;
  handlers: Record<string, JobHandler>;
  pollIntervalMs?: number;
  batchSize?: number;
  leaseMs?: number;
  backoff?: (failedAttempt: number) => number;
}) {
  const { db, now, logger } = deps;
  const backoff = deps.backoff ?? defaultBackoff;
  const leaseMs = deps.leaseMs ?? 60_000;
  let timer: NodeJS.Timeout | null = null;
  let stopped = true;
  let inFlight: Promise<number> | null = null;

  async function claim(): Promise<JobRow[]> {
    const at = now();
    const { rows } = await sql<JobRow>`
      update background_jobs
      set attempts = attempts + 1, locked_until = ${new Date(at.getTime() + leaseMs).toISOString()}::timestamptz,
          updated_at = ${at.toISOString()}::timestamptz
      where id in (
        select id from background_jobs
        where status = 'pending' and run_at <= ${at.toISOString()}::timestamptz
          and (locked_until is null or locked_until <= ${at.toISOString()}::timestamptz)
        order by run_at
        limit ${deps.batchSize ?? 10}
        for update skip locked)
      returning *`.execute(db);
    return rows;
  }

  /** Settles an attempt; a no-op when the lease was lost (the job was taken again after it ran out). */
  async function settle(row: JobRow, error: unknown): Promise<void> {
    const at = now();
    if (error === null) {
      await db
        .updateTable("background_jobs")
        .set({ status: "succeeded", locked_until: null, last_error: null, updated_at: at })
        .where("id", "=", row.id)
        .where("locked_until", "=", row.locked_until)
        .execute();
      return;
    }
    const last = row.attempts >= row.max_attempts;
    const reason = error instanceof Error ? error.message : String(error);
    await db
      .updateTable("background_jobs")
      .set({
        status: last ? "failed" : "pending",
        run_at: last ? row.run_at : new Date(at.getTime() + backoff(row.attempts)),
        locked_until: null,
        last_error: reason.slice(0, 2000),
        updated_at: at,
      })
      .where("id", "=", row.id)
      .where("locked_until", "=", row.locked_until)
      .execute();
    logger.warn({ jobId: row.id, kind: row.kind, attempt: row.attempts, last, err: reason }, "background job attempt failed");
  }

  async function run(row: JobRow): Promise<void> {
    const handler = deps.handlers[row.kind];
    const retryAt = row.attempts < row.max_attempts ? new Date(now().getTime() + backoff(row.attempts)) : null;
    let failure: unknown = null;
    try {
      if (!handler) throw new Error(`no handler for job kind ${row.kind}`);
      await handler({
        id: row.id,
        kind: row.kind,
        organizationId: row.organization_id,
        payload: row.payload as Record<string, unknown>,
        attempt: row.attempts,
        maxAttempts: row.max_attempts,
        retryAt,
      });
    } catch (error) {
      failure = error ?? new Error("job failed");
    }
    await settle(row, failure);
  }

  /** Claims the jobs due now and runs them; resolves with how many ran. */
  async function runOnce(): Promise<number> {
    const rows = await claim();
    await Promise.all(rows.map(run));
    return rows.length;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = runOnce()
        .catch((error: unknown) => {
          logger.error({ err: error }, "background job poll failed");
          return 0;
        })
        .finally(() => {
          inFlight = null;
          schedule();
        });
    }, deps.pollIntervalMs ?? 1000);
  }

  return {
    runOnce,
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await inFlight;
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
