import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentPlanOf, type CurrentPlan } from "../../server/billing/current-plan.ts";
import { newId } from "../../server/ids.ts";
import { createTestApp, type TestApp } from "../harness.ts";
import { createTenant, type TestTenant } from "../fixtures.ts";
import { FREE, ledgerAndCounter, meterEachOf, meterEventOf, type MeterEventInput } from "./support.ts";

// meter_each() (sql/0022, redefined by sql/0026 and 0027) takes the calls a server has gathered, as one set, each
// call's events a group that records whole or not at all. Its
// answers are checked here for one batch that holds every case at once, straight through SQL, so
// the batch is exactly what the test says; test/api/metering/gathered-calls.test.ts races calls
// through the HTTP API into such batches.

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const eventOf = (t: TestTenant, plan: CurrentPlan, ord: number, e: MeterEventInput) => meterEventOf(api.clock.now(), t, plan, ord, e);
const meterEach = (events: unknown[]) => meterEachOf(api.db, api.clock.now(), events);

describe("meter_each", () => {
  it("answers every event of a batch by itself: recorded, replayed, conflict, invalid, refused", async () => {
    const t = await createTenant(api);
    const other = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    const [stored] = await meterEach([eventOf(t, plan, 0, { key: "stored-before", quantity: FREE.apiCalls - 10 })]);
    expect(stored).toEqual({ status: "recorded", used: FREE.apiCalls - 10, stored: null });

    // Room for 10 more. Smallest first: 3 + 3 + 4 fit, the 5 does not.
    const answers = await meterEach([
      eventOf(t, plan, 0, { key: "big", quantity: 5 }),
      eventOf(t, plan, 1, { key: "small-a", quantity: 3 }),
      eventOf(t, plan, 2, { key: "stored-before", quantity: FREE.apiCalls - 10 }),
      eventOf(t, plan, 3, { key: "small-a", quantity: 3 }),
      eventOf(t, plan, 4, { key: "small-b", quantity: 3 }),
      eventOf(t, plan, 5, { key: "small-b", quantity: 2 }),
      eventOf(t, plan, 6, { key: "elsewhere", quantity: 1, workspaceId: other.workspaceId }),
      eventOf(t, plan, 7, { key: "medium", quantity: 4 }),
    ]);
    const replayOf = (key: string, quantity: number) =>
      expect.objectContaining({
        organization_id: t.organizationId,
        idempotency_key: key,
        resource_type: "api_call",
        quantity,
        cost_amount: null,
      });
    expect(answers).toEqual([
      { status: "refused", used: FREE.apiCalls, stored: null },
      { status: "recorded", used: FREE.apiCalls, stored: null },
      { status: "replayed", used: null, stored: replayOf("stored-before", FREE.apiCalls - 10) },
      // A key repeated in the batch is one event: the repeat answers as a replay of the first...
      { status: "replayed", used: null, stored: replayOf("small-a", 3) },
      { status: "recorded", used: FREE.apiCalls, stored: null },
      // ...unless it carries another event.
      { status: "conflict", used: FREE.apiCalls, stored: null },
      { status: "invalid", used: FREE.apiCalls, stored: null },
      { status: "recorded", used: FREE.apiCalls, stored: null },
    ]);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", plan.periodStart)).toEqual({
      ledger: FREE.apiCalls,
      counter: FREE.apiCalls,
    });
    const rollups = await api.db
      .selectFrom("usage_rollups")
      .select(["granularity", "quantity"])
      .where("organization_id", "=", t.organizationId)
      .orderBy("granularity")
      .execute();
    expect(rollups).toEqual([
      { granularity: "day", quantity: BigInt(FREE.apiCalls) },
      { granularity: "hour", quantity: BigInt(FREE.apiCalls) },
    ]);
    // The batch crossed 80 % and 100 %: one warning each.
    const warnings = await api.db
      .selectFrom("quota_warnings")
      .select(["metric", "level", "value"])
      .where("organization_id", "=", t.organizationId)
      .orderBy("level")
      .execute();
    expect(warnings).toEqual([
      { metric: "api_calls_per_month", level: 80, value: BigInt(FREE.apiCalls - 10) },
      { metric: "api_calls_per_month", level: 100, value: BigInt(FREE.apiCalls) },
    ]);
  });

  it("records usage that already happened past the limit, and admits it before enforced events", async () => {
    const t = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    await meterEach([eventOf(t, plan, 0, { key: "before", quantity: FREE.apiCalls - 2 })]);
    const answers = await meterEach([
      eventOf(t, plan, 0, { key: "enforced", quantity: 1 }),
      eventOf(t, plan, 1, { key: "happened", quantity: 5, enforce: false }),
    ]);
    expect(answers).toEqual([
      { status: "refused", used: FREE.apiCalls + 3, stored: null },
      { status: "recorded", used: FREE.apiCalls + 3, stored: null },
    ]);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", plan.periodStart)).toEqual({
      ledger: FREE.apiCalls + 3,
      counter: FREE.apiCalls + 3,
    });
  });

  it("answers stale for a plan the subscription no longer holds, and writes nothing for it", async () => {
    const t = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    const answers = await meterEach([
      eventOf(t, { ...plan, planId: newId() }, 0, { key: "old-plan", quantity: 1 }),
      eventOf(t, plan, 1, { key: "current", quantity: 1 }),
    ]);
    expect(answers).toEqual([
      { status: "stale", used: 1, stored: null },
      { status: "recorded", used: 1, stored: null },
    ]);
    const keys = await api.db
      .selectFrom("usage_records")
      .select("idempotency_key")
      .where("organization_id", "=", t.organizationId)
      .execute();
    expect(keys).toEqual([{ idempotency_key: "current" }]);
  });

  it("records a call's events all or none: one that does not fit withdraws the others, and other calls go on", async () => {
    const t = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    await meterEach([eventOf(t, plan, 0, { key: "before", quantity: FREE.apiCalls - 5 })]);
    // Room for 5 calls. Call 0 asks 3 + 4 of them with some tokens; call 1 asks 2 and fits.
    const answers = await meterEach([
      eventOf(t, plan, 0, { key: "c0-tokens", quantity: 100, type: "token", grp: 0 }),
      eventOf(t, plan, 1, { key: "c0-a", quantity: 3, grp: 0 }),
      eventOf(t, plan, 2, { key: "c0-b", quantity: 4, grp: 0 }),
      eventOf(t, plan, 3, { key: "c1", quantity: 2, grp: 1 }),
    ]);
    expect(answers).toEqual([
      { status: "withdrawn", used: 0, stored: null },
      { status: "withdrawn", used: FREE.apiCalls - 3, stored: null },
      // What it did not fit counts the 3 of its own call before it.
      { status: "refused", used: FREE.apiCalls, stored: null },
      { status: "recorded", used: FREE.apiCalls - 3, stored: null },
    ]);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", plan.periodStart)).toEqual({
      ledger: FREE.apiCalls - 3,
      counter: FREE.apiCalls - 3,
    });
    expect(await ledgerAndCounter(api, t.organizationId, "token", plan.periodStart)).toEqual({ ledger: 0, counter: 0 });

    const fits = await meterEach([
      eventOf(t, plan, 0, { key: "c2-tokens", quantity: 100, type: "token", grp: 7 }),
      eventOf(t, plan, 1, { key: "c2", quantity: 3, grp: 7 }),
    ]);
    expect(fits).toEqual([
      { status: "recorded", used: 100, stored: null },
      { status: "recorded", used: FREE.apiCalls, stored: null },
    ]);
  });

  it("fails a call whose key holds another event, or that another call of the batch also carries, and records none of it", async () => {
    const t = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    await meterEach([eventOf(t, plan, 0, { key: "stored", quantity: 2 })]);
    const answers = await meterEach([
      eventOf(t, plan, 0, { key: "a-new", quantity: 1, grp: 0 }),
      eventOf(t, plan, 1, { key: "stored", quantity: 3, grp: 0 }),
      eventOf(t, plan, 2, { key: "b-new", quantity: 1, grp: 1 }),
      eventOf(t, plan, 3, { key: "b-twice", quantity: 1, grp: 1 }),
      eventOf(t, plan, 4, { key: "b-twice", quantity: 2, grp: 1 }),
      eventOf(t, plan, 5, { key: "shared", quantity: 1, grp: 2 }),
      eventOf(t, plan, 6, { key: "c-new", quantity: 1, grp: 3 }),
      eventOf(t, plan, 7, { key: "shared", quantity: 1, grp: 3 }),
      eventOf(t, plan, 8, { key: "stored", quantity: 2, grp: 4 }),
      eventOf(t, plan, 9, { key: "d-new", quantity: 1, grp: 4 }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([
      "withdrawn",
      "conflict",
      "withdrawn",
      "withdrawn",
      "conflict",
      "recorded",
      // Call 3 waits for call 2's answer: it goes again in a later batch.
      "withdrawn",
      "retry",
      // The same event under a stored key is a replay, and the rest of its call is recorded.
      "replayed",
      "recorded",
    ]);
    const keys = await api.db
      .selectFrom("usage_records")
      .select("idempotency_key")
      .where("organization_id", "=", t.organizationId)
      .orderBy("idempotency_key")
      .execute();
    expect(keys.map((k) => k.idempotency_key)).toEqual(["d-new", "shared", "stored"]);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", plan.periodStart)).toEqual({ ledger: 4, counter: 4 });
  });

  it("refuses a batch with an event that names no group", async () => {
    const t = await createTenant(api);
    const plan = (await currentPlanOf(api.db, t.organizationId, api.clock.now()))!;
    const { grp: _grp, ...lone } = eventOf(t, plan, 0, { key: "no-group", quantity: 1 });
    await expect(meterEach([lone])).rejects.toThrow(/every event names its group/);
  });
});
