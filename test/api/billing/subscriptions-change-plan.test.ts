import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../server/ids.ts";
import { addMember, dataOf, type TestTenant } from "../../fixtures.ts";
import { anyRequestId, createTestApp, onPGlite, type TestApp } from "../../harness.ts";
import {
  PLAN,
  insertArchivedPlan,
  invoicesOf,
  pendingLinesOf,
  closePeriods,
  refusal,
  subscribe,
  subscriptionOf,
  tenantAt,
  travelTo,
  writesOf,
  type Subscription,
} from "../../billing/billing-fixtures.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const changePlan = (t: TestTenant, targetPlanId: string, billingCycle: string, effectiveDate = "immediate") =>
  api.call("changePlan", {
    path: { organizationId: t.organizationId },
    body: { targetPlanId, billingCycle, effectiveDate },
    headers: t.owner.headers,
  });

/** Pro monthly, past its 14-day trial, in a 30-day period: 2027-04-01 → 2027-05-01. */
async function proInApril(): Promise<{ t: TestTenant; sub: Subscription }> {
  const t = await tenantAt(api, "2027-03-18T00:00:00Z");
  const sub = await subscribe(api, t, PLAN.proMonthly, "monthly");
  await travelTo(api, t, "2027-04-01T00:00:00Z");
  await closePeriods(api, t);
  expect(await subscriptionOf(api, t)).toMatchObject({
    status: "active",
    currentPeriodStart: "2027-04-01T00:00:00.000Z",
    currentPeriodEnd: "2027-05-01T00:00:00.000Z",
  });
  return { t, sub };
}

describe("an immediate change, prorated to the second", () => {
  it("pro 99.00 → enterprise 999.00 with 40 % of a 30-day period left: 360.00, billed with the next invoice", async () => {
    const { t, sub } = await proInApril();
    await travelTo(api, t, "2027-04-19T00:00:00Z");
    const res = await changePlan(t, PLAN.enterpriseMonthly, "monthly");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code: "OK",
      message: { "en-US": "OK", "zh-CN": "成功" },
      data: {
        subscription: expect.objectContaining({
          id: sub.id,
          planId: PLAN.enterpriseMonthly,
          status: "active",
          billingCycle: "monthly",
          currentPeriodStart: "2027-04-01T00:00:00.000Z",
          currentPeriodEnd: "2027-05-01T00:00:00.000Z",
        }),
        prorationAmount: "360.00",
        currency: "USD",
        nextBillingDate: "2027-05-01T00:00:00.000Z",
      },
      requestId: anyRequestId,
    });
    expect(await pendingLinesOf(api, sub.id)).toEqual([
      ["proration_credit", -3960n],
      ["proration_charge", 39960n],
    ]);

    await travelTo(api, t, "2027-05-01T00:00:00Z");
    await closePeriods(api, t);
    const [may] = await invoicesOf(api, t);
    expect(may).toMatchObject({ reason: "subscription_cycle", total: "1359.00", status: "open", periodStart: "2027-05-01T00:00:00.000Z" });
    expect(may!.lines.map((l) => [l.kind, l.amount, l.planId, l.periodStart, l.periodEnd])).toEqual([
      ["proration_credit", "-39.60", PLAN.proMonthly, "2027-04-19T00:00:00.000Z", "2027-05-01T00:00:00.000Z"],
      ["proration_charge", "399.60", PLAN.enterpriseMonthly, "2027-04-19T00:00:00.000Z", "2027-05-01T00:00:00.000Z"],
      ["plan", "999.00", PLAN.enterpriseMonthly, "2027-05-01T00:00:00.000Z", "2027-06-01T00:00:00.000Z"],
    ]);
    expect(await pendingLinesOf(api, sub.id)).toEqual([]);
  });

  it("yearly → monthly restarts the period and carries the credit; monthly → yearly uses it", async () => {
    const t = await tenantAt(api, "2028-06-01T00:00:00Z");
    const sub = await subscribe(api, t, PLAN.starterYearly, "yearly");
    expect(sub.currentPeriodEnd).toBe("2029-06-01T00:00:00.000Z");

    // 73 of 365 days used: 292 days of 290.00 unused = 232.00 credit; the new month costs 29.00.
    await travelTo(api, t, "2028-08-13T00:00:00Z");
    const toMonthly = await changePlan(t, PLAN.starterMonthly, "monthly");
    expect(dataOf(toMonthly)).toMatchObject({
      prorationAmount: "-203.00",
      nextBillingDate: "2028-09-13T00:00:00.000Z",
      subscription: {
        planId: PLAN.starterMonthly,
        billingCycle: "monthly",
        currentPeriodStart: "2028-08-13T00:00:00.000Z",
        currentPeriodEnd: "2028-09-13T00:00:00.000Z",
      },
    });
    const [update] = await invoicesOf(api, t);
    expect(update).toMatchObject({ reason: "subscription_update", total: "0.00", status: "paid", paidAt: "2028-08-13T00:00:00.000Z" });
    expect(update!.lines.map((l) => [l.kind, l.amount])).toEqual([
      ["proration_credit", "-232.00"],
      ["plan", "29.00"],
      ["credit_carried_forward", "203.00"],
    ]);
    expect(await pendingLinesOf(api, sub.id)).toEqual([["credit_brought_forward", -20300n]]);

    // 15 of 31 days used: 16/31 of 29.00 = 14.967… → 14.97 credit; the year costs 290.00.
    await travelTo(api, t, "2028-08-28T00:00:00Z");
    const toYearly = await changePlan(t, PLAN.starterYearly, "yearly");
    expect(dataOf(toYearly)).toMatchObject({
      prorationAmount: "275.03",
      nextBillingDate: "2029-08-28T00:00:00.000Z",
      subscription: { planId: PLAN.starterYearly, billingCycle: "yearly", currentPeriodStart: "2028-08-28T00:00:00.000Z" },
    });
    const [back] = await invoicesOf(api, t);
    expect(back).toMatchObject({ reason: "subscription_update", total: "72.03", status: "open" });
    expect(back!.lines.map((l) => [l.kind, l.amount])).toEqual([
      ["credit_brought_forward", "-203.00"],
      ["proration_credit", "-14.97"],
      ["plan", "290.00"],
    ]);
    expect(await pendingLinesOf(api, sub.id)).toEqual([]);
  });

  it("swaps the plan during a trial with nothing to prorate; the trial keeps its end", async () => {
    const t = await tenantAt(api, "2027-03-18T00:00:00Z");
    await subscribe(api, t, PLAN.proMonthly, "monthly");
    await travelTo(api, t, "2027-03-25T00:00:00Z");
    const res = await changePlan(t, PLAN.enterpriseMonthly, "monthly");
    expect(dataOf(res)).toMatchObject({
      prorationAmount: "0.00",
      nextBillingDate: "2027-04-01T00:00:00.000Z",
      subscription: { planId: PLAN.enterpriseMonthly, status: "trialing", trialEnd: "2027-04-01T00:00:00.000Z" },
    });
    await travelTo(api, t, "2027-04-01T00:00:00Z");
    await closePeriods(api, t);
    expect((await invoicesOf(api, t)).map((i) => [i.reason, i.total])).toEqual([["subscription_cycle", "999.00"]]);
  });
});

describe("a change at the next billing cycle", () => {
  it("is shown as scheduled and applied when the period rolls over", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    const sub = await subscribe(api, t, PLAN.enterpriseMonthly, "monthly");
    await travelTo(api, t, "2027-03-20T00:00:00Z");
    const res = await changePlan(t, PLAN.starterYearly, "yearly", "next_billing_cycle");
    expect(dataOf(res)).toMatchObject({
      prorationAmount: "0.00",
      nextBillingDate: "2027-04-10T09:00:00.000Z",
      subscription: {
        planId: PLAN.enterpriseMonthly,
        scheduledChange: { planId: PLAN.starterYearly, billingCycle: "yearly", effectiveAt: "2027-04-10T09:00:00.000Z" },
      },
    });
    expect(await pendingLinesOf(api, sub.id)).toEqual([]);

    await travelTo(api, t, "2027-04-10T09:00:00Z");
    await closePeriods(api, t);
    expect(await subscriptionOf(api, t)).toMatchObject({
      planId: PLAN.starterYearly,
      billingCycle: "yearly",
      scheduledChange: null,
      currentPeriodStart: "2027-04-10T09:00:00.000Z",
      currentPeriodEnd: "2028-04-10T09:00:00.000Z",
    });
    const [renewal] = await invoicesOf(api, t);
    expect(renewal!.lines.map((l) => [l.kind, l.amount, l.planId])).toEqual([["plan", "290.00", PLAN.starterYearly]]);
  });
});

describe("refused changes", () => {
  it("refuses a downgrade whose team_members quota is below the members the organization has, naming it", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    await subscribe(api, t, PLAN.enterpriseMonthly, "monthly");
    for (let i = 0; i < 5; i += 1) await addMember(api, t.owner, t.rootTeamId, "member");
    const before = await writesOf(api, t.organizationId);
    for (const effectiveDate of ["immediate", "next_billing_cycle"]) {
      const res = await changePlan(t, PLAN.starterMonthly, "monthly", effectiveDate);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        code: "QUOTA_BELOW_USAGE",
        message: {
          "en-US": "The plan starter-monthly allows 5 team members (quota team_members); the organization has 6.",
          "zh-CN": "套餐 starter-monthly 最多允许 5 名团队成员（配额 team_members），组织当前有 6 名。",
        },
        data: null,
        requestId: anyRequestId,
      });
    }
    expect(await writesOf(api, t.organizationId)).toEqual(before);
    expect((await changePlan(t, PLAN.proMonthly, "monthly")).status).toBe(200);
  });

  it("answers an unknown, archived, current or wrongly-cycled target and malformed input with their codes, writing nothing", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const before = await writesOf(api, t.organizationId);
    const answers = [
      await changePlan(t, newId(), "monthly"),
      await changePlan(t, PLAN.starterMonthly, "monthly"),
      await changePlan(t, PLAN.enterpriseMonthly, "yearly"),
    ];
    expect(answers.map((r) => [r.status, r.body])).toEqual([
      [404, refusal("PLAN_NOT_FOUND")],
      [422, refusal("SAME_PLAN")],
      [422, refusal("BILLING_CYCLE_MISMATCH")],
    ]);
    if (onPGlite()) {
      const archived = await changePlan(t, await insertArchivedPlan(api, PLAN.enterpriseMonthly), "monthly");
      expect([archived.status, archived.body]).toEqual([422, refusal("PLAN_ARCHIVED")]);
    }
    const malformed = await api.call("changePlan", {
      path: { organizationId: t.organizationId },
      body: { targetPlanId: "123", billingCycle: "monthly", effectiveDate: "tomorrow" },
      headers: t.owner.headers,
    });
    expect(malformed.status).toBe(400);
    expect((malformed.body as { fields: { field: string }[] }).fields.map((f) => f.field).sort()).toEqual([
      "effectiveDate",
      "targetPlanId",
    ]);
    const badPath = await api.call("changePlan", {
      path: { organizationId: "not-an-id" },
      body: { targetPlanId: PLAN.enterpriseMonthly, billingCycle: "monthly", effectiveDate: "immediate" },
      headers: t.owner.headers,
    });
    expect(badPath.status).toBe(400);
    expect(await writesOf(api, t.organizationId)).toEqual(before);
  });
});
