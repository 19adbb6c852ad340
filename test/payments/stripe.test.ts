import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { dataOf, type TestTenant } from "../fixtures.ts";
import { anyRequestId, createTestApp, type TestApp } from "../harness.ts";
import { PLAN, refusal, tenantAt, travelTo, writesOf, type Invoice, type Subscription } from "../billing/billing-fixtures.ts";
import { startFakeStripe, type FakeStripe } from "./fake-stripe.ts";
import { paymentIntentEvent, stripeAppOver } from "./stripe-test-app.ts";

let api: TestApp;
let fake: FakeStripe;
let stripe: ReturnType<typeof stripeAppOver>;
beforeAll(async () => {
  api = await createTestApp();
  fake = await startFakeStripe();
  stripe = stripeAppOver(api, fake);
});
afterAll(async () => {
  await fake.close();
  await api.close();
});

const subscribeWith = (t: TestTenant, planId: string, billingCycle: string, paymentMethodId?: string) =>
  stripe.call("createSubscription", {
    path: { organizationId: t.organizationId },
    body: { planId, billingCycle, ...(paymentMethodId ? { paymentMethodId } : {}) },
    headers: t.owner.headers,
  });
const subscriptionOf = async (t: TestTenant) =>
  dataOf<Subscription>(await stripe.call("getSubscription", { path: { organizationId: t.organizationId }, headers: t.owner.headers }));
const invoicesOf = async (t: TestTenant) =>
  dataOf<{ items: Invoice[] }>(await stripe.call("listInvoices", { path: { organizationId: t.organizationId }, headers: t.owner.headers }))
    .items;

describe("subscribing with Stripe", () => {
  it("makes a customer, attaches the payment method and charges the first invoice", async () => {
    const t = await tenantAt(api, "2033-01-10T00:00:00Z");
    const res = await subscribeWith(t, PLAN.starterMonthly, "monthly", "pm_card_visa");
    expect(res.status).toBe(201);
    expect(dataOf(res)).toMatchObject({ status: "active", paymentMethodId: "pm_card_visa", planId: PLAN.starterMonthly });
    const [invoice] = await invoicesOf(t);
    expect(invoice).toMatchObject({
      status: "paid",
      total: "29.00",
      amountPaid: "29.00",
      collectionMethod: "charge_automatically",
      dueAt: "2033-01-10T00:00:00.000Z",
      paidAt: "2033-01-10T00:00:00.000Z",
      attemptCount: 1,
      paymentReference: expect.stringMatching(/^pi_test\d+$/),
    });
    const account = await api.db
      .selectFrom("billing_accounts")
      .selectAll()
      .where("organization_id", "=", t.organizationId)
      .executeTakeFirstOrThrow();
    expect(account).toMatchObject({
      provider_customer_id: expect.stringMatching(/^cus_test\d+$/),
      default_payment_method_id: "pm_card_visa",
    });
    const customer = account.provider_customer_id!;
    const calls = fake.requests.filter((r) => r.idempotencyKey === `customer-${t.organizationId}` || r.params.customer === customer);
    expect(calls.map((r) => [r.method, r.path, r.idempotencyKey])).toEqual([
      ["POST", "/v1/customers", `customer-${t.organizationId}`],
      ["POST", "/v1/payment_methods/pm_card_visa/attach", expect.any(String)],
      ["POST", "/v1/payment_intents", `invoice-${invoice!.id}-attempt-1`],
    ]);
    expect(calls[2]!.params).toEqual({
      amount: "2900",
      currency: "usd",
      customer,
      payment_method: "pm_card_visa",
      confirm: "true",
      off_session: "true",
      "metadata[invoiceId]": invoice!.id,
      "metadata[organizationId]": t.organizationId,
    });
  });

  it("needs a payment method for a paid plan without a trial, and refuses one Stripe does not know; nothing is written", async () => {
    const t = await tenantAt(api, "2033-01-10T00:00:00Z");
    const before = await writesOf(api, t.organizationId);
    const missing = await subscribeWith(t, PLAN.starterMonthly, "monthly");
    expect([missing.status, missing.body]).toEqual([422, refusal("PAYMENT_METHOD_REQUIRED")]);
    const unknown = await subscribeWith(t, PLAN.starterMonthly, "monthly", "pm_card_unknown");
    expect([unknown.status, unknown.body]).toEqual([422, refusal("PAYMENT_METHOD_INVALID")]);
    expect(await writesOf(api, t.organizationId)).toEqual(before);
    expect(await api.db.selectFrom("billing_accounts").selectAll().where("organization_id", "=", t.organizationId).execute()).toEqual([]);
    const trial = await subscribeWith(t, PLAN.proMonthly, "monthly");
    expect(dataOf(trial)).toMatchObject({ status: "trialing", paymentMethodId: null });
  });

  it("answers 503 and writes nothing when Stripe cannot be reached", async () => {
    const t = await tenantAt(api, "2033-01-10T00:00:00Z");
    const closed = await startFakeStripe();
    await closed.close();
    const unreachable = stripeAppOver(api, closed);
    const before = await writesOf(api, t.organizationId);
    const res = await unreachable.call("createSubscription", {
      path: { organizationId: t.organizationId },
      body: { planId: PLAN.starterMonthly, billingCycle: "monthly", paymentMethodId: "pm_card_visa" },
      headers: t.owner.headers,
    });
    expect([res.status, res.body]).toEqual([503, refusal("PAYMENT_PROVIDER_UNAVAILABLE")]);
    expect(await writesOf(api, t.organizationId)).toEqual(before);
  });

  it("leaves invoices to Stripe: an admin cannot mark them", async () => {
    const t = await tenantAt(api, "2033-01-10T00:00:00Z");
    await subscribeWith(t, PLAN.starterMonthly, "monthly", "pm_card_chargeDeclined");
    const [invoice] = await invoicesOf(t);
    const res = await stripe.call("markInvoicePaid", {
      path: { organizationId: t.organizationId, invoiceId: invoice!.id },
      body: { amount: "29.00" },
      headers: t.owner.headers,
    });
    expect([res.status, res.body]).toEqual([409, refusal("PAYMENT_PROVIDER_MANAGED")]);
  });
});

describe("failed payments", () => {
  it("keeps a declined invoice open, makes the subscription past_due, retries a day later, and a succeeded webhook settles it", async () => {
    const t = await tenantAt(api, "2033-02-01T00:00:00Z");
    const res = await subscribeWith(t, PLAN.starterMonthly, "monthly", "pm_card_chargeDeclined");
    expect(dataOf(res)).toMatchObject({ status: "past_due", pastDueSince: "2033-02-01T00:00:00.000Z" });
    const [invoice] = await invoicesOf(t);
    expect(invoice).toMatchObject({ status: "open", attemptCount: 1, lastPaymentError: "Your card was declined." });

    await travelTo(api, t, "2033-02-01T12:00:00Z");
    expect((await stripe.closePeriods(t)).charged).toBe(0);
    await travelTo(api, t, "2033-02-02T00:00:00Z");
    expect((await stripe.closePeriods(t)).charged).toBe(1);
    expect((await invoicesOf(t))[0]).toMatchObject({ status: "open", attemptCount: 2 });
    expect(
      fake
        .requestsTo("/v1/payment_intents")
        .filter((r) => r.params["metadata[invoiceId]"] === invoice!.id)
        .map((r) => r.idempotencyKey),
    ).toEqual([`invoice-${invoice!.id}-attempt-1`, `invoice-${invoice!.id}-attempt-2`]);

    const payload = paymentIntentEvent("payment_intent.succeeded", {
      eventId: "evt_paid_1",
      invoiceId: invoice!.id,
      amount: 2900,
      created: api.clock.now(),
    });
    const delivered = await stripe.deliver(payload);
    expect(delivered.body).toEqual({
      code: "OK",
      message: { "en-US": "OK", "zh-CN": "成功" },
      data: { eventId: "evt_paid_1", type: "payment_intent.succeeded", outcome: "processed" },
      requestId: anyRequestId,
    });
    expect((await invoicesOf(t))[0]).toMatchObject({
      status: "paid",
      paymentReference: "pi_from_webhook",
      paidAt: "2033-02-02T00:00:00.000Z",
    });
    expect(await subscriptionOf(t)).toMatchObject({ status: "active", pastDueSince: null });
  });
});

describe("trials with Stripe", () => {
  it("charges the payment method when a trial ends, and expires a trial without one", async () => {
    const withCard = await tenantAt(api, "2033-03-18T00:00:00Z");
    const without = await tenantAt(api, "2033-03-18T00:00:00Z");
    expect((await subscribeWith(withCard, PLAN.proMonthly, "monthly", "pm_card_visa")).status).toBe(201);
    expect((await subscribeWith(without, PLAN.proMonthly, "monthly")).status).toBe(201);
    await travelTo(api, withCard, "2033-04-01T00:00:00Z");
    await travelTo(api, without, "2033-04-01T00:00:00Z");
    const report = await stripe.closePeriods(withCard, without);
    expect(report).toMatchObject({ closed: { trial_converted: 1, trial_expired: 1 }, finalized: 1, charged: 1 });

    expect(await subscriptionOf(withCard)).toMatchObject({ status: "active", currentPeriodEnd: "2033-05-01T00:00:00.000Z" });
    expect((await invoicesOf(withCard)).map((i) => [i.reason, i.total, i.status])).toEqual([["subscription_cycle", "99.00", "paid"]]);
    expect(await subscriptionOf(without)).toMatchObject({ status: "expired", endedAt: "2033-04-01T00:00:00.000Z", availableActions: [] });
    expect(await invoicesOf(without)).toEqual([]);
  });
});

describe("the webhook endpoint", () => {
  it("processes each event once: a replay is a duplicate and changes nothing", async () => {
    const t = await tenantAt(api, "2033-05-01T00:00:00Z");
    await subscribeWith(t, PLAN.starterMonthly, "monthly", "pm_card_processing");
    const [invoice] = await invoicesOf(t);
    expect(invoice).toMatchObject({ status: "open", attemptCount: 1, paymentReference: expect.stringMatching(/^pi_test\d+$/) });
    const failed = paymentIntentEvent("payment_intent.payment_failed", {
      eventId: "evt_failed_1",
      invoiceId: invoice!.id,
      amount: 2900,
      created: api.clock.now(),
    });
    expect(dataOf(await stripe.deliver(failed))).toMatchObject({ outcome: "processed" });
    expect(await subscriptionOf(t)).toMatchObject({ status: "past_due" });
    expect((await invoicesOf(t))[0]).toMatchObject({ status: "open", lastPaymentError: "Your card was declined." });

    const paid = paymentIntentEvent("payment_intent.succeeded", {
      eventId: "evt_paid_2",
      invoiceId: invoice!.id,
      amount: 2900,
      created: api.clock.now(),
    });
    expect(dataOf(await stripe.deliver(paid))).toMatchObject({ outcome: "processed" });
    const settled = await invoicesOf(t);
    await travelTo(api, t, "2033-05-01T00:04:00Z");
    expect(dataOf(await stripe.deliver(paid))).toEqual({ eventId: "evt_paid_2", type: "payment_intent.succeeded", outcome: "duplicate" });
    expect(dataOf(await stripe.deliver(failed))).toEqual({
      eventId: "evt_failed_1",
      type: "payment_intent.payment_failed",
      outcome: "duplicate",
    });
    expect(await invoicesOf(t)).toEqual(settled);
    expect(await subscriptionOf(t)).toMatchObject({ status: "active" });
    const stored = await api.db
      .selectFrom("payment_events")
      .select(["id", "outcome", "invoice_id"])
      .where("invoice_id", "=", invoice!.id)
      .orderBy("received_at")
      .execute();
    expect(stored).toEqual([
      { id: "evt_failed_1", outcome: "processed", invoice_id: invoice!.id },
      { id: "evt_paid_2", outcome: "processed", invoice_id: invoice!.id },
    ]);
  });

  it("ignores events it does not act on, and payments whose amount is not the invoice's", async () => {
    const t = await tenantAt(api, "2033-05-01T00:00:00Z");
    await subscribeWith(t, PLAN.starterMonthly, "monthly", "pm_card_processing");
    const [invoice] = await invoicesOf(t);
    const other = JSON.stringify({
      id: "evt_customer_1",
      object: "event",
      type: "customer.created",
      data: { object: { id: "cus_x", object: "customer" } },
    });
    expect(dataOf(await stripe.deliver(other))).toEqual({ eventId: "evt_customer_1", type: "customer.created", outcome: "ignored" });
    const short = paymentIntentEvent("payment_intent.succeeded", {
      eventId: "evt_short_1",
      invoiceId: invoice!.id,
      amount: 100,
      created: api.clock.now(),
    });
    expect(dataOf(await stripe.deliver(short))).toMatchObject({ outcome: "ignored" });
    expect((await invoicesOf(t))[0]).toMatchObject({ status: "open" });
  });

  it("answers 400 to a missing, wrong, stale or tampered signature, and to every delivery when Stripe is not configured", async () => {
    const payload = JSON.stringify({ id: "evt_sig_1", object: "event", type: "customer.created", data: { object: {} } });
    const at = Math.floor(api.clock.now().getTime() / 1000);
    const sign = (secret: string, timestamp: number, body = payload) =>
      `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
    const cases = [
      await stripe.deliver(payload, null),
      await stripe.deliver(payload, "garbage"),
      await stripe.deliver(payload, sign("whsec_someone_else", at)),
      await stripe.deliver(payload, sign("whsec_test_secret_for_the_fake_stripe", at - 301)),
      await stripe.deliver(payload.replace("customer.created", "customer.deleted"), sign("whsec_test_secret_for_the_fake_stripe", at)),
    ];
    for (const res of cases) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ ...refusal("WEBHOOK_SIGNATURE_INVALID"), fields: [] });
    }
    expect(await api.db.selectFrom("payment_events").select("id").where("id", "=", "evt_sig_1").execute()).toEqual([]);
    expect((await stripe.deliver(payload, sign("whsec_test_secret_for_the_fake_stripe", at - 299))).status).toBe(200);

    const manual = await api.raw("POST", "/api/v1/billing/webhooks/stripe", {
      body: payload,
      headers: { "content-type": "application/json", "stripe-signature": sign("whsec_test_secret_for_the_fake_stripe", at) },
    });
    expect(manual.status).toBe(400);
    expect(manual.body).toMatchObject({
      code: "WEBHOOK_SIGNATURE_INVALID",
      message: { "en-US": "Stripe is not configured on this server, so no webhook can be verified." },
    });
  });

  it.runIf(inject("testDatabase").kind === "postgres")(
    "processes one event once when it is delivered twice at the same moment",
    async () => {
      const t = await tenantAt(api, "2033-06-01T00:00:00Z");
      await subscribeWith(t, PLAN.starterMonthly, "monthly", "pm_card_processing");
      const [invoice] = await invoicesOf(t);
      const paid = paymentIntentEvent("payment_intent.succeeded", {
        eventId: "evt_race_1",
        invoiceId: invoice!.id,
        amount: 2900,
        created: api.clock.now(),
      });
      const answers = await Promise.all([stripe.deliver(paid), stripe.deliver(paid), stripe.deliver(paid)]);
      expect(answers.map((r) => dataOf<{ outcome: string }>(r).outcome).sort()).toEqual(["duplicate", "duplicate", "processed"]);
    },
  );
});
