import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../harness.ts";
import { createTenant } from "../fixtures.ts";
import { meteredTestApp } from "./metered-route.ts";
import { createOrgKey, FREE, ledgerAndCounter, periodStartOf, recordUsage } from "./support.ts";

let api: TestApp;
let metered: ReturnType<typeof meteredTestApp>;
beforeAll(async () => {
  api = await createTestApp();
  metered = meteredTestApp(api.db, api.clock.now);
});
afterAll(() => api.close());

describe("the metering hook of @metered operations", () => {
  it("records one unit before the handler runs, and refuses the call before it once the quota is used up", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    // With the unit of the recordUsage call itself, room for 2.
    await recordUsage(api, t, key, [{ idempotencyKey: "prefill", resourceType: "api_call", quantity: FREE.apiCalls - 3 }]);
    const before = metered.handled();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await metered.request(t.organizationId, key.headers)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(metered.handled() - before).toBe(2);
    const refused = await metered.request(t.organizationId, key.headers);
    expect(await refused.json()).toMatchObject({ code: "QUOTA_EXCEEDED" });
    expect(refused.headers.get("x-quota-metric")).toBe("api_calls_per_month");
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", await periodStartOf(api, t.organizationId))).toEqual({
      ledger: FREE.apiCalls,
      counter: FREE.apiCalls,
    });
    const row = await api.db
      .selectFrom("usage_records")
      .select(["quantity", "metadata", "idempotency_key"])
      .where("organization_id", "=", t.organizationId)
      .where("idempotency_key", "like", "request:%")
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      quantity: 1n,
      metadata: { operationId: "meteredPing", requestId: expect.any(String) },
      idempotency_key: expect.any(String),
    });
  });

  it("counts retries of one call once when the client sends an Idempotency-Key", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const headers = { ...key.headers, "idempotency-key": "job-42" };
    expect((await metered.request(t.organizationId, headers)).status).toBe(200);
    expect((await metered.request(t.organizationId, headers)).status).toBe(200);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", await periodStartOf(api, t.organizationId))).toEqual({
      ledger: 1,
      counter: 1,
    });
    const stored = await api.db
      .selectFrom("usage_records")
      .select("idempotency_key")
      .where("organization_id", "=", t.organizationId)
      .execute();
    expect(stored).toEqual([{ idempotency_key: "meteredPing:job-42" }]);
  });

  it("authenticates and authorizes before it meters: a refused caller uses nothing", async () => {
    const t = await createTenant(api);
    const other = await createTenant(api);
    const otherKey = await createOrgKey(api, other);
    expect((await metered.request(t.organizationId, otherKey.headers)).status).toBe(404);
    expect((await metered.request(t.organizationId, {})).status).toBe(401);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", await periodStartOf(api, t.organizationId))).toEqual({
      ledger: 0,
      counter: 0,
    });
  });
});
