import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf } from "../../fixtures.ts";
import { createTestApp, type TestApp } from "../../harness.ts";
import {
  PLAN,
  invoicesOf,
  closePeriods,
  refusal,
  subscribe,
  subscriptionOf,
  tenantAt,
  travelTo,
  writesOf,
} from "../../billing/billing-fixtures.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

/** The organization's invoices straight from the database, oldest first. */
const ownInvoices = async (organizationId: string) =>
  api.db
    .selectFrom("invoices")
    .select(["reason", "period_start", "total_minor"])
    .where("organization_id", "=", organizationId)
    .orderBy("id")
    .execute();

describe("closing periods", () => {
  it("renews at the period end with one invoice; running the job again changes nothing", async () => {
    const t = await tenantAt(api, "2030-01-15T12:00:00Z");
    const sub = await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const [first] = await invoicesOf(api, t);
    await api.call("markInvoicePaid", {
      path: { organizationId: t.organizationId, invoiceId: first!.id },
      body: { amount: "29.00" },
      headers: t.owner.headers,
    });
    await travelTo(api, t, "2030-02-15T12:00:00Z");
    await closePeriods(api, t);
    const after = await writesOf(api, t.organizationId);
    expect(await subscriptionOf(api, t)).toMatchObject({
      id: sub.id,
      status: "active",
      currentPeriodStart: "2030-02-15T12:00:00.000Z",
      currentPeriodEnd: "2030-03-15T12:00:00.000Z",
    });
    expect(await ownInvoices(t.organizationId)).toEqual([
      { reason: "subscription_create", period_start: new Date("2030-01-15T12:00:00Z"), total_minor: 2900n },
      { reason: "subscription_cycle", period_start: new Date("2030-02-15T12:00:00Z"), total_minor: 2900n },
    ]);
    await closePeriods(api, t);
    await closePeriods(api, t);
    expect(await writesOf(api, t.organizationId)).toEqual(after);
  });

  it("closes each missed period of a subscription that is months behind, one invoice per period", async () => {
    const t = await tenantAt(api, "2030-01-31T00:00:00Z");
    await subscribe(api, t, PLAN.enterpriseMonthly, "monthly");
    await travelTo(api, t, "2030-04-30T00:00:01Z");
    await closePeriods(api, t);
    expect((await ownInvoices(t.organizationId)).map((i) => i.period_start.toISOString())).toEqual([
      "2030-01-31T00:00:00.000Z",
      "2030-02-28T00:00:00.000Z",
      "2030-03-31T00:00:00.000Z",
      "2030-04-30T00:00:00.000Z",
    ]);
    expect(await subscriptionOf(api, t)).toMatchObject({ currentPeriodEnd: "2030-05-31T00:00:00.000Z" });
  });

  it("renews a free subscription without writing an invoice", async () => {
    const t = await tenantAt(api, "2030-01-10T00:00:00Z");
    await travelTo(api, t, "2030-02-10T00:00:00Z");
    await closePeriods(api, t);
    expect(await subscriptionOf(api, t)).toMatchObject({
      planId: PLAN.freeMonthly,
      status: "active",
      currentPeriodEnd: "2030-03-10T00:00:00.000Z",
    });
    expect(await invoicesOf(api, t)).toEqual([]);
  });
});

describe("trials", () => {
  it("ends a trial with the first invoice when no payment provider needs a payment method", async () => {
    const t = await tenantAt(api, "2030-03-18T00:00:00Z");
    await subscribe(api, t, PLAN.proMonthly, "monthly");
    await travelTo(api, t, "2030-04-01T00:00:00Z");
    await closePeriods(api, t);
    expect(await subscriptionOf(api, t)).toMatchObject({
      status: "active",
      trialEnd: "2030-04-01T00:00:00.000Z",
      currentPeriodStart: "2030-04-01T00:00:00.000Z",
      currentPeriodEnd: "2030-05-01T00:00:00.000Z",
    });
    expect((await invoicesOf(api, t)).map((i) => [i.reason, i.total, i.status, i.dueAt])).toEqual([
      ["subscription_cycle", "99.00", "open", "2030-04-15T00:00:00.000Z"],
    ]);
  });
});

describe("cancelling at the period end", () => {
  it("expires the subscription when its period ends; it can no longer be resumed", async () => {
    const t = await tenantAt(api, "2030-01-10T00:00:00Z");
    const sub = await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const path = { organizationId: t.organizationId };
    await api.call("cancelSubscription", { path, body: { cancelImmediately: false }, headers: t.owner.headers });
    await travelTo(api, t, "2030-02-10T00:00:00Z");
    const late = await api.call("resumeSubscription", { path, headers: t.owner.headers });
    expect([late.status, late.body]).toEqual([409, refusal("NOTHING_TO_RESUME")]);
    await closePeriods(api, t);
    expect(await subscriptionOf(api, t)).toMatchObject({
      id: sub.id,
      status: "expired",
      cancelAt: "2030-02-10T00:00:00.000Z",
      endedAt: "2030-02-10T00:00:00.000Z",
      availableActions: [],
    });
    expect((await invoicesOf(api, t)).map((i) => i.reason)).toEqual(["subscription_create"]);
    const again = await api.call("resumeSubscription", { path, headers: t.owner.headers });
    expect([again.status, again.body]).toEqual([409, refusal("NOTHING_TO_RESUME")]);
  });

  it("bills pending prorations in a last invoice when the subscription expires", async () => {
    const t = await tenantAt(api, "2030-04-01T00:00:00Z");
    await subscribe(api, t, PLAN.starterMonthly, "monthly");
    await travelTo(api, t, "2030-04-16T00:00:00Z");
    const change = await api.call("changePlan", {
      path: { organizationId: t.organizationId },
      body: { targetPlanId: PLAN.enterpriseMonthly, billingCycle: "monthly", effectiveDate: "immediate" },
      headers: t.owner.headers,
    });
    // Half of a 30-day April: -14.50 + 499.50.
    expect(dataOf(change)).toMatchObject({ prorationAmount: "485.00" });
    await api.call("cancelSubscription", {
      path: { organizationId: t.organizationId },
      body: { cancelImmediately: false },
      headers: t.owner.headers,
    });
    await travelTo(api, t, "2030-05-01T00:00:00Z");
    await closePeriods(api, t);
    const [last] = await invoicesOf(api, t);
    expect(last).toMatchObject({ reason: "subscription_end", total: "485.00", periodStart: "2030-05-01T00:00:00.000Z" });
    expect(last!.lines.map((l) => [l.kind, l.amount])).toEqual([
      ["proration_credit", "-14.50"],
      ["proration_charge", "499.50"],
    ]);
  });
});

describe("unpaid invoices", () => {
  it("moves an overdue subscription to past_due, then suspended after the grace period; paying makes it active", async () => {
    const t = await tenantAt(api, "2030-06-01T00:00:00Z");
    await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const [invoice] = await invoicesOf(api, t);
    expect(invoice).toMatchObject({ status: "open", dueAt: "2030-06-15T00:00:00.000Z" });

    await travelTo(api, t, "2030-06-14T23:59:59Z");
    await closePeriods(api, t);
    expect(await subscriptionOf(api, t)).toMatchObject({ status: "active", pastDueSince: null });

    await travelTo(api, t, "2030-06-15T00:00:00Z");
    await closePeriods(api, t);
    expect(await subscriptionOf(api, t)).toMatchObject({ status: "past_due", pastDueSince: "2030-06-15T00:00:00.000Z" });

    await travelTo(api, t, "2030-06-22T00:00:00Z");
    await closePeriods(api, t);
    expect(await subscriptionOf(api, t)).toMatchObject({ status: "suspended", pastDueSince: "2030-06-15T00:00:00.000Z" });

    const paid = await api.call("markInvoicePaid", {
      path: { organizationId: t.organizationId, invoiceId: invoice!.id },
      body: { amount: "29.00", reference: "wire 2030-0622" },
      headers: t.owner.headers,
    });
    expect(paid.status).toBe(200);
    expect(await subscriptionOf(api, t)).toMatchObject({ status: "active", pastDueSince: null });
  });
});
