import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../server/db/database.ts";
import { onPGlite, openTestDatabase } from "../harness.ts";

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

/** Resolves once `received` holds `count` messages, or fails after `ms` (a missing notification, not a slow one). */
async function until(received: string[], count: number, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`got ${received.length} of ${count} notifications: ${JSON.stringify(received)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("the database's notifications", () => {
  it("deliver what pg_notify sends once its transaction commits, to each subscriber of the channel, until closed", async () => {
    const first: string[] = [];
    const second: string[] = [];
    const other: string[] = [];
    const a = await database.listen("test_channel", (payload) => first.push(payload));
    const b = await database.listen("test_channel", (payload) => second.push(payload));
    const c = await database.listen("test_other_channel", (payload) => other.push(payload));

    await database.db.transaction().execute(async (trx) => {
      await sql`select pg_notify('test_channel', 'in a transaction')`.execute(trx);
      await sql`select pg_notify('test_channel', 'also')`.execute(trx);
    });
    await expect(
      database.db.transaction().execute(async (trx) => {
        await sql`select pg_notify('test_channel', 'rolled back')`.execute(trx);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await sql`select pg_notify('test_channel', 'alone')`.execute(database.db);
    await until(first, 3);
    await until(second, 3);
    expect(first).toEqual(["in a transaction", "also", "alone"]);
    expect(second).toEqual(first);
    expect(other).toEqual([]);

    await a.close();
    await sql`select pg_notify('test_channel', 'after close')`.execute(database.db);
    await until(second, 4);
    expect([first.at(-1), second.at(-1)]).toEqual(["alone", "after close"]);
    await b.close();
    await c.close();
  });

  it("refuses a channel that is not a plain lower-case name", async () => {
    await expect(database.listen("x; drop table users", () => {})).rejects.toThrow("not a channel name");
  });

  it.runIf(!onPGlite())("tells the subscriber when its connection is lost", async () => {
    let lost = 0;
    const subscription = await database.listen(
      "test_lost_channel",
      () => {},
      () => lost++,
    );
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where query = 'listen test_lost_channel'`.execute(database.db);
    const deadline = Date.now() + 5_000;
    while (lost === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(lost).toBe(1);
    await subscription.close();
  });
});
