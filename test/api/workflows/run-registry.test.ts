import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres, type DatabaseHandle, type Notifications, type Subscription } from "../../../server/db/database.ts";
import { AbortSwitch } from "../../../server/workflow/index.ts";
import { RunRegistry } from "../../../server/workflows/run-registry.ts";
import { openTestDatabase } from "../../harness.ts";

let database: DatabaseHandle;
let unreachable: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
  // A server nobody listens on: every subscription to it fails, as when the database is down.
  unreachable = openPostgres("postgres://postgres@127.0.0.1:1/none", 1);
});
afterAll(async () => {
  await unreachable.close();
  await database.close();
});

/** A run the test ends when it likes. */
function heldRun() {
  let end!: () => void;
  const done = new Promise<void>((resolve) => (end = resolve));
  return { run: { cancel: new AbortSwitch(), done }, end };
}

describe("the run registry's stop subscription", () => {
  it("aborts a run when its stop is notified, and only that run", async () => {
    const registry = new RunRegistry(database.db, undefined, database);
    const [a, b] = [heldRun(), heldRun()];
    registry.add("01a24400-0000-7000-8000-00000000000a", a.run);
    registry.add("01a24400-0000-7000-8000-00000000000b", b.run);
    const aborted = new Promise((resolve) => a.run.cancel.listen({ onAbort: resolve }));
    // The subscription is made as the first run is added; a notification before it is made is the renewal's to catch.
    for (let i = 0; i < 200 && !a.run.cancel.aborted; i++) {
      await sql`select pg_notify('workflow_run_stop', ${"01a24400-0000-7000-8000-00000000000a"})`.execute(database.db);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await aborted;
    expect([a.run.cancel.aborted, b.run.cancel.aborted]).toEqual([true, false]);
    a.end();
    b.end();
  });

  it("listens again with the next run once its subscription reports it was lost", async () => {
    // The database's own subscriptions, counted; a loss is reported as the handle reports one
    // (test/db/notifications.test.ts terminates a real listening connection to see it).
    const made: { subscription: Promise<Subscription>; lose: () => void }[] = [];
    const counted: Notifications = {
      listen: (channel, onMessage, onLost) => {
        const subscription = database.listen(channel, onMessage, onLost);
        made.push({ subscription, lose: () => onLost?.() });
        return subscription;
      },
    };
    const registry = new RunRegistry(database.db, undefined, counted);
    const first = heldRun();
    registry.add("01a24400-0000-7000-8000-0000000000e1", first.run);
    await made[0]!.subscription;
    made[0]!.lose();
    const second = heldRun();
    registry.add("01a24400-0000-7000-8000-0000000000e2", second.run);
    expect(made).toHaveLength(2);
    await made[1]!.subscription;
    const aborted = new Promise((resolve) => second.run.cancel.listen({ onAbort: resolve }));
    await sql`select pg_notify('workflow_run_stop', ${"01a24400-0000-7000-8000-0000000000e2"})`.execute(database.db);
    await aborted;
    expect(first.run.cancel.aborted).toBe(false);
    await (await made[0]!.subscription).close();
    first.end();
    second.end();
  });

  it("goes on without one when the database cannot be listened to, trying again only after a pause", async () => {
    let attempts = 0;
    const failing: Notifications = {
      listen: (...args) => {
        attempts++;
        return unreachable.listen(...args);
      },
    };
    const registry = new RunRegistry(database.db, undefined, failing);
    const first = heldRun();
    registry.add("01a24400-0000-7000-8000-0000000000c1", first.run);
    // Let the failed attempt settle, then add more runs within the pause.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const more = [heldRun(), heldRun()];
    more.forEach((held, i) => registry.add(`01a24400-0000-7000-8000-0000000000d${i}`, held.run));
    expect(attempts).toBe(1);
    expect(registry.get("01a24400-0000-7000-8000-0000000000c1")).toBe(first.run);
    for (const held of [first, ...more]) held.end();
  });
});
