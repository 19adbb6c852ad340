import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../harness.ts";
import { createTenant, dataOf } from "../../fixtures.ts";
import { createOrgKey, FREE, ledgerAndCounter, periodStartOf, recordUsage } from "../../metering/support.ts";

// Calls that arrive together are checked and recorded in gathered batches (server/db/coalescer.ts,
// meter_each() in sql/0027), each call's events — here its record and its own unit, since
// recordUsage is metered — all or none. Whatever the batches hold, each call gets the answer it
// would get alone. The native race (test/metering/race.native.test.ts) does the
// same across connections and servers.

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

describe("calls gathered into batches", () => {
  it("lets exactly as many through as fit, and refuses the rest with QUOTA_EXCEEDED", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    expect(
      (await recordUsage(api, t, key, [{ idempotencyKey: "fill", resourceType: "api_call", quantity: FREE.apiCalls - 13 }])).status,
    ).toBe(201);
    // Room for 12: six calls of one record and their own unit.
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        recordUsage(api, t, key, [{ idempotencyKey: `call-${i}`, resourceType: "api_call", quantity: 1 }]),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(24);
    const refused = answers.find((r) => r.status === 429)!;
    expect(refused.body).toMatchObject({
      code: "QUOTA_EXCEEDED",
      quota: { metric: "api_calls_per_month", unit: "calls", limit: FREE.apiCalls, used: FREE.apiCalls, requested: 1 },
    });
    expect(refused.headers.get("x-quota-used")).toBe(String(FREE.apiCalls));
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", await periodStartOf(api, t.organizationId))).toEqual({
      ledger: FREE.apiCalls,
      counter: FREE.apiCalls,
    });
    const usage = await api.call("getUsage", { path: { organizationId: t.organizationId }, headers: t.owner.headers });
    const apiCalls = dataOf<{ metrics: { metric: string; used: number; limit: number; percent: number }[] }>(usage).metrics.find(
      (m) => m.metric === "api_calls_per_month",
    );
    expect(apiCalls).toMatchObject({ used: FREE.apiCalls, limit: FREE.apiCalls, percent: 100 });
  });

  it("counts a key sent by many calls at once once, answers them all with its record, and refuses the other event under it", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const sameEvent = { idempotencyKey: "retried", resourceType: "api_call", quantity: 2 };
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => recordUsage(api, t, key, [sameEvent])),
      ...Array.from({ length: 8 }, (_, i) =>
        recordUsage(api, t, key, [{ idempotencyKey: `other-${i}`, resourceType: "api_call", quantity: 1 }]),
      ),
      recordUsage(api, t, key, [{ ...sameEvent, quantity: 3 }]),
    ]);
    expect(answers.slice(8, 16).map((r) => r.status)).toEqual(Array(8).fill(201));
    // The same key with another quantity is another event. Sent at the same time, either may be stored
    // first: that one is the key's event, and every call carrying the other answers 409.
    const [same, other] = [answers.slice(0, 8), [answers[16]!]];
    const [stored, refused] = other[0]!.status === 201 ? [other, same] : [same, other];
    const records = stored.map((r) => {
      expect(r.status).toBe(201);
      return dataOf<{ records: { id: string; quantity: number; replayed: boolean }[] }>(r).records[0]!;
    });
    expect(new Set(records.map((r) => r.id)).size).toBe(1);
    expect(records.filter((r) => !r.replayed)).toHaveLength(1);
    for (const r of refused) expect([r.status, (r.body as { code: string }).code]).toEqual([409, "IDEMPOTENCY_KEY_REUSED"]);
    // retried (2 or 3) and other-0…7 (8), and the units of the nine calls: the calls sending `retried` are one call.
    const total = records[0]!.quantity + 8 + 9;
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", await periodStartOf(api, t.organizationId))).toEqual({
      ledger: total,
      counter: total,
    });
  });
});
