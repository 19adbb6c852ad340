import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../server/ids.ts";
import { addMember, dataOf, type TestTenant } from "../../fixtures.ts";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import {
  PLAN,
  closePeriods,
  invoicesOf,
  refusal,
  subscribe,
  subscriptionOf,
  tenantAt,
  travelTo,
  type Invoice,
} from "../../billing/billing-fixtures.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

/** A tenant on starter monthly since 2031-01-01 with three invoices: January (create), February and March (cycles). */
async function tenantWithThreeInvoices(): Promise<{ t: TestTenant; invoices: Invoice[] }> {
  const t = await tenantAt(api, "2031-01-01T00:00:00Z");
  await subscribe(api, t, PLAN.starterMonthly, "monthly");
  await travelTo(api, t, "2031-03-01T00:00:00Z");
  await closePeriods(api, t);
  const invoices = await invoicesOf(api, t);
  expect(invoices.map((i) => [i.reason, i.periodStart])).toEqual([
    ["subscription_cycle", "2031-03-01T00:00:00.000Z"],
    ["subscription_cycle", "2031-02-01T00:00:00.000Z"],
    ["subscription_create", "2031-01-01T00:00:00.000Z"],
  ]);
  return { t, invoices };
}

const invoicePath = (t: TestTenant, invoiceId: string) => ({ organizationId: t.organizationId, invoiceId });

describe("reading invoices", () => {
  it("pages newest first with keyset cursors and filters by status; members read them", async () => {
    const { t, invoices } = await tenantWithThreeInvoices();
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const path = { organizationId: t.organizationId };
    const first = await api.call("listInvoices", { path, query: { limit: 2 }, headers: member.headers });
    const firstPage = dataOf<{ items: Invoice[]; nextCursor: string }>(first);
    expect(firstPage.items.map((i) => i.id)).toEqual([invoices[0]!.id, invoices[1]!.id]);
    const second = await api.call("listInvoices", { path, query: { limit: 2, cursor: firstPage.nextCursor }, headers: member.headers });
    expect(dataOf(second)).toEqual({ items: [invoices[2]], nextCursor: null });

    await api.call("voidInvoice", { path: invoicePath(t, invoices[1]!.id), headers: t.owner.headers });
    const voided = await api.call("listInvoices", { path, query: { status: "void" }, headers: member.headers });
    expect(dataOf<{ items: Invoice[] }>(voided).items.map((i) => i.id)).toEqual([invoices[1]!.id]);

    const one = await api.call("getInvoice", { path: invoicePath(t, invoices[2]!.id), headers: member.headers });
    expect(one.body).toEqual({ code: "OK", message: { "en-US": "OK", "zh-CN": "成功" }, data: invoices[2], requestId: anyRequestId });
    const missing = await api.call("getInvoice", { path: invoicePath(t, newId()), headers: member.headers });
    expect([missing.status, missing.body]).toEqual([404, refusal("NOT_FOUND")]);
    const badCursor = await api.call("listInvoices", { path, query: { cursor: "nope" }, headers: member.headers });
    expect(badCursor.status).toBe(400);
  });
});

describe("settling invoices when no payment provider is configured", () => {
  it("marks an invoice paid only for its exact total; a malformed amount is a 400 naming it", async () => {
    const { t, invoices } = await tenantWithThreeInvoices();
    const target = invoices[2]!;
    const markPaid = (amount: unknown, headers = t.owner.headers) =>
      api.call("markInvoicePaid", { path: invoicePath(t, target.id), body: { amount, reference: "bank transfer 42" }, headers });

    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    expect((await markPaid("29.00", member.headers)).status).toBe(403);
    const wrong = await markPaid("28.99");
    expect([wrong.status, wrong.body]).toEqual([422, refusal("AMOUNT_MISMATCH")]);
    for (const amount of ["29.001", "29,00", 29, "1e3"]) {
      const res = await markPaid(amount);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: "VALIDATION_FAILED", fields: [{ location: "body", field: "amount" }] });
    }
    expect((await api.call("getInvoice", { path: invoicePath(t, target.id), headers: t.owner.headers })).body).toMatchObject({
      data: { status: "open", paidAt: null },
    });

    const paid = await markPaid("29.0000");
    expect(paid.status).toBe(200);
    expect(dataOf(paid)).toEqual({
      ...target,
      status: "paid",
      amountPaid: "29.00",
      paidAt: "2031-03-01T00:00:00.000Z",
      paymentReference: "bank transfer 42",
    });
    const again = await markPaid("29.00");
    expect([again.status, again.body]).toEqual([409, refusal("INVOICE_NOT_OPEN")]);
    const voidPaid = await api.call("voidInvoice", { path: invoicePath(t, target.id), headers: t.owner.headers });
    expect([voidPaid.status, voidPaid.body]).toEqual([409, refusal("INVOICE_NOT_OPEN")]);
    const audit = await api.db.selectFrom("audit_logs").select("action").where("target_id", "=", target.id).execute();
    expect(audit.map((a) => a.action)).toEqual(["invoice.mark_paid"]);
  });

  it("voids and writes off invoices; a written-off invoice can still be paid, and neither keeps the subscription past due", async () => {
    const { t, invoices } = await tenantWithThreeInvoices();
    expect(await subscriptionOf(api, t)).toMatchObject({ status: "suspended" });
    const [march, february, january] = invoices;
    const off = await api.call("markInvoiceUncollectible", { path: invoicePath(t, january!.id), headers: t.owner.headers });
    expect(dataOf(off)).toMatchObject({ status: "uncollectible", markedUncollectibleAt: "2031-03-01T00:00:00.000Z" });
    const offTwice = await api.call("markInvoiceUncollectible", { path: invoicePath(t, january!.id), headers: t.owner.headers });
    expect([offTwice.status, offTwice.body]).toEqual([409, refusal("INVOICE_NOT_OPEN")]);
    const voided = await api.call("voidInvoice", { path: invoicePath(t, february!.id), headers: t.owner.headers });
    expect(dataOf(voided)).toMatchObject({ status: "void", voidedAt: "2031-03-01T00:00:00.000Z" });
    // March's invoice is not due until the 15th: nothing is overdue any more.
    expect(await subscriptionOf(api, t)).toMatchObject({ status: "active", pastDueSince: null });
    expect(march).toMatchObject({ status: "open", dueAt: "2031-03-15T00:00:00.000Z" });
    const late = await api.call("markInvoicePaid", {
      path: invoicePath(t, january!.id),
      body: { amount: "29.00" },
      headers: t.owner.headers,
    });
    expect(dataOf(late)).toMatchObject({ status: "paid", markedUncollectibleAt: "2031-03-01T00:00:00.000Z" });
  });
});
