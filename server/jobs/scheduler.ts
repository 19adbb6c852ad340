import { sql, type Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../../generated/db.ts";

/** A job the scheduler runs every `everyMs`. Its work must be safe to repeat: a crash may leave a run half done. */
export interface ScheduledJob {
  name: string;
  everyMs: number;
  /** How long one run may hold the job before another server may take it over (default: ten times `everyMs`). */
  leaseMs?: number;
  run(): Promise<unknown>;
}

/** What the scheduler needs. `now` is the clock every due time is read from; `tickMs` is how often it looks (real time). */
export interface SchedulerOptions {
  db: Kysely<Database>;
  now: () => Date;
  logger: Logger;
  jobs: ScheduledJob[];
  tickMs?: number;
}

/**
 * A small Postgres-backed scheduler. Every server runs one; each tick, each due job is claimed in
 * `job_schedules` with `FOR UPDATE SKIP LOCKED`, its next run moved on and a lease taken in the same
 * statement, so exactly one server runs each due run. A run that throws is logged and recorded; the
 * next is on time.
 *
 * @example
 * const scheduler = createScheduler({ db, now, logger, jobs: [{ name: "billing.periods", everyMs: 60_000, run }] });
 * scheduler.start();
 * await scheduler.stop(); // waits for a run in flight
 */
export function createScheduler(options: SchedulerOptions) {
  const { db, now, logger, jobs } = options;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<string[]> | null = null;

  /** Claims `job` if it is due: one server wins, the others see it locked or not due. */
  async function claim(job: ScheduledJob, at: Date): Promise<boolean> {
    await db
      .insertInto("job_schedules")
      .values({ name: job.name, next_run_at: at })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    const claimed = await sql<{ name: string }>`
      update job_schedules
      set next_run_at = ${new Date(at.getTime() + job.everyMs)},
          leased_until = ${new Date(at.getTime() + (job.leaseMs ?? job.everyMs * 10))},
          last_started_at = ${at}
      where name = (
        select name from job_schedules
        where name = ${job.name} and next_run_at <= ${at} and (leased_until is null or leased_until <= ${at})
        for update skip locked)
      returning name`.execute(db);
    return claimed.rows.length === 1;
  }

  async function finish(job: ScheduledJob, error: unknown) {
    await db
      .updateTable("job_schedules")
      .set({ leased_until: null, last_finished_at: now(), last_error: error === null ? null : String(error) })
      .where("name", "=", job.name)
      .execute();
  }

  /** Runs every job that is due now and that this server claims; returns the names of those it ran. */
  async function runDueJobs(): Promise<string[]> {
    const ran: string[] = [];
    for (const job of jobs) {
      if (!(await claim(job, now()))) continue;
      ran.push(job.name);
      let failure: unknown = null;
      try {
        await job.run();
      } catch (error) {
        failure = error;
        logger.error({ err: error, job: job.name }, "scheduled job failed");
      }
      await finish(job, failure);
    }
    return ran;
  }

  function tick() {
    if (inFlight) return;
    inFlight = runDueJobs()
      .catch((error: unknown) => {
        logger.error({ err: error }, "scheduler tick failed");
        return [];
      })
      .finally(() => {
        inFlight = null;
      });
  }

  return {
    runDueJobs,
    /** Starts ticking every `tickMs` (default 15 s), and once at once. */
    start() {
      if (timer) return;
      timer = setInterval(tick, options.tickMs ?? 15_000);
      timer.unref();
      tick();
    },
    /** Stops ticking and waits for a run in flight to finish. */
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await inFlight;
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
