import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../server/ids.ts";
import { addMember, dataOf } from "../../fixtures.ts";
import { anyRequestId, createTestApp, onPGlite, type TestApp } from "../../harness.ts";
import {
  PLAN,
  insertArchivedPlan,
  invoicesOf,
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

const uuid = expect.stringMatching(/^[0-9a-f-]{36}$/);
const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const OK = { code: "OK", message: { "en-US": "OK", "zh-CN": "成功" } };

describe("reading the subscription", () => {
  it("shows a new organization's free subscription to every member", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const res = await api.call("getSubscription", { path: { organizationId: t.organizationId }, headers: member.headers });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...OK,
      data: {
        id: uuid,
        organizationId: t.organizationId,
        planId: PLAN.freeMonthly,
        status: "active",
        billingCycle: "monthly",
        trialStart: null,
        trialEnd: null,
        currentPeriodStart: "2027-03-10T09:00:00.000Z",
        currentPeriodEnd: "2027-04-10T09:00:00.000Z",
        cancelAt: null,
        cancelledAt: null,
        cancelReason: null,
        endedAt: null,
        pastDueSince: null,
        scheduledChange: null,
        paymentMethodId: null,
        availableActions: ["change_plan", "cancel"],
        createdAt: iso,
        updatedAt: iso,
      },
      requestId: anyRequestId,
    });
  });
});

describe("subscribing", () => {
  it("replaces the free subscription with starter and invoices the first month at once", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    const free = await subscriptionOf(api, t);
    const res = await api.call("createSubscription", {
      path: { organizationId: t.organizationId },
      body: { planId: PLAN.starterMonthly, billingCycle: "monthly", paymentMethodId: "pm_card_visa" },
      headers: t.owner.headers,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      ...OK,
      data: {
        id: uuid,
        organizationId: t.organizationId,
        planId: PLAN.starterMonthly,
        status: "active",
        billingCycle: "monthly",
        trialStart: null,
        trialEnd: null,
        currentPeriodStart: "2027-03-10T09:00:00.000Z",
        currentPeriodEnd: "2027-04-10T09:00:00.000Z",
        cancelAt: null,
        cancelledAt: null,
        cancelReason: null,
        endedAt: null,
        pastDueSince: null,
        scheduledChange: null,
        paymentMethodId: "pm_card_visa",
        availableActions: ["change_plan", "cancel"],
        createdAt: "2027-03-10T09:00:00.000Z",
        updatedAt: "2027-03-10T09:00:00.000Z",
      },
      requestId: anyRequestId,
    });
    const replaced = await api.db.selectFrom("subscriptions").selectAll().where("id", "=", free.id).executeTakeFirstOrThrow();
    expect(replaced).toMatchObject({ status: "cancelled", ended_at: new Date("2027-03-10T09:00:00Z") });
    expect(await invoicesOf(api, t)).toEqual([
      {
        id: uuid,
        organizationId: t.organizationId,
        subscriptionId: dataOf<Subscription>(res).id,
        number: expect.stringMatching(/^INV-\d{6,}$/),
        status: "open",
        reason: "subscription_create",
        currency: "USD",
        total: "29.00",
        amountPaid: "0.00",
        periodStart: "2027-03-10T09:00:00.000Z",
        periodEnd: "2027-04-10T09:00:00.000Z",
        collectionMethod: "send_invoice",
        dueAt: "2027-03-24T09:00:00.000Z",
        finalizedAt: "2027-03-10T09:00:00.000Z",
        paidAt: null,
        voidedAt: null,
        markedUncollectibleAt: null,
        attemptCount: 0,
        lastPaymentError: null,
        paymentReference: null,
        lines: [
          {
            id: uuid,
            kind: "plan",
            description: { "en-US": "Starter (monthly), 2027-03-10 – 2027-04-10", "zh-CN": "入门版（月付），2027-03-10 – 2027-04-10" },
            planId: PLAN.starterMonthly,
            amount: "29.00",
            periodStart: "2027-03-10T09:00:00.000Z",
            periodEnd: "2027-04-10T09:00:00.000Z",
          },
        ],
        createdAt: "2027-03-10T09:00:00.000Z",
      },
    ]);
  });

  it("starts a plan with trial days trialing, with nothing invoiced", async () => {
    const t = await tenantAt(api, "2027-03-18T00:00:00Z");
    const sub = await subscribe(api, t, PLAN.proMonthly, "monthly");
    expect(sub).toMatchObject({
      planId: PLAN.proMonthly,
      status: "trialing",
      trialStart: "2027-03-18T00:00:00.000Z",
      trialEnd: "2027-04-01T00:00:00.000Z",
      currentPeriodStart: "2027-03-18T00:00:00.000Z",
      currentPeriodEnd: "2027-04-01T00:00:00.000Z",
    });
    expect(await invoicesOf(api, t)).toEqual([]);
  });

  it("refuses a second paid subscription and the plan it is already on, each with its own code", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const before = await writesOf(api, t.organizationId);
    const again = await api.call("createSubscription", {
      path: { organizationId: t.organizationId },
      body: { planId: PLAN.enterpriseMonthly, billingCycle: "monthly" },
      headers: t.owner.headers,
    });
    expect([again.status, again.body]).toEqual([409, refusal("SUBSCRIPTION_EXISTS")]);
    const same = await api.call("createSubscription", {
      path: { organizationId: t.organizationId },
      body: { planId: PLAN.starterMonthly, billingCycle: "monthly" },
      headers: t.owner.headers,
    });
    expect([same.status, same.body]).toEqual([422, refusal("SAME_PLAN")]);
    expect(await writesOf(api, t.organizationId)).toEqual(before);
  });

  it("answers bad input with its own code and writes nothing", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    const before = await writesOf(api, t.organizationId);
    const attempt = (body: unknown) =>
      api.call("createSubscription", { path: { organizationId: t.organizationId }, body, headers: t.owner.headers });

    const unknown = await attempt({ planId: newId(), billingCycle: "monthly" });
    expect([unknown.status, unknown.body]).toEqual([404, refusal("PLAN_NOT_FOUND")]);
    if (onPGlite()) {
      const archived = await attempt({ planId: await insertArchivedPlan(api, PLAN.proMonthly), billingCycle: "monthly" });
      expect([archived.status, archived.body]).toEqual([422, refusal("PLAN_ARCHIVED")]);
    }
    const wrongCycle = await attempt({ planId: PLAN.starterMonthly, billingCycle: "yearly" });
    expect([wrongCycle.status, wrongCycle.body]).toEqual([422, refusal("BILLING_CYCLE_MISMATCH")]);
    expect((wrongCycle.body as { message: { "en-US": string } }).message["en-US"]).toBe(
      "The plan starter-monthly is billed monthly, not yearly.",
    );
    const malformed = await attempt({ planId: "not-a-uuid", billingCycle: "weekly", paymentMethodId: "card 4242", extra: 1 });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: "VALIDATION_FAILED", data: null });
    expect((malformed.body as { fields: { field: string; rule: string }[] }).fields.map((f) => [f.field, f.rule]).sort()).toEqual([
      ["billingCycle", "enum"],
      ["extra", "unevaluatedProperties"],
      ["paymentMethodId", "pattern"],
      ["planId", "format"],
    ]);
    expect(await writesOf(api, t.organizationId)).toEqual(before);
  });
});

describe("who may change billing", () => {
  it("lets members read but not change; root-team admins change", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    // Starter allows five members; the free plan's three would not fit the owner and three more.
    await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const editor = await addMember(api, t.owner, t.rootTeamId, "editor");
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    const path = { organizationId: t.organizationId };
    for (const user of [member, editor]) {
      const calls = [
        await api.call("createSubscription", {
          path,
          body: { planId: PLAN.starterMonthly, billingCycle: "monthly" },
          headers: user.headers,
        }),
        await api.call("changePlan", {
          path,
          body: { targetPlanId: PLAN.starterMonthly, billingCycle: "monthly", effectiveDate: "immediate" },
          headers: user.headers,
        }),
        await api.call("cancelSubscription", { path, body: { cancelImmediately: true }, headers: user.headers }),
        await api.call("resumeSubscription", { path, headers: user.headers }),
      ];
      expect(calls.map((r) => [r.status, (r.body as { code: string }).code])).toEqual(Array(4).fill([403, "FORBIDDEN"]));
      expect((await api.call("getSubscription", { path, headers: user.headers })).status).toBe(200);
    }
    const res = await api.call("changePlan", {
      path,
      body: { targetPlanId: PLAN.enterpriseMonthly, billingCycle: "monthly", effectiveDate: "next_billing_cycle" },
      headers: admin.headers,
    });
    expect(res.status).toBe(200);
  });
});

describe("cancelling and resuming", () => {
  it("cancels at the period end, stays live until then, and resumes", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    const sub = await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const path = { organizationId: t.organizationId };
    await travelTo(api, t, "2027-03-20T00:00:00Z");
    const cancelled = await api.call("cancelSubscription", {
      path,
      body: { cancelImmediately: false, reason: "too expensive", feedback: "nice product" },
      headers: t.owner.headers,
    });
    expect(cancelled.status).toBe(200);
    expect(dataOf(cancelled)).toMatchObject({
      id: sub.id,
      status: "active",
      cancelAt: "2027-04-10T09:00:00.000Z",
      cancelledAt: "2027-03-20T00:00:00.000Z",
      cancelReason: "too expensive",
      endedAt: null,
      availableActions: ["cancel", "resume"],
    });
    const twice = await api.call("cancelSubscription", { path, body: { cancelImmediately: false }, headers: t.owner.headers });
    expect([twice.status, twice.body]).toEqual([409, refusal("CANCELLATION_PENDING")]);
    const change = await api.call("changePlan", {
      path,
      body: { targetPlanId: PLAN.enterpriseMonthly, billingCycle: "monthly", effectiveDate: "immediate" },
      headers: t.owner.headers,
    });
    expect([change.status, change.body]).toEqual([409, refusal("CANCELLATION_PENDING")]);

    const resumed = await api.call("resumeSubscription", { path, headers: t.owner.headers });
    expect(resumed.status).toBe(200);
    expect(dataOf(resumed)).toMatchObject({
      status: "active",
      cancelAt: null,
      cancelledAt: null,
      cancelReason: null,
      availableActions: ["change_plan", "cancel"],
    });
    const nothing = await api.call("resumeSubscription", { path, headers: t.owner.headers });
    expect([nothing.status, nothing.body]).toEqual([409, refusal("NOTHING_TO_RESUME")]);
    const actions = await api.db
      .selectFrom("audit_logs")
      .select("action")
      .where("organization_id", "=", t.organizationId)
      .where("target_id", "=", sub.id)
      .orderBy("id")
      .execute();
    expect(actions.map((a) => a.action)).toEqual(["subscription.create", "subscription.cancel", "subscription.resume"]);
  });

  it("cancels immediately: the subscription ends now, nothing is left to change or resume, and a new one may start", async () => {
    const t = await tenantAt(api, "2027-03-10T09:00:00Z");
    const sub = await subscribe(api, t, PLAN.starterMonthly, "monthly");
    const path = { organizationId: t.organizationId };
    const res = await api.call("cancelSubscription", {
      path,
      body: { cancelImmediately: true, reason: "closing down" },
      headers: t.owner.headers,
    });
    expect(dataOf(res)).toMatchObject({
      id: sub.id,
      status: "cancelled",
      cancelAt: null,
      cancelledAt: "2027-03-10T09:00:00.000Z",
      endedAt: "2027-03-10T09:00:00.000Z",
      cancelReason: "closing down",
      availableActions: [],
    });
    expect(await subscriptionOf(api, t)).toMatchObject({ id: sub.id, status: "cancelled" });
    const change = await api.call("changePlan", {
      path,
      body: { targetPlanId: PLAN.enterpriseMonthly, billingCycle: "monthly", effectiveDate: "immediate" },
      headers: t.owner.headers,
    });
    expect([change.status, change.body]).toEqual([409, refusal("SUBSCRIPTION_ENDED")]);
    const cancel = await api.call("cancelSubscription", { path, body: { cancelImmediately: true }, headers: t.owner.headers });
    expect([cancel.status, cancel.body]).toEqual([409, refusal("SUBSCRIPTION_ENDED")]);
    const resume = await api.call("resumeSubscription", { path, headers: t.owner.headers });
    expect([resume.status, resume.body]).toEqual([409, refusal("NOTHING_TO_RESUME")]);
    const fresh = await subscribe(api, t, PLAN.enterpriseMonthly, "monthly");
    expect(fresh).toMatchObject({ planId: PLAN.enterpriseMonthly, status: "active" });
    expect((await invoicesOf(api, t)).map((i) => [i.reason, i.total, i.status])).toEqual([
      ["subscription_create", "999.00", "open"],
      ["subscription_create", "29.00", "open"],
    ]);
  });
});
