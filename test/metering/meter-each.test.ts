import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentPlanOf, type CurrentPlan } from "../../server/billing/current-plan.ts";
import { newId } from "../../server/ids.ts";
import { createTestApp, type TestApp } from "../harness.ts";
import { createTenant, type TestTenant } from "../fixtures.ts";
import { FREE, ledgerAndCounter, meterEachOf, meterEventOf, type MeterEventInput } from "./support.ts";

// meter_each() (sql/0022, redefined by sql/0026) takes the single-event calls a server has gathered, as one set. Its
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
});
