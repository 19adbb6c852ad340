import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { currentPlanOf } from "../../server/billing/current-plan.ts";
import { openPostgres, type DatabaseHandle } from "../../server/db/database.ts";
import { createMeteringServices } from "../../server/metering/services.ts";
import { createTestApp, TEST_AUTH_SECRET, type TestApp } from "../harness.ts";
import { createTenant, type TestTenant } from "../fixtures.ts";
import { ledgerAndCounter, meterEachOf, meterEventOf } from "./support.ts";

// meter_each() (sql/0026) classifies a batch's events before it locks the counters it needs. A key
// another call stores while the batch waits for that lock must still count once: the batch finds
// it at its ledger insert and answers it from the ledger, a replay or a conflict as the stored
// event says. Only the native server has two sessions that can interleave this way.
//
// For a call of several events (sql/0027) a late conflict must not leave the call's other events
// recorded: the statement undoes the batch (MQ005) and the server sends it again.

let api: TestApp;
let other: DatabaseHandle;

// A `*.native.test.ts` file: runs only in the native-Postgres project.
describe("meter_each on native Postgres", () => {
  beforeAll(async () => {
    api = await createTestApp();
    other = openPostgres((inject("testDatabase") as { url: string }).url, 1);
  });
  afterAll(async () => {
    await other?.close();
    await api?.close();
  });

  /**
   * Holds the tenant's counters in a transaction of another session until `batch` waits behind it,
   * then runs `store` in that transaction and commits: what the batch classified as new is stored
   * by the time it gets the lock.
   */
  async function whileCountersHeld<T>(t: TestTenant, batch: () => Promise<unknown>, store: (trx: Kysely<Database>) => Promise<T>) {
    let waiting: Promise<unknown> | null = null;
    const stored = await other.db.transaction().execute(async (trx) => {
      await sql`select 1 from usage_counters where organization_id = ${t.organizationId} for update`.execute(trx);
      const { rows: holder } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      waiting = batch();
      waiting.catch(() => {});
      // Until the batch waits behind this transaction's lock: it has classified its keys as new.
      for (let i = 0; ; i++) {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity a where ${holder[0]!.pid}::int = any(pg_blocking_pids(a.pid))`.execute(api.db);
        if (rows[0]!.n > 0) break;
        if (i > 500) throw new Error("the batch never waited for the counter's lock");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return store(trx);
    });
    return { stored, waiting: waiting! as Promise<unknown> };
  }

  it("answers a key stored by another call while the batch waited for the counter from the ledger, counted once", async () => {
    const t = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    const event = (ord: number, key: string, quantity: number) => meterEventOf(api.clock.now(), t, plan, ord, { key, quantity });
    // The counter exists, so the waiting batch gets past making it and stops at its lock.
    await meterEachOf(api.db, api.clock.now(), [event(0, "first", 1)]);

    const { stored, waiting } = await whileCountersHeld(
      t,
      () => meterEachOf(api.db, api.clock.now(), [event(0, "same", 2), event(1, "changed", 3)]),
      (trx) => meterEachOf(trx, api.clock.now(), [event(0, "same", 2), event(1, "changed", 4)]),
    );
    expect(stored).toEqual([
      { status: "recorded", used: 7, stored: null },
      { status: "recorded", used: 7, stored: null },
    ]);

    expect(await waiting).toEqual([
      {
        status: "replayed",
        used: null,
        stored: expect.objectContaining({
          organization_id: t.organizationId,
          idempotency_key: "same",
          resource_type: "api_call",
          quantity: 2,
        }),
      },
      { status: "conflict", used: 7, stored: null },
    ]);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", plan.periodStart)).toEqual({ ledger: 7, counter: 7 });
  });

  it("undoes a batch whose call of several events finds one of its keys stored meanwhile for another event; sent again, the call is a conflict", async () => {
    const t = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    const event = (ord: number, key: string, quantity: number, grp = ord) =>
      meterEventOf(api.clock.now(), t, plan, ord, { key, quantity, grp });
    await meterEachOf(api.db, api.clock.now(), [event(0, "first", 1)]);

    // Straight through SQL: the whole statement fails, the lone call beside the group included.
    const raw = await whileCountersHeld(
      t,
      () => meterEachOf(api.db, api.clock.now(), [event(0, "g-new", 1, 0), event(1, "g-changed", 3, 0), event(2, "lone", 1, 1)]),
      (trx) => meterEachOf(trx, api.clock.now(), [event(0, "g-changed", 4)]),
    );
    expect(raw.stored).toEqual([{ status: "recorded", used: 5, stored: null }]);
    await expect(raw.waiting).rejects.toMatchObject({ code: "MQ005" });
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", plan.periodStart)).toEqual({ ledger: 5, counter: 5 });

    // Through the server's meter: it sends the batch again, and the call answers 409, recording nothing.
    const metering = createMeteringServices({ db: api.db, now: api.clock.now, authSecret: TEST_AUTH_SECRET });
    const call = await whileCountersHeld(
      t,
      () =>
        metering.meter.record(t.organizationId, [
          { idempotencyKey: "h-new", resourceType: "api_call", quantity: 1 },
          { idempotencyKey: "h-changed", resourceType: "api_call", quantity: 3 },
        ]),
      (trx) => meterEachOf(trx, api.clock.now(), [event(0, "h-changed", 4)]),
    );
    await expect(call.waiting).rejects.toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", plan.periodStart)).toEqual({ ledger: 9, counter: 9 });
  });
});
