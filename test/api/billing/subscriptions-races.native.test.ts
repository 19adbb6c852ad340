import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../harness.ts";
import { PLAN, closePeriods, pendingLinesOf, subscribe, tenantAt, travelTo } from "../../billing/billing-fixtures.ts";

/**
 * Races on the native server, where two requests really run at once (PGlite has one session, so
 * its transactions take turns and cannot race): a `*.native.test.ts` file runs only there.
 */
describe("races on one organization's subscription", () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await createTestApp();
  });
  afterAll(() => api.close());

  it("two concurrent immediate changes to one plan: one succeeds, one is SAME_PLAN, one set of lines", async () => {
    for (let round = 0; round < 5; round += 1) {
      const t = await tenantAt(api, "2032-04-01T00:00:00Z");
      const sub = await subscribe(api, t, PLAN.starterMonthly, "monthly");
      await travelTo(api, t, "2032-04-16T00:00:00Z");
      const change = () =>
        api.call("changePlan", {
          path: { organizationId: t.organizationId },
          body: { targetPlanId: PLAN.enterpriseMonthly, billingCycle: "monthly", effectiveDate: "immediate" },
          headers: t.owner.headers,
        });
      const answers = await Promise.all([change(), change()]);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
      expect(answers.map((r) => (r.body as { code: string }).code).sort()).toEqual(["OK", "SAME_PLAN"]);
      const live = await api.db
        .selectFrom("subscriptions")
        .selectAll()
        .where("organization_id", "=", t.organizationId)
        .where("status", "=", "active")
        .execute();
      expect(live.map((s) => [s.id, s.plan_id])).toEqual([[sub.id, PLAN.enterpriseMonthly]]);
      // Half of a 30-day April: -14.50 and +499.50, once.
      expect(await pendingLinesOf(api, sub.id)).toEqual([
        ["proration_credit", -1450n],
        ["proration_charge", 49950n],
      ]);
      const audit = await api.db
        .selectFrom("audit_logs")
        .select("action")
        .where("target_id", "=", sub.id)
        .where("action", "=", "subscription.change_plan")
        .execute();
      expect(audit).toHaveLength(1);
    }
  });

  it("two concurrent subscribes from the free plan: one subscription, one 409", async () => {
    const t = await tenantAt(api, "2032-04-01T00:00:00Z");
    const create = (planId: string) =>
      api.call("createSubscription", {
        path: { organizationId: t.organizationId },
        body: { planId, billingCycle: "monthly" },
        headers: t.owner.headers,
      });
    const answers = await Promise.all([create(PLAN.starterMonthly), create(PLAN.enterpriseMonthly)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const live = await api.db
      .selectFrom("subscriptions")
      .select("plan_id")
      .where("organization_id", "=", t.organizationId)
      .where("status", "in", ["trialing", "active", "past_due", "suspended"])
      .execute();
    expect(live).toHaveLength(1);
    const invoices = await api.db.selectFrom("invoices").select("reason").where("organization_id", "=", t.organizationId).execute();
    expect(invoices).toEqual([{ reason: "subscription_create" }]);
  });

  it("period jobs running at once close each period once", async () => {
    for (let round = 0; round < 5; round += 1) await periodJobsRace();
  });

  async function periodJobsRace() {
    const t = await tenantAt(api, "2032-01-01T00:00:00Z");
    await subscribe(api, t, PLAN.enterpriseMonthly, "monthly");
    await travelTo(api, t, "2032-05-01T00:00:00Z");
    const reports = await Promise.all([closePeriods(api, t), closePeriods(api, t), closePeriods(api, t)]);
    // A run skips a row another run holds (even for its dunning step); the next run closes what is left.
    reports.push(await closePeriods(api, t));
    expect(reports.flatMap((r) => r.failed)).toEqual([]);
    expect(reports.reduce((sum, r) => sum + r.closed.renewed, 0)).toBe(4);
    const invoices = await api.db
      .selectFrom("invoices")
      .select(["reason", "period_start", "status"])
      .where("organization_id", "=", t.organizationId)
      .orderBy("period_start")
      .execute();
    expect(invoices.map((i) => [i.reason, i.period_start.toISOString(), i.status])).toEqual([
      ["subscription_create", "2032-01-01T00:00:00.000Z", "open"],
      ["subscription_cycle", "2032-02-01T00:00:00.000Z", "open"],
      ["subscription_cycle", "2032-03-01T00:00:00.000Z", "open"],
      ["subscription_cycle", "2032-04-01T00:00:00.000Z", "open"],
      ["subscription_cycle", "2032-05-01T00:00:00.000Z", "open"],
    ]);
  }
});
