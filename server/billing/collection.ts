import { UTCDate } from "@date-fns/utc";
import { addDays, addHours } from "date-fns";
import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { PaymentProviderUnavailable, type ChargeOutcome } from "../payments/provider.ts";
import type { BillingContext, JobScope } from "./billing-context.ts";
import { selectInvoice, updateInvoice, type InvoiceRow } from "./invoice-queries.ts";
import { refreshStanding } from "./standing.ts";
import { selectBillingAccount, type OrganizationRef } from "./subscription-queries.ts";

/** A refused charge is tried again a day later, up to this many attempts in all. */
export const MAX_CHARGE_ATTEMPTS = 4;
const RETRY_AFTER_FAILURE_HOURS = 24;
const RETRY_AFTER_OUTAGE_HOURS = 1;

const later = (at: Date, hours: number) => new Date(addHours(new UTCDate(at.getTime()), hours).getTime());

/**
 * Makes a draft final: a number, a due date (at once when the provider charges it, `invoiceDueDays`
 * later when it is sent) and, when charged, a first attempt due now. An invoice of zero is paid at
 * once. Runs in the caller's transaction, which holds the invoice's lock.
 */
export async function finalizeInvoice(trx: Kysely<Database>, ctx: BillingContext, invoice: InvoiceRow): Promise<InvoiceRow> {
  if (invoice.status !== "draft") return invoice;
  const now = ctx.now();
  const org = { organizationId: invoice.organization_id };
  const seq = await sql<{ n: bigint }>`select nextval('invoice_number_seq') as n`.execute(trx);
  const number = `INV-${String(seq.rows[0]!.n).padStart(6, "0")}`;
  if (invoice.total_minor === 0n) {
    return updateInvoice(trx, org, invoice.id, { status: "paid", number, finalized_at: now, due_at: now, paid_at: now, updated_at: now });
  }
  const charged = invoice.collection_method === "charge_automatically";
  return updateInvoice(trx, org, invoice.id, {
    status: "open",
    number,
    finalized_at: now,
    due_at: charged ? now : new Date(addDays(new UTCDate(now.getTime()), ctx.policy.invoiceDueDays).getTime()),
    next_attempt_at: charged ? now : null,
    updated_at: now,
  });
}

/** The period job's step: finalizes every draft, each in its own transaction (`SKIP LOCKED`). Returns how many. */
export async function finalizeDrafts(ctx: BillingContext, scope: JobScope = {}): Promise<number> {
  let count = 0;
  for (;;) {
    const done = await ctx.db.transaction().execute(async (trx) => {
      let query = trx.selectFrom("invoices").selectAll().where("status", "=", "draft");
      if (scope.organizationIds) query = query.where("organization_id", "in", scope.organizationIds);
      const draft = await query.orderBy("created_at").limit(1).forUpdate().skipLocked().executeTakeFirst();
      if (!draft) return false;
      await finalizeInvoice(trx, ctx, draft);
      return true;
    });
    if (!done) return count;
    count += 1;
  }
}

/** Claims the next attempt of an open, charged invoice whose attempt is due: moves it on so no one else makes it. */
async function claimAttempt(ctx: BillingContext, org: OrganizationRef, invoiceId: string): Promise<InvoiceRow | null> {
  const now = ctx.now();
  return ctx.db.transaction().execute(async (trx) => {
    const invoice = await trx
      .selectFrom("invoices")
      .selectAll()
      .where("organization_id", "=", org.organizationId)
      .where("id", "=", invoiceId)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!invoice || invoice.status !== "open" || !invoice.next_attempt_at || invoice.next_attempt_at > now) return null;
    await updateInvoice(trx, org, invoice.id, { next_attempt_at: later(now, RETRY_AFTER_OUTAGE_HOURS), updated_at: now });
    return invoice;
  });
}

/** Records what a charge came to, and the subscription's standing after it. */
async function recordOutcome(ctx: BillingContext, invoice: InvoiceRow, attempt: number, outcome: ChargeOutcome): Promise<void> {
  const now = ctx.now();
  const org = { organizationId: invoice.organization_id };
  await ctx.db.transaction().execute(async (trx) => {
    const current = await selectInvoice(trx, org, invoice.id, { lock: true });
    if (!current || current.status !== "open") return;
    if (outcome.status === "succeeded") {
      await updateInvoice(trx, org, invoice.id, {
        status: "paid",
        paid_at: now,
        amount_paid_minor: current.total_minor,
        attempt_count: attempt,
        next_attempt_at: null,
        last_payment_error: null,
        payment_reference: outcome.paymentId,
        updated_at: now,
      });
    } else if (outcome.status === "pending") {
      await updateInvoice(trx, org, invoice.id, {
        attempt_count: attempt,
        next_attempt_at: null,
        payment_reference: outcome.paymentId,
        updated_at: now,
      });
    } else {
      await updateInvoice(trx, org, invoice.id, {
        attempt_count: attempt,
        next_attempt_at: attempt < MAX_CHARGE_ATTEMPTS ? later(now, RETRY_AFTER_FAILURE_HOURS) : null,
        last_payment_error: outcome.reason,
        payment_reference: outcome.paymentId,
        updated_at: now,
      });
    }
    const subscription = await trx
      .selectFrom("subscriptions")
      .selectAll()
      .where("organization_id", "=", org.organizationId)
      .where("id", "=", current.subscription_id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    await refreshStanding(trx, org, subscription, now, ctx.policy);
  });
}

/**
 * Charges one open invoice through the payment provider, outside any transaction. The attempt is
 * claimed first; an unreachable provider leaves the attempt's number (and so its idempotency key)
 * to be tried again within the hour, so a charge that went through unseen is never made twice.
 */
export async function collectInvoice(ctx: BillingContext, org: OrganizationRef, invoiceId: string): Promise<void> {
  const invoice = await claimAttempt(ctx, org, invoiceId);
  if (!invoice) return;
  const attempt = invoice.attempt_count + 1;
  const account = await selectBillingAccount(ctx.db, org);
  if (!account?.provider_customer_id || !account.default_payment_method_id) {
    await recordOutcome(ctx, invoice, attempt, { status: "failed", paymentId: null, reason: "no payment method" });
    return;
  }
  let outcome: ChargeOutcome;
  try {
    outcome = await ctx.payments.charge({
      invoiceId: invoice.id,
      organizationId: invoice.organization_id,
      customerId: account.provider_customer_id,
      paymentMethodId: account.default_payment_method_id,
      amountMinor: invoice.total_minor,
      currency: invoice.currency,
      attempt,
    });
  } catch (error) {
    if (error instanceof PaymentProviderUnavailable) return;
    throw error;
  }
  await recordOutcome(ctx, invoice, attempt, outcome);
}

/** The period job's step: charges every open invoice whose attempt is due. Returns how many were tried. */
export async function collectDueInvoices(ctx: BillingContext, scope: JobScope = {}): Promise<number> {
  if (ctx.payments.collectionMethod !== "charge_automatically") return 0;
  let query = ctx.db.selectFrom("invoices").select(["id", "organization_id"]);
  if (scope.organizationIds) query = query.where("organization_id", "in", scope.organizationIds);
  const due = await query
    .where("status", "=", "open")
    .where("collection_method", "=", "charge_automatically")
    .where("next_attempt_at", "<=", ctx.now())
    .orderBy("next_attempt_at")
    .limit(500)
    .execute();
  for (const invoice of due) await collectInvoice(ctx, { organizationId: invoice.organization_id }, invoice.id);
  return due.length;
}

/** Finalizes an invoice just written by a request, and charges it when the provider does. */
export async function settleNewInvoice(ctx: BillingContext, org: OrganizationRef, invoiceId: string): Promise<void> {
  const invoice = await ctx.db.transaction().execute(async (trx) => {
    const draft = await selectInvoice(trx, org, invoiceId, { lock: true });
    return draft ? finalizeInvoice(trx, ctx, draft) : null;
  });
  if (invoice?.status === "open" && invoice.collection_method === "charge_automatically") await collectInvoice(ctx, org, invoice.id);
}
