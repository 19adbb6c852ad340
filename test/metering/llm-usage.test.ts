import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../server/errors.ts";
import { createMeteringServices } from "../../server/metering/services.ts";
import { createTestApp, TEST_AUTH_SECRET, type TestApp } from "../harness.ts";
import { createTenant } from "../fixtures.ts";
import { createOrgKey, FREE, ledgerAndCounter, periodStartOf, recordUsage } from "./support.ts";

let api: TestApp;
let metering: ReturnType<typeof createMeteringServices>;
beforeAll(async () => {
  api = await createTestApp();
  metering = createMeteringServices({ db: api.db, now: api.clock.now, authSecret: TEST_AUTH_SECRET });
});
afterAll(() => api.close());

describe("metering an LLM call", () => {
  it("fails before the model is called when the call cannot fit, and records what it used after, past the limit if need be", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    await recordUsage(api, t, key, [{ idempotencyKey: "earlier", resourceType: "token", quantity: FREE.tokens - 1500 }]);
    const start = await periodStartOf(api, t.organizationId);
    let calls = 0;
    const model = async () => {
      calls++;
      return { result: "an answer", usage: { promptTokens: 600, completionTokens: 1100 } };
    };
    const call = { organizationId: t.organizationId, workspaceId: t.workspaceId, idempotencyKey: "msg-1" };

    const refused = await metering.meterLlmCall({ ...call, maxTokens: 2000 }, model).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe("QUOTA_EXCEEDED");
    expect((refused as AppError).headers["X-Quota-Metric"]).toBe("tokens_per_month");
    expect(calls).toBe(0);

    expect(await metering.meterLlmCall({ ...call, maxTokens: 1500 }, model)).toBe("an answer");
    expect(calls).toBe(1);
    expect(await ledgerAndCounter(api, t.organizationId, "token", start)).toEqual({
      ledger: FREE.tokens + 200,
      counter: FREE.tokens + 200,
    });
    expect(await ledgerAndCounter(api, t.organizationId, "message", start)).toEqual({ ledger: 1, counter: 1 });
    const tokens = await api.db
      .selectFrom("usage_records")
      .select(["quantity", "workspace_id", "metadata"])
      .where("organization_id", "=", t.organizationId)
      .where("idempotency_key", "=", "msg-1:tokens")
      .executeTakeFirstOrThrow();
    expect(tokens).toEqual({ quantity: 1700n, workspace_id: t.workspaceId, metadata: { promptTokens: 600, completionTokens: 1100 } });

    const next = await metering.meterLlmCall({ ...call, idempotencyKey: "msg-2", maxTokens: 1 }, model).catch((e: unknown) => e);
    expect((next as AppError).code).toBe("QUOTA_EXCEEDED");
    expect(calls).toBe(1);
  });

  it("counts a retried recording once", async () => {
    const t = await createTenant(api);
    const events = [{ idempotencyKey: "msg-9:message", resourceType: "message" as const, quantity: 1 }];
    await metering.meter.record(t.organizationId, events, { enforce: false });
    const again = await metering.meter.record(t.organizationId, events, { enforce: false });
    expect(again[0]!.replayed).toBe(true);
    const start = await periodStartOf(api, t.organizationId);
    expect(await ledgerAndCounter(api, t.organizationId, "message", start)).toEqual({ ledger: 1, counter: 1 });
  });

  it("records inside a caller's transaction, and leaves nothing when that transaction rolls back", async () => {
    const t = await createTenant(api);
    const start = await periodStartOf(api, t.organizationId);
    await api.db
      .transaction()
      .execute(async (trx) => {
        await metering.meter.record(t.organizationId, [{ idempotencyKey: "run-1", resourceType: "workflow_execution", quantity: 1 }], {
          trx,
        });
        throw new Error("the run failed to start");
      })
      .catch(() => undefined);
    expect(await ledgerAndCounter(api, t.organizationId, "workflow_execution", start)).toEqual({ ledger: 0, counter: 0 });
    await api.db
      .transaction()
      .execute((trx) =>
        metering.meter.record(t.organizationId, [{ idempotencyKey: "run-1", resourceType: "workflow_execution", quantity: 1 }], { trx }),
      );
    expect(await ledgerAndCounter(api, t.organizationId, "workflow_execution", start)).toEqual({ ledger: 1, counter: 1 });
  });

  it("records several events inside a caller's transaction all or none: 429 or 409 for the one at fault, nothing of the others", async () => {
    const t = await createTenant(api);
    const start = await periodStartOf(api, t.organizationId);
    const inTransaction = (events: Parameters<typeof metering.meter.record>[1]) =>
      api.db.transaction().execute((trx) => metering.meter.record(t.organizationId, events, { trx }));
    const tokens = { idempotencyKey: "tokens", resourceType: "token" as const, quantity: 10 };

    const refused = await inTransaction([tokens, { idempotencyKey: "calls", resourceType: "api_call", quantity: FREE.apiCalls + 1 }]).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: "QUOTA_EXCEEDED",
      details: { quota: { metric: "api_calls_per_month", used: 0, requested: 1001 } },
    });
    expect(await ledgerAndCounter(api, t.organizationId, "token", start)).toEqual({ ledger: 0, counter: 0 });

    const stored = await inTransaction([tokens, { idempotencyKey: "calls", resourceType: "api_call", quantity: 2 }]);
    expect(stored.map((s) => [s.idempotencyKey, s.quantity, s.replayed])).toEqual([
      ["tokens", 10, false],
      ["calls", 2, false],
    ]);
    const reused = await inTransaction([
      { idempotencyKey: "more", resourceType: "token", quantity: 5 },
      { ...tokens, quantity: 11 },
    ]).catch((error: unknown) => error);
    expect(reused).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    expect(await ledgerAndCounter(api, t.organizationId, "token", start)).toEqual({ ledger: 10, counter: 10 });
    expect(await ledgerAndCounter(api, t.organizationId, "api_call", start)).toEqual({ ledger: 2, counter: 2 });
  });
});
