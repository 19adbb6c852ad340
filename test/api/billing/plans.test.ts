import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp, type TestResponse } from "../../harness.ts";

const OK = { "en-US": "OK", "zh-CN": "成功" };

const PRO_MONTHLY = {
  id: "0190b6a0-0000-7000-8000-000000000004",
  name: "pro-monthly",
  displayName: { "en-US": "Pro (monthly)", "zh-CN": "专业版（月付）" },
  description: {
    "en-US": "For growing teams: larger quotas and custom plugins.",
    "zh-CN": "适合成长中的团队：更大的配额与自定义插件。",
  },
  tier: "pro",
  type: "standard",
  billingCycle: "monthly",
  price: "99.00",
  currency: "USD",
  trialDays: 14,
  features: [
    { featureKey: "workflows", featureName: { "en-US": "Workflows", "zh-CN": "工作流" }, enabled: true, limit: 100 },
    { featureKey: "knowledge_bases", featureName: { "en-US": "Knowledge bases", "zh-CN": "知识库" }, enabled: true, limit: 50 },
    { featureKey: "custom_plugins", featureName: { "en-US": "Custom plugins", "zh-CN": "自定义插件" }, enabled: true, limit: null },
    { featureKey: "priority_support", featureName: { "en-US": "Priority support", "zh-CN": "优先支持" }, enabled: true, limit: null },
  ],
  quotas: {
    api_calls_per_month: 100000,
    tokens_per_month: 10000000,
    messages_per_month: 50000,
    storage_gb: 50,
    team_members: 20,
    workflows: 100,
    datasets: 50,
    custom_plugins: true,
  },
  status: "active",
  createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
};

const CATALOGUE = [
  ["free-monthly", "0.00"],
  ["starter-monthly", "29.00"],
  ["starter-yearly", "290.00"],
  ["pro-monthly", "99.00"],
  ["pro-yearly", "990.00"],
  ["enterprise-monthly", "999.00"],
  ["enterprise-yearly", "9990.00"],
];

const ARCHIVED_ID = "0190b6a0-0000-7000-8000-0000000000a1";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
  // An archived legacy plan, as left behind when a plan with subscribers gets a new version.
  await api.db
    .insertInto("subscription_plans")
    .values({
      id: ARCHIVED_ID,
      name: "pro-monthly-2025",
      tier: "pro",
      type: "standard",
      billing_cycle: "monthly",
      price_minor: 7900n,
      currency: "USD",
      trial_days: 0,
      display_name: JSON.stringify({ "en-US": "Pro 2025 (monthly)", "zh-CN": "专业版 2025（月付）" }),
      description: JSON.stringify({ "en-US": "The 2025 Pro plan.", "zh-CN": "2025 年的专业版。" }),
      features: "[]",
      quotas: JSON.stringify(PRO_MONTHLY.quotas),
      status: "archived",
      sort_order: 45,
    })
    .execute();
});
afterAll(() => api.close());

describe("listPlans", () => {
  it("lists the active catalogue, cheapest tier first, monthly before yearly", async () => {
    const res = await api.call("listPlans");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: "OK", message: OK, data: { items: expect.any(Array), nextCursor: null }, requestId: anyRequestId });
    const { items } = (res.body as { data: { items: { name: string; price: string }[] } }).data;
    expect(items.map((p) => [p.name, p.price])).toEqual(CATALOGUE);
    expect(items[3]).toEqual(PRO_MONTHLY);
  });

  it("leaves archived plans out unless includeArchived is true", async () => {
    const res = await api.call("listPlans", { query: { includeArchived: true } });
    const names = (res.body as { data: { items: { name: string }[] } }).data.items.map((p) => p.name);
    expect(names).toEqual([
      "free-monthly",
      "starter-monthly",
      "starter-yearly",
      "pro-monthly",
      "pro-monthly-2025",
      "pro-yearly",
      "enterprise-monthly",
      "enterprise-yearly",
    ]);
    const hidden = await api.call("listPlans", { query: { includeArchived: false } });
    expect((hidden.body as { data: { items: unknown[] } }).data.items).toHaveLength(7);
  });

  it("pages with cursors until nextCursor is null", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: TestResponse = await api.call("listPlans", { query: { limit: 3, ...(cursor ? { cursor } : {}) } });
      expect(res.status).toBe(200);
      const data: { items: { name: string }[]; nextCursor: string | null } = (
        res.body as { data: { items: { name: string }[]; nextCursor: string | null } }
      ).data;
      seen.push(...data.items.map((p) => p.name));
      cursor = data.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(CATALOGUE.map(([name]) => name));
  });

  it("answers 400 naming each bad query parameter", async () => {
    const res = await api.call("listPlans", { query: { limit: "abc", includeArchived: "maybe" } });
    expect(res).toMatchObject({ status: 400 });
    expect(res.body).toEqual({
      code: "VALIDATION_FAILED",
      message: { "en-US": "The request does not match the API contract.", "zh-CN": "请求不符合接口约定。" },
      data: null,
      requestId: anyRequestId,
      fields: [
        {
          location: "query",
          field: "includeArchived",
          rule: "type",
          message: { "en-US": "must be of type boolean", "zh-CN": "必须是 boolean 类型" },
        },
        {
          location: "query",
          field: "limit",
          rule: "type",
          message: { "en-US": "must be of type integer", "zh-CN": "必须是 integer 类型" },
        },
      ],
    });
  });

  it.each([
    [{ limit: 0 }, "limit", "minimum"],
    [{ limit: 101 }, "limit", "maximum"],
    [{ limit: 2.5 }, "limit", "type"],
    [{ cursor: "x".repeat(513) }, "cursor", "maxLength"],
    [{ cursor: "not-a-cursor" }, "cursor", "format"],
  ])("rejects %j with a 400 on %s (%s)", async (query, field, rule) => {
    const res = await api.call("listPlans", { query });
    expect(res.status).toBe(400);
    expect((res.body as { fields: unknown[] }).fields).toEqual([
      { location: "query", field, rule, message: expect.objectContaining({ "en-US": expect.any(String), "zh-CN": expect.any(String) }) },
    ]);
  });
});

describe("getPlan", () => {
  it("gets one plan", async () => {
    const res = await api.call("getPlan", { path: { planId: PRO_MONTHLY.id } });
    expect(res).toMatchObject({ status: 200 });
    expect(res.body).toEqual({ code: "OK", message: OK, data: PRO_MONTHLY, requestId: anyRequestId });
  });

  it("gets an archived plan", async () => {
    const res = await api.call("getPlan", { path: { planId: ARCHIVED_ID } });
    expect(res.body).toMatchObject({ data: { name: "pro-monthly-2025", status: "archived", price: "79.00", features: [] } });
  });

  it("answers 404 in the envelope for an unknown id", async () => {
    const res = await api.call("getPlan", { path: { planId: "0190b6a0-0000-7000-8000-0000000000ff" } });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      code: "NOT_FOUND",
      message: { "en-US": "No plan has this id.", "zh-CN": "没有该 ID 的套餐。" },
      data: null,
      requestId: anyRequestId,
    });
  });

  it("answers 400 for an id that is not a UUID", async () => {
    const res = await api.call("getPlan", { path: { planId: "pro" } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "VALIDATION_FAILED", fields: [{ location: "path", field: "planId", rule: "format" }] });
  });
});

describe("localization", () => {
  it("negotiates zh-CN from Accept-Language and says so in Content-Language", async () => {
    const res = await api.call("getPlan", { path: { planId: PRO_MONTHLY.id }, headers: { "accept-language": "zh-CN,zh;q=0.9,en;q=0.5" } });
    expect(res.headers.get("content-language")).toBe("zh-CN");
    const plan = (res.body as { data: { displayName: Record<string, string> } }).data;
    expect(plan.displayName[res.headers.get("content-language")!]).toBe("专业版（月付）");
  });

  it("falls back to en-US for a locale it does not speak", async () => {
    const res = await api.call("getPlan", { path: { planId: PRO_MONTHLY.id }, headers: { "accept-language": "fr-FR" } });
    expect(res.headers.get("content-language")).toBe("en-US");
  });
});
