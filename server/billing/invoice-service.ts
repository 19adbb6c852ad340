import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { parseMoney } from "../money.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { BillingContext } from "./billing-context.ts";
import { toInvoice, type Invoice } from "./invoice-mapper.ts";
import { selectInvoice, selectInvoicePage, selectLinesOf, updateInvoice, type InvoiceRow } from "./invoice-queries.ts";
import { refreshStanding } from "./standing.ts";
import type { OrganizationRef } from "./subscription-queries.ts";

type Settlement = "paid" | "void" | "uncollectible";

/** Which statuses each admin action starts from (Stripe's rules). */
const ALLOWED_FROM: Record<Settlement, string[]> = {
  paid: ["open", "uncollectible"],
  void: ["open", "uncollectible"],
  uncollectible: ["open"],
};

const notFound = () => new AppError("NOT_FOUND", { message: message("No invoice has this id.", "没有该 ID 的账单。") });

/** An invoice with its lines. */
export async function presentInvoice(db: Kysely<Database>, org: OrganizationRef, row: InvoiceRow): Promise<Invoice> {
  return toInvoice(row, await selectLinesOf(db, org, [row.id]));
}

/** The organization's invoices: reading them, and the admin's settlements when no payment provider collects them. */
export function createInvoiceService(ctx: BillingContext) {
  const { db } = ctx;

  /**
   * Marks an invoice paid, void or uncollectible, with its audit entry, and puts the subscription's
   * standing in line (a paid or voided invoice may make a past-due subscription active again).
   */
  async function settle(
    scope: TenantScope,
    invoiceId: string,
    to: Settlement,
    actor: Actor,
    payment?: { amount: string; reference?: string },
  ) {
    if (ctx.payments.name !== "manual") throw new AppError("PAYMENT_PROVIDER_MANAGED");
    const now = ctx.now();
    return db.transaction().execute(async (trx) => {
      const before = await selectInvoice(trx, scope, invoiceId, { lock: true });
      if (!before) throw notFound();
      if (!ALLOWED_FROM[to].includes(before.status))
        throw new AppError("INVOICE_NOT_OPEN", {
          message: message(`A ${before.status} invoice cannot be marked ${to}.`, `状态为 ${before.status} 的账单不能标记为 ${to}。`),
        });
      if (payment) {
        const amount = parseMoney(payment.amount, before.currency);
        if (amount === null)
          throw new AppError("VALIDATION_FAILED", {
            fields: [
              {
                location: "body",
                field: "amount",
                rule: "format",
                message: message(`has more decimals than ${before.currency} has`, `小数位数超过 ${before.currency} 的精度`),
              },
            ],
          });
        if (amount !== before.total_minor) throw new AppError("AMOUNT_MISMATCH");
      }
      const after = await updateInvoice(trx, scope, invoiceId, {
        status: to,
        next_attempt_at: null,
        updated_at: now,
        ...(to === "paid" ? { paid_at: now, amount_paid_minor: before.total_minor, payment_reference: payment?.reference ?? null } : {}),
        ...(to === "void" ? { voided_at: now } : {}),
        ...(to === "uncollectible" ? { marked_uncollectible_at: now } : {}),
      });
      const subscription = await trx
        .selectFrom("subscriptions")
        .selectAll()
        .where("organization_id", "=", scope.organizationId)
        .where("id", "=", after.subscription_id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      await refreshStanding(trx, scope, subscription, now, ctx.policy);
      const result = await presentInvoice(trx, scope, after);
      await recordAudit(trx, actor, {
        organizationId: scope.organizationId,
        action: to === "paid" ? "invoice.mark_paid" : to === "void" ? "invoice.void" : "invoice.mark_uncollectible",
        targetType: "invoice",
        targetId: invoiceId,
        before: { status: before.status },
        after: { status: after.status, paymentReference: after.payment_reference },
      });
      return result;
    });
  }

  return {
    async list(scope: TenantScope, options: { status?: string; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const rows = await selectInvoicePage(db, scope, {
        ...(options.status ? { status: options.status } : {}),
        after,
        limit: options.limit,
      });
      const lines = await selectLinesOf(
        db,
        scope,
        rows.map((r) => r.id),
      );
      return toPage(
        rows,
        options.limit,
        (row) => [row.id],
        (row) => toInvoice(row, lines),
      );
    },

    async get(scope: TenantScope, invoiceId: string): Promise<Invoice> {
      const row = await selectInvoice(db, scope, invoiceId);
      if (!row) throw notFound();
      return presentInvoice(db, scope, row);
    },

    markPaid: (scope: TenantScope, invoiceId: string, body: { amount: string; reference?: string }, actor: Actor) =>
      settle(scope, invoiceId, "paid", actor, body),
    void: (scope: TenantScope, invoiceId: string, actor: Actor) => settle(scope, invoiceId, "void", actor),
    markUncollectible: (scope: TenantScope, invoiceId: string, actor: Actor) => settle(scope, invoiceId, "uncollectible", actor),
  };
}

export type InvoiceService = ReturnType<typeof createInvoiceService>;
