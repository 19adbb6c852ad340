import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScheduler, type ScheduledJob } from "../../server/jobs/scheduler.ts";
import { createClock, openTestDatabase } from "../harness.ts";
import type { DatabaseHandle } from "../../server/db/database.ts";

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const logger = pino({ level: "silent" });
const MINUTE = 60_000;

/** A job with a unique name (the native database is shared by every test file) that counts its runs. */
function countingJob(run: () => Promise<void> = async () => {}): ScheduledJob & { runs: number } {
  const job = {
    name: `test.${randomUUID()}`,
    everyMs: MINUTE,
    runs: 0,
    async run() {
      job.runs += 1;
      await run();
    },
  };
  return job;
}

describe("the scheduler", () => {
  it("runs a due job once however many servers tick, then again only when it is due", async () => {
    const clock = createClock(new Date("2034-01-01T00:00:00Z"));
    const job = countingJob();
    const servers = [1, 2, 3].map(() => createScheduler({ db: database.db, now: clock.now, logger, jobs: [job] }));
    const ran = await Promise.all(servers.map((s) => s.runDueJobs()));
    expect(ran.flat()).toEqual([job.name]);
    expect(job.runs).toBe(1);
    expect((await Promise.all(servers.map((s) => s.runDueJobs()))).flat()).toEqual([]);
    clock.advance(MINUTE - 1);
    expect((await Promise.all(servers.map((s) => s.runDueJobs()))).flat()).toEqual([]);
    clock.advance(1);
    expect((await Promise.all(servers.map((s) => s.runDueJobs()))).flat()).toEqual([job.name]);
    expect(job.runs).toBe(2);
    const row = await database.db.selectFrom("job_schedules").selectAll().where("name", "=", job.name).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      next_run_at: new Date("2034-01-01T00:02:00Z"),
      leased_until: null,
      last_started_at: new Date("2034-01-01T00:01:00Z"),
      last_error: null,
    });
  });

  it("records a failed run and keeps the schedule", async () => {
    const clock = createClock(new Date("2034-01-01T00:00:00Z"));
    const job = countingJob(async () => {
      throw new Error("boom");
    });
    const scheduler = createScheduler({ db: database.db, now: clock.now, logger, jobs: [job] });
    expect(await scheduler.runDueJobs()).toEqual([job.name]);
    const row = await database.db.selectFrom("job_schedules").selectAll().where("name", "=", job.name).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ last_error: "Error: boom", leased_until: null, next_run_at: new Date("2034-01-01T00:01:00Z") });
    clock.advance(MINUTE);
    expect(await scheduler.runDueJobs()).toEqual([job.name]);
  });

  it("does not start a run while another server's run holds the job, even when it is due again", async () => {
    const clock = createClock(new Date("2034-01-01T00:00:00Z"));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const job = countingJob(() => held);
    const a = createScheduler({ db: database.db, now: clock.now, logger, jobs: [job] });
    const b = createScheduler({ db: database.db, now: clock.now, logger, jobs: [job] });
    const first = a.runDueJobs();
    while (job.runs === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    clock.advance(2 * MINUTE);
    expect(await b.runDueJobs()).toEqual([]);
    release();
    expect(await first).toEqual([job.name]);
    expect(await b.runDueJobs()).toEqual([job.name]);
    expect(job.runs).toBe(2);
  });

  it("ticks once started, and stop waits for the run in flight", async () => {
    const clock = createClock(new Date("2034-01-01T00:00:00Z"));
    let finished = false;
    const job = countingJob(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      finished = true;
    });
    const scheduler = createScheduler({ db: database.db, now: clock.now, logger, jobs: [job], tickMs: 10 });
    scheduler.start();
    while (job.runs === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await scheduler.stop();
    expect(finished).toBe(true);
    clock.advance(MINUTE);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(job.runs).toBe(1);
  });
});
