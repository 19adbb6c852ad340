import type { Kysely } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { Database } from "../../generated/db.ts";
import type { PaymentEvent } from "../payments/provider.ts";
import type { BillingContext } from "./billing-context.ts";
import { MAX_CHARGE_ATTEMPTS } from "./collection.ts";
import { updateInvoice, type InvoiceRow } from "./invoice-queries.ts";
import { refreshStanding } from "./standing.ts";

type WebhookReceipt = components["schemas"]["Billing.WebhookReceipt"];

/** The invoice a payment event is about, locked; undefined when it names none we know. */
async function lockInvoiceOf(trx: Kysely<Database>, event: PaymentEvent): Promise<InvoiceRow | undefined> {
  if (!event.invoiceId || !/^[0-9a-f-]{36}$/i.test(event.invoiceId)) return undefined;
  return trx.selectFrom("invoices").selectAll().where("id", "=", event.invoiceId).forUpdate().executeTakeFirst();
}

/** Applies one event to its invoice; returns whether it changed anything. */
async function apply(trx: Kysely<Database>, ctx: BillingContext, event: PaymentEvent, invoice: InvoiceRow): Promise<boolean> {
  const now = ctx.now();
  const org = { organizationId: invoice.organization_id };
  if (invoice.status !== "open") return false;
  if (event.type === "payment_intent.succeeded") {
    if (event.amountMinor !== invoice.total_minor || event.currency !== invoice.currency) return false;
    await updateInvoice(trx, org, invoice.id, {
      status: "paid",
      paid_at: now,
      amount_paid_minor: invoice.total_minor,
      next_attempt_at: null,
      last_payment_error: null,
      payment_reference: event.paymentId,
      updated_at: now,
    });
  } else if (event.type === "payment_intent.payment_failed") {
    await updateInvoice(trx, org, invoice.id, {
      last_payment_error: event.failureReason ?? "payment failed",
      payment_reference: event.paymentId,
      updated_at: now,
      ...(invoice.attempt_count >= MAX_CHARGE_ATTEMPTS ? { next_attempt_at: null } : {}),
    });
  } else {
    return false;
  }
  const subscription = await trx
    .selectFrom("subscriptions")
    .selectAll()
    .where("organization_id", "=", org.organizationId)
    .where("id", "=", invoice.subscription_id)
    .forUpdate()
    .executeTakeFirstOrThrow();
  // A charged invoice is due when it is finalized, so a failed payment leaves it overdue: past due.
  await refreshStanding(trx, org, subscription, now, ctx.policy);
  return true;
}

/**
 * Processes a verified webhook event exactly once: its id is stored in the transaction that acts on
 * it, so a replay (or a concurrent second delivery, which waits on the id's unique key) finds it and
 * does nothing. A payment that succeeded pays its invoice when the amount and currency match; one
 * that failed records why and makes the subscription `past_due`.
 */
export function createPaymentEventService(ctx: BillingContext) {
  return {
    async receive(event: PaymentEvent): Promise<WebhookReceipt> {
      return ctx.db.transaction().execute(async (trx) => {
        const stored = await trx
          .insertInto("payment_events")
          .values({
            id: event.id,
            provider: "stripe",
            type: event.type,
            outcome: "ignored",
            payload: JSON.stringify(event.payload),
            received_at: ctx.now(),
          })
          .onConflict((oc) => oc.column("id").doNothing())
          .returning("id")
          .executeTakeFirst();
        if (!stored) return { eventId: event.id, type: event.type, outcome: "duplicate" };
        const invoice = await lockInvoiceOf(trx, event);
        const processed = invoice ? await apply(trx, ctx, event, invoice) : false;
        await trx
          .updateTable("payment_events")
          .set({ outcome: processed ? "processed" : "ignored", invoice_id: invoice?.id ?? null })
          .where("id", "=", event.id)
          .execute();
        return { eventId: event.id, type: event.type, outcome: processed ? "processed" : "ignored" };
      });
    },
  };
}

export type PaymentEventService = ReturnType<typeof createPaymentEventService>;
