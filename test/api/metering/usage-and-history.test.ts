import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { addMember, createTenant, dataOf, relogin, type TestTenant } from "../../fixtures.ts";
import { createOrgKey, recordUsage, useCalendarMonths } from "../../metering/support.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const at = (iso: string) => new Date(iso);
const FREE_PLAN_ID = "0190b6a0-0000-7000-8000-000000000001";

/** A tenant created at `iso` whose quotas reset each calendar month (UTC), with a second workspace and a key. */
async function tenantAt(iso: string) {
  api.clock.set(at(iso));
  const t = await createTenant(api);
  await useCalendarMonths(api, t.organizationId);
  const ws = await api.call("createWorkspace", { path: { teamId: t.rootTeamId }, body: { name: "Second" }, headers: t.owner.headers });
  const key = await createOrgKey(api, t);
  return { t, key, second: dataOf<{ id: string }>(ws).id };
}

async function usageOf(t: TestTenant) {
  const headers = await relogin(api, t.owner);
  const res = await api.call("getUsage", { path: { organizationId: t.organizationId }, headers });
  expect(res.status).toBe(200);
  return dataOf<{ periodStart: string; periodEnd: string; metrics: { metric: string; used: number }[] }>(res);
}

async function historyOf(t: TestTenant, query: Record<string, string>) {
  const headers = await relogin(api, t.owner);
  return api.call("getUsageHistory", { path: { organizationId: t.organizationId }, query, headers });
}

describe("usage in the billing period", () => {
  it("reports every quota of the plan with exact usage, and starts again at the period boundary", async () => {
    const { t, key } = await tenantAt("2031-03-31T22:10:00Z");
    await recordUsage(api, t, key, [
      { idempotencyKey: "m-1", resourceType: "api_call", quantity: 10 },
      { idempotencyKey: "m-2", resourceType: "token", quantity: 80_000 },
      { idempotencyKey: "m-3", resourceType: "workflow_execution", quantity: 2 },
    ]);
    api.clock.set(at("2031-03-31T23:59:59.999Z"));
    await recordUsage(api, t, key, [{ idempotencyKey: "m-4", resourceType: "api_call", quantity: 5 }]);

    const march = await usageOf(t);
    const period = { periodStart: "2031-03-01T00:00:00.000Z", periodEnd: "2031-04-01T00:00:00.000Z" };
    // Count quotas of other modules (workflows, …) follow when those modules count them.
    expect(march.metrics.slice(0, 5).map((m) => m.metric)).toEqual([
      "api_calls_per_month",
      "tokens_per_month",
      "messages_per_month",
      "workflow_executions_per_month",
      "team_members",
    ]);
    expect({ ...march, metrics: march.metrics.slice(0, 5) }).toEqual({
      organizationId: t.organizationId,
      planId: FREE_PLAN_ID,
      ...period,
      metrics: [
        {
          metric: "api_calls_per_month",
          resourceType: "api_call",
          unit: "calls",
          // 15 recorded, and the two recordUsage calls that recorded them.
          used: 17,
          limit: 1000,
          unlimited: false,
          percent: 1.7,
          ...period,
        },
        {
          metric: "tokens_per_month",
          resourceType: "token",
          unit: "tokens",
          used: 80_000,
          limit: 100_000,
          unlimited: false,
          percent: 80,
          ...period,
        },
        {
          metric: "messages_per_month",
          resourceType: "message",
          unit: "messages",
          used: 0,
          limit: 500,
          unlimited: false,
          percent: 0,
          ...period,
        },
        {
          metric: "workflow_executions_per_month",
          resourceType: "workflow_execution",
          unit: "executions",
          used: 2,
          limit: -1,
          unlimited: true,
          percent: null,
          ...period,
        },
        {
          metric: "team_members",
          resourceType: null,
          unit: "members",
          used: 1,
          limit: 3,
          unlimited: false,
          percent: 33.33,
          periodStart: null,
          periodEnd: null,
        },
      ],
    });

    api.clock.set(at("2031-04-01T00:00:00.000Z"));
    // Late news of March arrives in April: it counts against April, the period it is recorded in.
    await recordUsage(api, t, key, [
      { idempotencyKey: "a-1", resourceType: "api_call", quantity: 7 },
      { idempotencyKey: "late", resourceType: "api_call", quantity: 1, recordedAt: "2031-03-31T23:00:00.000Z" },
    ]);
    const april = await usageOf(t);
    expect([april.periodStart, april.periodEnd]).toEqual(["2031-04-01T00:00:00.000Z", "2031-05-01T00:00:00.000Z"]);
    expect(april.metrics.slice(0, 5).map((m) => [m.metric, m.used])).toEqual([
      // 8, and their call.
      ["api_calls_per_month", 9],
      ["tokens_per_month", 0],
      ["messages_per_month", 0],
      ["workflow_executions_per_month", 0],
      ["team_members", 1],
    ]);
  });

  it("answers 404 to someone outside the organization and 200 to any member", async () => {
    api.clock.set(new Date());
    const t = await createTenant(api);
    const stranger = await createTenant(api);
    const res = await api.call("getUsage", { path: { organizationId: t.organizationId }, headers: stranger.owner.headers });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: "NOT_FOUND", message: expect.any(Object), data: null, requestId: anyRequestId });
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const mine = await api.call("getUsage", { path: { organizationId: t.organizationId }, headers: member.headers });
    expect(dataOf<{ metrics: { metric: string; used: number }[] }>(mine).metrics.find((m) => m.metric === "team_members")?.used).toBe(2);
  });
});

describe("usage history", () => {
  it("sums UTC hours, days and months from the rollups, with every empty bucket as 0 and the share of each workspace", async () => {
    const { t, key, second } = await tenantAt("2031-03-31T22:10:00Z");
    await recordUsage(api, t, key, [
      { idempotencyKey: "h-1", resourceType: "api_call", quantity: 4, workspaceId: t.workspaceId },
      { idempotencyKey: "h-2", resourceType: "api_call", quantity: 6, workspaceId: second },
      { idempotencyKey: "h-3", resourceType: "api_call", quantity: 1 },
      { idempotencyKey: "h-tokens", resourceType: "token", quantity: 999 },
    ]);
    api.clock.set(at("2031-04-01T00:59:59.999Z"));
    await recordUsage(api, t, key, [
      { idempotencyKey: "h-4", resourceType: "api_call", quantity: 7, workspaceId: second },
      { idempotencyKey: "h-5", resourceType: "api_call", quantity: 2, recordedAt: "2031-03-31T23:59:59.999Z" },
    ]);

    const hours = await historyOf(t, {
      metricType: "api_call",
      granularity: "hour",
      startDate: "2031-03-31T21:30:00Z",
      endDate: "2031-04-01T02:00:00Z",
    });
    expect(hours.body).toEqual({
      code: "OK",
      message: expect.any(Object),
      data: {
        metricType: "api_call",
        granularity: "hour",
        startDate: "2031-03-31T21:00:00.000Z",
        endDate: "2031-04-01T02:00:00.000Z",
        total: 22,
        dataPoints: [
          { timestamp: "2031-03-31T21:00:00.000Z", value: 0, workspaces: [] },
          {
            timestamp: "2031-03-31T22:00:00.000Z",
            value: 12,
            workspaces: [
              { workspaceId: second, value: 6 },
              { workspaceId: t.workspaceId, value: 4 },
              // h-3, and the recordUsage call itself (a call of the organization, in no workspace).
              { workspaceId: null, value: 2 },
            ],
          },
          { timestamp: "2031-03-31T23:00:00.000Z", value: 2, workspaces: [{ workspaceId: null, value: 2 }] },
          {
            timestamp: "2031-04-01T00:00:00.000Z",
            value: 8,
            workspaces: [
              { workspaceId: second, value: 7 },
              { workspaceId: null, value: 1 },
            ],
          },
          { timestamp: "2031-04-01T01:00:00.000Z", value: 0, workspaces: [] },
        ],
      },
      requestId: anyRequestId,
    });

    const days = dataOf<{ total: number; dataPoints: { timestamp: string; value: number }[] }>(
      await historyOf(t, {
        metricType: "api_call",
        granularity: "day",
        startDate: "2031-03-30T12:00:00Z",
        endDate: "2031-04-02T00:00:00Z",
      }),
    );
    expect(days.dataPoints.map((p) => [p.timestamp, p.value])).toEqual([
      ["2031-03-30T00:00:00.000Z", 0],
      ["2031-03-31T00:00:00.000Z", 14],
      ["2031-04-01T00:00:00.000Z", 8],
    ]);
    const months = dataOf<{ dataPoints: { timestamp: string; value: number }[] }>(
      await historyOf(t, {
        metricType: "api_call",
        granularity: "month",
        startDate: "2031-02-15T00:00:00Z",
        endDate: "2031-04-15T00:00:00Z",
      }),
    );
    expect(months.dataPoints.map((p) => [p.timestamp, p.value])).toEqual([
      ["2031-02-01T00:00:00.000Z", 0],
      ["2031-03-01T00:00:00.000Z", 14],
      ["2031-04-01T00:00:00.000Z", 8],
    ]);
    const oneWorkspace = dataOf<{ total: number; dataPoints: { value: number }[] }>(
      await historyOf(t, {
        metricType: "api_call",
        granularity: "month",
        startDate: "2031-03-01T00:00:00Z",
        endDate: "2031-05-01T00:00:00Z",
        workspaceId: second,
      }),
    );
    expect([oneWorkspace.total, oneWorkspace.dataPoints.map((p) => p.value)]).toEqual([13, [6, 7]]);
    const tokens = dataOf<{ total: number }>(
      await historyOf(t, { metricType: "token", granularity: "day", startDate: "2031-03-31T00:00:00Z", endDate: "2031-04-01T00:00:00Z" }),
    );
    expect(tokens.total).toBe(999);
  });

  it("defaults to daily buckets of the current period up to now", async () => {
    const { t, key } = await tenantAt("2031-06-03T10:00:00Z");
    await recordUsage(api, t, key, [{ idempotencyKey: "d", resourceType: "message", quantity: 3 }]);
    const res = dataOf<{ granularity: string; startDate: string; endDate: string; dataPoints: { value: number }[] }>(
      await historyOf(t, { metricType: "message" }),
    );
    expect([res.granularity, res.startDate, res.endDate]).toEqual(["day", "2031-06-01T00:00:00.000Z", "2031-06-04T00:00:00.000Z"]);
    expect(res.dataPoints.map((p) => p.value)).toEqual([0, 0, 3]);
  });

  it("refuses a range past the granularity's limit, or reversed, with a 400 naming the field", async () => {
    const { t } = await tenantAt("2031-06-03T10:00:00Z");
    const tooLong = await historyOf(t, {
      metricType: "api_call",
      granularity: "hour",
      startDate: "2031-05-01T00:00:00Z",
      endDate: "2031-06-02T00:00:00Z",
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({
      code: "VALIDATION_FAILED",
      fields: [{ location: "query", field: "endDate", rule: "range" }],
    });
    const longest = await historyOf(t, {
      metricType: "api_call",
      granularity: "hour",
      startDate: "2031-05-01T00:00:00Z",
      endDate: "2031-06-01T00:00:00Z",
    });
    expect(dataOf<{ dataPoints: unknown[] }>(longest).dataPoints).toHaveLength(744);
    const reversed = await historyOf(t, { metricType: "api_call", startDate: "2031-06-02T00:00:00Z", endDate: "2031-06-01T00:00:00Z" });
    expect(reversed.body).toMatchObject({ fields: [{ field: "startDate", rule: "order" }] });
    const badMetric = await historyOf(t, { metricType: "bananas" });
    expect(badMetric.body).toMatchObject({ fields: [{ field: "metricType", rule: "enum" }] });
  });
});
