import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../server/ids.ts";
import { createJobRunner, type Job } from "../../server/metering/jobs/job-runner.ts";
import { createTestApp, type TestApp } from "../harness.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

async function enqueue(kind: string, maxAttempts = 3) {
  const id = newId();
  const at = api.clock.now();
  await api.db
    .insertInto("background_jobs")
    .values({ id, kind, payload: JSON.stringify({ n: 1 }), max_attempts: maxAttempts, run_at: at, created_at: at, updated_at: at })
    .execute();
  return id;
}

const stateOf = (id: string) =>
  api.db
    .selectFrom("background_jobs")
    .select(["status", "attempts", "run_at", "last_error"])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();

describe("the background job runner", () => {
  it("retries a failing job with backoff until its last attempt, then settles it failed", async () => {
    const kind = `flaky-${newId()}`;
    const seen: Job[] = [];
    const runner = createJobRunner({
      db: api.db,
      now: api.clock.now,
      logger: pino({ level: "silent" }),
      handlers: {
        [kind]: async (job) => {
          seen.push(job);
          throw new Error(`attempt ${job.attempt} failed`);
        },
      },
    });
    const id = await enqueue(kind);
    await runner.runOnce();
    expect(await stateOf(id)).toEqual({
      status: "pending",
      attempts: 1,
      run_at: new Date(api.clock.now().getTime() + 30_000),
      last_error: "attempt 1 failed",
    });
    api.clock.advance(30_000);
    await runner.runOnce();
    expect((await stateOf(id)).run_at).toEqual(new Date(api.clock.now().getTime() + 120_000));
    api.clock.advance(120_000);
    await runner.runOnce();
    expect(await stateOf(id)).toMatchObject({ status: "failed", attempts: 3, last_error: "attempt 3 failed" });
    expect(seen.map((j) => [j.attempt, j.retryAt === null])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    api.clock.advance(-150_000);
  });

  it("takes a job again once its lease runs out, ignores the late end of the lost attempt, and stop() waits for jobs in flight", async () => {
    const kind = `slow-${newId()}`;
    let release = () => {};
    const started: string[] = [];
    const handler = async (job: Job) => {
      started.push(job.id);
      await new Promise<void>((resolve) => (release = resolve));
      throw new Error("finished after its lease ran out");
    };
    const first = createJobRunner({
      db: api.db,
      now: api.clock.now,
      logger: pino({ level: "silent" }),
      handlers: { [kind]: handler },
      pollIntervalMs: 5,
    });
    const id = await enqueue(kind);
    first.start();
    while (started.length === 0) await new Promise((r) => setTimeout(r, 5));
    let stopped = false;
    const stopping = first.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);

    // Meanwhile another server sees the job held, then free once the lease has passed.
    const second = createJobRunner({
      db: api.db,
      now: api.clock.now,
      logger: pino({ level: "silent" }),
      handlers: { [kind]: async () => {} },
    });
    expect(await second.runOnce()).toBe(0);
    api.clock.advance(61_000);
    expect(await second.runOnce()).toBe(1);
    expect(await stateOf(id)).toMatchObject({ status: "succeeded", attempts: 2 });
    release();
    await stopping;
    expect(stopped).toBe(true);
    // The first attempt's late failure does not undo the second's success: its lease was lost.
    expect(await stateOf(id)).toMatchObject({ status: "succeeded", attempts: 2, last_error: null });
    api.clock.advance(-61_000);
  });
});
