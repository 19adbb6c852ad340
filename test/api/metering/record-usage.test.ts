import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { createTenant, dataOf } from "../../fixtures.ts";
import { createOrgKey, FREE, ledgerAndCounter, recordUsage } from "../../metering/support.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const uuid = expect.stringMatching(/^[0-9a-f-]{36}$/);
const FREE_MONTHLY = "0190b6a0-0000-7000-8000-000000000001";

/** The current period of a new organization (the free plan's first month, from its creation). */
async function periodOf(organizationId: string) {
  const row = await api.db
    .selectFrom("subscriptions")
    .select(["current_period_start", "current_period_end"])
    .where("organization_id", "=", organizationId)
    .executeTakeFirstOrThrow();
  return { start: row.current_period_start, end: row.current_period_end! };
}

describe("recording usage", () => {
  it("records a batch and answers every record in order", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    const res = await recordUsage(api, t, key, [
      { idempotencyKey: "call-1", resourceType: "api_call", quantity: 3, workspaceId: t.workspaceId, metadata: { app: "chat" } },
      { idempotencyKey: "tokens-1", resourceType: "token", quantity: 1200, cost: "0.0036", currency: "USD" },
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      code: "OK",
      message: { "en-US": "OK", "zh-CN": "成功" },
      data: {
        records: [
          {
            id: uuid,
            idempotencyKey: "call-1",
            resourceType: "api_call",
            quantity: 3,
            unit: "calls",
            workspaceId: t.workspaceId,
            cost: null,
            currency: null,
            metadata: { app: "chat" },
            recordedAt: iso,
            periodStart: period.start.toISOString(),
            periodEnd: period.end.toISOString(),
            replayed: false,
          },
          {
            id: uuid,
            idempotencyKey: "tokens-1",
            resourceType: "token",
            quantity: 1200,
            unit: "tokens",
            workspaceId: null,
            cost: "0.0036",
            currency: "USD",
            metadata: {},
            recordedAt: iso,
            periodStart: period.start.toISOString(),
            periodEnd: period.end.toISOString(),
            replayed: false,
          },
        ],
      },
      requestId: anyRequestId,
    });
    // The 3 calls recorded, and the call that recorded them (recordUsage is metered: one api_call).
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 4, counter: 4 });
    expect(await ledgerAndCounter(api, t.organizationId, "token", period.start)).toEqual({ ledger: 1200, counter: 1200 });
  });

  it("records a batch of 1,000 in one step, and refuses one that does not fit whole", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    const batch = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ idempotencyKey: `${prefix}-${i}`, resourceType: "token", quantity: 10 }));
    const res = await recordUsage(api, t, key, batch("a", 1000));
    expect(res.status).toBe(201);
    expect(dataOf<{ records: { idempotencyKey: string; replayed: boolean }[] }>(res).records.map((r) => r.idempotencyKey)).toEqual(
      batch("a", 1000).map((r) => r.idempotencyKey),
    );
    // 10,000 tokens used of 100,000: one record of 90,001 does not fit, so none of its 1,000 is recorded.
    const refused = await recordUsage(api, t, key, [
      { idempotencyKey: "c-big", resourceType: "token", quantity: 90_001 },
      ...batch("c", 999),
    ]);
    expect([refused.status, refused.headers.get("x-quota-used")]).toEqual([429, "10000"]);
    expect(await ledgerAndCounter(api, t.organizationId, "token", period.start)).toEqual({ ledger: 10_000, counter: 10_000 });
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 1, counter: 1 });
  });

  it("counts a retried record once and answers it with the record stored the first time", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    const first = dataOf<{ records: Record<string, unknown>[] }>(
      await recordUsage(api, t, key, [{ idempotencyKey: "evt-1", resourceType: "api_call", quantity: 5 }]),
    );
    api.clock.advance(60_000);
    const retry = await recordUsage(api, t, key, [{ idempotencyKey: "evt-1", resourceType: "api_call", quantity: 5 }]);
    api.clock.advance(-60_000);
    expect(retry.status).toBe(201);
    expect(dataOf<{ records: Record<string, unknown>[] }>(retry).records).toEqual([{ ...first.records[0], replayed: true }]);
    // The record once, and its call once: a retried batch is the same call.
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 6, counter: 6 });
  });

  it("replays keys of a batch sent again, and a key repeated inside one batch, counting each event once", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    const batch = [
      { idempotencyKey: "a", resourceType: "api_call", quantity: 2 },
      { idempotencyKey: "b", resourceType: "message", quantity: 1 },
      { idempotencyKey: "a", resourceType: "api_call", quantity: 2 },
    ];
    const first = dataOf<{ records: { id: string; idempotencyKey: string; replayed: boolean }[] }>(await recordUsage(api, t, key, batch));
    expect(first.records.map((r) => [r.idempotencyKey, r.replayed])).toEqual([
      ["a", false],
      ["b", false],
      ["a", true],
    ]);
    expect(first.records[2]!.id).toBe(first.records[0]!.id);

    const again = dataOf<{ records: { id: string; replayed: boolean }[] }>(
      await recordUsage(api, t, key, [...batch, { idempotencyKey: "c", resourceType: "api_call", quantity: 1 }]),
    );
    expect(again.records.map((r) => r.replayed)).toEqual([true, true, true, false]);
    expect(again.records.slice(0, 3).map((r) => r.id)).toEqual(first.records.map((r) => r.id));
    // a and c, and the two calls: the second batch is not the first one sent again.
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 5, counter: 5 });
    expect(await ledgerAndCounter(api, t.organizationId, "message", period.start)).toEqual({ ledger: 1, counter: 1 });
  });

  it("answers 409 IDEMPOTENCY_KEY_REUSED for a key sent with another event, and records nothing of the batch", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    await recordUsage(api, t, key, [{ idempotencyKey: "k", resourceType: "api_call", quantity: 1 }]);
    const res = await recordUsage(api, t, key, [
      { idempotencyKey: "fresh", resourceType: "api_call", quantity: 4 },
      { idempotencyKey: "k", resourceType: "api_call", quantity: 2 },
    ]);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      code: "IDEMPOTENCY_KEY_REUSED",
      message: {
        "en-US": 'The idempotency key "k" was already used for a different usage event.',
        "zh-CN": '幂等键 "k" 已用于另一条不同的用量记录。',
      },
      data: null,
      requestId: anyRequestId,
    });
    const inBatch = await recordUsage(api, t, key, [
      { idempotencyKey: "twice", resourceType: "api_call", quantity: 1 },
      { idempotencyKey: "twice", resourceType: "token", quantity: 1 },
    ]);
    expect(inBatch.body).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    // k and its call; the two refused calls count neither their records nor themselves.
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 2, counter: 2 });
  });
});

describe('the call\'s own unit (recordUsage is @metered("api_call"))', () => {
  /** The units of recordUsage calls in the ledger, oldest first. */
  const callUnitsOf = (organizationId: string) =>
    api.db
      .selectFrom("usage_records")
      .select(["idempotency_key", "resource_type", "quantity", "workspace_id", "metadata"])
      .where("organization_id", "=", organizationId)
      .where("idempotency_key", "like", "recordUsage:%")
      .orderBy("id")
      .execute();

  it("records one api_call per call with its records, and a batch sent again, or an Idempotency-Key sent again, as the same call", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const batch = [{ idempotencyKey: "t-1", resourceType: "token", quantity: 10 }];
    const first = await recordUsage(api, t, key, batch);
    await recordUsage(api, t, key, batch);
    await recordUsage(api, t, key, [{ idempotencyKey: "t-2", resourceType: "token", quantity: 10 }]);
    const headers = { ...key.headers, "idempotency-key": "nightly-2026-12-04" };
    for (const k of ["t-3", "t-4"]) {
      const res = await api.call("recordUsage", {
        path: { organizationId: t.organizationId },
        body: { records: [{ idempotencyKey: k, resourceType: "token", quantity: 10 }] },
        headers,
      });
      expect(res.status).toBe(201);
    }
    const unit = { resource_type: "api_call", quantity: 1n, workspace_id: null };
    expect(await callUnitsOf(t.organizationId)).toEqual([
      {
        ...unit,
        idempotency_key: expect.stringMatching(/^recordUsage:usage:[\w-]{43}$/),
        metadata: { operationId: "recordUsage", requestId: first.headers.get("x-request-id") },
      },
      { ...unit, idempotency_key: expect.stringMatching(/^recordUsage:usage:/), metadata: expect.any(Object) },
      { ...unit, idempotency_key: "recordUsage:nightly-2026-12-04", metadata: expect.any(Object) },
    ]);
    const period = await periodOf(t.organizationId);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 3, counter: 3 });
    expect(await ledgerAndCounter(api, t.organizationId, "token", period.start)).toEqual({ ledger: 40, counter: 40 });
  });

  it("refuses a call once the api_call quota is used up, and records none of its records", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    // With its call, the whole quota.
    await recordUsage(api, t, key, [{ idempotencyKey: "fill", resourceType: "api_call", quantity: FREE.apiCalls - 1 }]);
    const res = await recordUsage(api, t, key, [{ idempotencyKey: "tokens", resourceType: "token", quantity: 10 }]);
    expect(res.status).toBe(429);
    expect((res.body as { quota: unknown }).quota).toEqual({
      metric: "api_calls_per_month",
      unit: "calls",
      limit: FREE.apiCalls,
      used: FREE.apiCalls,
      requested: 1,
      resetsAt: period.end.toISOString(),
    });
    expect(await ledgerAndCounter(api, t.organizationId, "token", period.start)).toEqual({ ledger: 0, counter: 0 });
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({
      ledger: FREE.apiCalls,
      counter: FREE.apiCalls,
    });
  });

  it("refuses an Idempotency-Key longer than 128 characters with a 400 naming the header, and records nothing", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const res = await api.call("recordUsage", {
      path: { organizationId: t.organizationId },
      body: { records: [{ idempotencyKey: "t", resourceType: "token", quantity: 1 }] },
      headers: { ...key.headers, "idempotency-key": "k".repeat(129) },
    });
    expect(res.status).toBe(400);
    expect((res.body as { fields: unknown[] }).fields).toEqual([
      expect.objectContaining({ location: "header", field: "Idempotency-Key", rule: "maxLength" }),
    ]);
    expect(await callUnitsOf(t.organizationId)).toEqual([]);
  });

  it("records no unit for a call refused for its records, or for its key's scope, or for a field", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    const tooMany = await recordUsage(api, t, key, [{ idempotencyKey: "big", resourceType: "token", quantity: FREE.tokens + 1 }]);
    expect(tooMany.status).toBe(429);
    const badField = await recordUsage(api, t, key, [{ idempotencyKey: "cost", resourceType: "token", quantity: 1, cost: "0.10" }]);
    expect(badField.status).toBe(400);
    const readOnly = await createOrgKey(api, t);
    await api.db.updateTable("api_keys").set({ scopes: [] }).where("id", "=", readOnly.id).execute();
    expect((await recordUsage(api, t, readOnly, [{ idempotencyKey: "x", resourceType: "token", quantity: 1 }])).status).toBe(403);
    expect(await callUnitsOf(t.organizationId)).toEqual([]);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 0, counter: 0 });
  });
});

describe("quota enforcement", () => {
  it("refuses a batch that does not fit with 429 QUOTA_EXCEEDED, the quota's figures and Retry-After, and records none of it", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const period = await periodOf(t.organizationId);
    // With its call, 995 used: room for 5.
    await recordUsage(api, t, key, [{ idempotencyKey: "base", resourceType: "api_call", quantity: FREE.apiCalls - 6 }]);
    const res = await recordUsage(api, t, key, [
      { idempotencyKey: "tokens", resourceType: "token", quantity: 10 },
      { idempotencyKey: "fits", resourceType: "api_call", quantity: 5 },
      { idempotencyKey: "over", resourceType: "api_call", quantity: 1 },
    ]);
    expect(res.status).toBe(429);
    const resetsAt = period.end.toISOString();
    expect(res.body).toEqual({
      code: "QUOTA_EXCEEDED",
      message: {
        "en-US": `This would exceed the api_calls_per_month quota: 1000 of 1000 calls used, 1 more asked. It resets at ${resetsAt}.`,
        "zh-CN": `超出配额 api_calls_per_month：已用 1000 / 1000 calls，本次请求 1。将于 ${resetsAt} 重置。`,
      },
      data: null,
      requestId: anyRequestId,
      quota: { metric: "api_calls_per_month", unit: "calls", limit: 1000, used: 1000, requested: 1, resetsAt },
    });
    expect(res.headers.get("x-quota-metric")).toBe("api_calls_per_month");
    expect(res.headers.get("x-quota-limit")).toBe("1000");
    expect(res.headers.get("x-quota-used")).toBe("1000");
    expect(res.headers.get("x-quota-reset")).toBe(resetsAt);
    expect(Number(res.headers.get("retry-after"))).toBe(Math.ceil((period.end.getTime() - api.clock.now().getTime()) / 1000));
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 995, counter: 995 });
    expect(await ledgerAndCounter(api, t.organizationId, "token", period.start)).toEqual({ ledger: 0, counter: 0 });

    // 4 and the call fill the quota.
    const rest = await recordUsage(api, t, key, [{ idempotencyKey: "fits", resourceType: "api_call", quantity: 4 }]);
    expect(rest.status).toBe(201);
    const single = await recordUsage(api, t, key, [{ idempotencyKey: "one-more", resourceType: "api_call", quantity: 1 }]);
    expect([single.status, single.headers.get("x-quota-used")]).toEqual([429, "1000"]);
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", period.start)).toEqual({ ledger: 1000, counter: 1000 });
  });

  it("applies a plan change at once, though the server caches plans", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    await recordUsage(api, t, key, [{ idempotencyKey: "warm", resourceType: "api_call", quantity: 1 }]);
    // What the billing module's plan change does to the subscription: starter allows 10,000 calls.
    const STARTER_MONTHLY = "0190b6a0-0000-7000-8000-000000000002";
    await api.db.updateTable("subscriptions").set({ plan_id: STARTER_MONTHLY }).where("organization_id", "=", t.organizationId).execute();
    expect((await recordUsage(api, t, key, [{ idempotencyKey: "single", resourceType: "api_call", quantity: 5000 }])).status).toBe(201);
    await api.db.updateTable("subscriptions").set({ plan_id: FREE_MONTHLY }).where("organization_id", "=", t.organizationId).execute();
    const batch = await recordUsage(api, t, key, [
      { idempotencyKey: "b-1", resourceType: "api_call", quantity: 1 },
      { idempotencyKey: "b-2", resourceType: "api_call", quantity: 1 },
    ]);
    expect([batch.status, batch.headers.get("x-quota-limit")]).toEqual([429, "1000"]);
  });

  it("never limits workflow executions or stored bytes per period: no plan sets such a quota", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const res = await recordUsage(api, t, key, [
      { idempotencyKey: "runs", resourceType: "workflow_execution", quantity: 1_000_000 },
      { idempotencyKey: "bytes", resourceType: "storage", quantity: 5_000_000_000 },
    ]);
    expect(res.status).toBe(201);
  });
});

describe("what the contract cannot check", () => {
  it("names every failing field in one 400", async () => {
    const t = await createTenant(api);
    const other = await createTenant(api);
    const key = await createOrgKey(api, t);
    const now = api.clock.now().getTime();
    const res = await recordUsage(api, t, key, [
      { idempotencyKey: "a", resourceType: "token", quantity: 1, cost: "0.10" },
      { idempotencyKey: "b", resourceType: "token", quantity: 1, cost: "1.00", currency: "XXY" },
      { idempotencyKey: "c", resourceType: "token", quantity: 1, metadata: { blob: "x".repeat(5000) } },
      { idempotencyKey: "d", resourceType: "token", quantity: 1, recordedAt: new Date(now + 3600_000).toISOString() },
      { idempotencyKey: "e", resourceType: "token", quantity: 1, recordedAt: new Date(now - 8 * 86400_000).toISOString() },
    ]);
    expect(res.status).toBe(400);
    expect((res.body as { fields: { field: string; rule: string }[] }).fields.map((f) => [f.field, f.rule])).toEqual([
      ["records.0.currency", "required"],
      ["records.1.currency", "currency"],
      ["records.2.metadata", "maxSize"],
      ["records.3.recordedAt", "future"],
      ["records.4.recordedAt", "minimum"],
    ]);
    const foreign = await recordUsage(api, t, key, [
      { idempotencyKey: "f", resourceType: "api_call", quantity: 1 },
      { idempotencyKey: "g", resourceType: "api_call", quantity: 1, workspaceId: other.workspaceId },
    ]);
    expect(foreign.status).toBe(400);
    expect(foreign.body).toMatchObject({
      code: "VALIDATION_FAILED",
      fields: [
        {
          location: "body",
          field: "records.1.workspaceId",
          rule: "workspace",
          message: { "en-US": "is not a workspace of this organization", "zh-CN": "不是该组织的工作空间" },
        },
      ],
    });
    const batch = await recordUsage(api, t, key, []);
    expect(batch.status).toBe(400);
    const tooMany = await recordUsage(
      api,
      t,
      key,
      Array.from({ length: 1001 }, (_, i) => ({ idempotencyKey: `k${i}`, resourceType: "api_call", quantity: 1 })),
    );
    expect((tooMany.body as { fields: { field: string; rule: string }[] }).fields).toEqual([
      expect.objectContaining({ field: "records", rule: "maxItems" }),
    ]);
  });
});

describe("who may record", () => {
  it("takes only a working organization key with the usage:write scope for its own organization", async () => {
    const t = await createTenant(api);
    const other = await createTenant(api);
    const key = await createOrgKey(api, t);
    const record = [{ idempotencyKey: "x", resourceType: "api_call", quantity: 1 }];
    const call = (headers: Record<string, string>, organizationId = t.organizationId) =>
      api.call("recordUsage", { path: { organizationId }, body: { records: record }, headers });

    const none = await call({});
    expect([none.status, (none.body as { code: string }).code]).toEqual([401, "UNAUTHENTICATED"]);
    const unknown = await call({ authorization: `Bearer org_${"A".repeat(40)}` });
    expect(unknown.body).toMatchObject({ code: "UNAUTHENTICATED", message: { "en-US": "This API key is not valid." } });
    const foreignKey = await createOrgKey(api, other);
    expect((await call(foreignKey.headers)).status).toBe(404);
    const memberSession = await call(t.owner.headers);
    expect(memberSession.body).toMatchObject({
      code: "UNAUTHENTICATED",
      message: { "en-US": "This operation takes an organization API key: Authorization: Bearer org_…" },
    });
    expect((await call(other.owner.headers)).status).toBe(404);

    const revoke = await api.call("revokeApiKey", {
      path: { organizationId: t.organizationId, apiKeyId: key.id },
      headers: t.owner.headers,
    });
    expect(revoke.status).toBe(200);
    expect((await call(key.headers)).body).toMatchObject({ code: "UNAUTHENTICATED", message: { "en-US": "This API key was revoked." } });
  });

  it("refuses an expired key, and a key without the scope with 403 naming it", async () => {
    const t = await createTenant(api);
    const res = await api.call("createApiKey", {
      path: { organizationId: t.organizationId },
      body: { name: "short", scopes: ["usage:write"], expiresAt: new Date(api.clock.now().getTime() + 60_000).toISOString() },
      headers: t.owner.headers,
    });
    const secret = dataOf<{ secret: string }>(res).secret;
    const record = { records: [{ idempotencyKey: "x", resourceType: "api_call", quantity: 1 }] };
    const call = () =>
      api.call("recordUsage", { path: { organizationId: t.organizationId }, body: record, headers: { authorization: `Bearer ${secret}` } });
    expect((await call()).status).toBe(201);
    api.clock.advance(61_000);
    try {
      expect((await call()).body).toMatchObject({ code: "UNAUTHENTICATED", message: { "en-US": "This API key has expired." } });
    } finally {
      api.clock.advance(-61_000);
    }
    // A key created before a scope exists would lack it: simulated by clearing the stored scopes.
    const key = await createOrgKey(api, t);
    await api.db.updateTable("api_keys").set({ scopes: [] }).where("id", "=", key.id).execute();
    const other = await api.call("recordUsage", { path: { organizationId: t.organizationId }, body: record, headers: key.headers });
    expect(other.status).toBe(403);
    expect(other.body).toEqual({
      code: "FORBIDDEN",
      message: { "en-US": "This API key lacks the usage:write scope.", "zh-CN": "该 API 密钥没有 usage:write 权限。" },
      data: null,
      requestId: anyRequestId,
    });
    // The scope is checked with the key, before the request: a bad body from such a key is still 403.
    const invalid = await api.call("recordUsage", {
      path: { organizationId: t.organizationId },
      body: { records: [] },
      headers: key.headers,
    });
    expect([invalid.status, (invalid.body as { code: string }).code]).toEqual([403, "FORBIDDEN"]);
  });
});
