import type { components } from "../../generated/api-types.ts";
import { formatMoney } from "../money.ts";
import type { InvoiceLineRow, InvoiceRow } from "./invoice-queries.ts";

export type Invoice = components["schemas"]["Billing.Invoice"];
type InvoiceLine = components["schemas"]["Billing.InvoiceLine"];

const iso = (at: Date | null) => (at ? at.toISOString() : null);

/** A stored line as the contract's `InvoiceLine`; the database's checks guarantee the enum columns. */
export function toInvoiceLine(row: InvoiceLineRow): InvoiceLine {
  return {
    id: row.id,
    kind: row.kind as InvoiceLine["kind"],
    description: row.description as InvoiceLine["description"],
    planId: row.plan_id,
    amount: formatMoney(row.amount_minor, row.currency),
    periodStart: row.period_start.toISOString(),
    periodEnd: iso(row.period_end),
  };
}

/** A stored invoice and its lines as the contract's `Invoice`. */
export function toInvoice(row: InvoiceRow, lines: InvoiceLineRow[]): Invoice {
  return {
    id: row.id,
    organizationId: row.organization_id,
    subscriptionId: row.subscription_id,
    number: row.number,
    status: row.status as Invoice["status"],
    reason: row.reason as Invoice["reason"],
    currency: row.currency,
    total: formatMoney(row.total_minor, row.currency),
    amountPaid: formatMoney(row.amount_paid_minor, row.currency),
    periodStart: row.period_start.toISOString(),
    periodEnd: iso(row.period_end),
    collectionMethod: row.collection_method as Invoice["collectionMethod"],
    dueAt: iso(row.due_at),
    finalizedAt: iso(row.finalized_at),
    paidAt: iso(row.paid_at),
    voidedAt: iso(row.voided_at),
    markedUncollectibleAt: iso(row.marked_uncollectible_at),
    attemptCount: row.attempt_count,
    lastPaymentError: row.last_payment_error,
    paymentReference: row.payment_reference,
    lines: lines.filter((line) => line.invoice_id === row.id).map(toInvoiceLine),
    createdAt: row.created_at.toISOString(),
  };
}
