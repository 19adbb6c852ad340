import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { newId } from "../ids.ts";
import { message, type Message } from "../messages.ts";
import type { CollectionMethod } from "../payments/provider.ts";
import { attachLines, insertInvoice, insertLines, selectPendingLines, type InvoiceRow } from "./invoice-queries.ts";
import type { PlanRow } from "./plan-queries.ts";
import type { OrganizationRef } from "./subscription-queries.ts";

/** The spec's line kinds. */
export type LineKind = "plan" | "proration_credit" | "proration_charge" | "overage" | "credit_brought_forward" | "credit_carried_forward";
/** The spec's invoice reasons. */
export type InvoiceReason = "subscription_create" | "subscription_cycle" | "subscription_update" | "subscription_end";

/** A line to write. */
export interface NewLine {
  kind: LineKind;
  planId: string | null;
  amountMinor: bigint;
  description: Message;
  periodStart: Date;
  periodEnd: Date | null;
}

const day = (at: Date) => at.toISOString().slice(0, 10);
const names = (plan: PlanRow) => plan.display_name as Message;

/** A plan's price for one period, billed in advance. */
export function planLine(plan: PlanRow, start: Date, end: Date | null): NewLine {
  const span = end ? `${day(start)} – ${day(end)}` : `${day(start)} –`;
  return {
    kind: "plan",
    planId: plan.id,
    amountMinor: plan.price_minor,
    description: message(`${names(plan)["en-US"]}, ${span}`, `${names(plan)["zh-CN"] ?? names(plan)["en-US"]}，${span}`),
    periodStart: start,
    periodEnd: end,
  };
}

/** The credit for the unused part of `plan` from `at` to `end` (a negative amount). */
export function prorationCreditLine(plan: PlanRow, creditMinor: bigint, at: Date, end: Date): NewLine {
  return {
    kind: "proration_credit",
    planId: plan.id,
    amountMinor: creditMinor,
    description: message(
      `Unused time on ${names(plan)["en-US"]} from ${day(at)}`,
      `${names(plan)["zh-CN"] ?? names(plan)["en-US"]}未使用时间（自 ${day(at)} 起）`,
    ),
    periodStart: at,
    periodEnd: end,
  };
}

/** The charge for the remaining part of `plan` from `at` to `end`. */
export function prorationChargeLine(plan: PlanRow, chargeMinor: bigint, at: Date, end: Date): NewLine {
  return {
    kind: "proration_charge",
    planId: plan.id,
    amountMinor: chargeMinor,
    description: message(
      `Remaining time on ${names(plan)["en-US"]} from ${day(at)}`,
      `${names(plan)["zh-CN"] ?? names(plan)["en-US"]}剩余时间（自 ${day(at)} 起）`,
    ),
    periodStart: at,
    periodEnd: end,
  };
}

function creditLine(kind: "credit_brought_forward" | "credit_carried_forward", amountMinor: bigint, at: Date): NewLine {
  const text =
    kind === "credit_carried_forward"
      ? message("Credit carried to the next invoice", "结转至下期账单的余额")
      : message("Credit brought forward from a previous invoice", "上期账单结转的余额");
  return { kind, planId: null, amountMinor, description: text, periodStart: at, periodEnd: at };
}

function toRows(lines: NewLine[], subscriptionId: string, currency: string, invoiceId: string | null, now: Date) {
  return lines.map((line) => ({
    id: newId(),
    subscription_id: subscriptionId,
    invoice_id: invoiceId,
    kind: line.kind,
    plan_id: line.planId,
    currency,
    amount_minor: line.amountMinor,
    description: JSON.stringify(line.description),
    period_start: line.periodStart,
    period_end: line.periodEnd,
    created_at: now,
  }));
}

/** Writes lines that wait for the subscription's next invoice. Lines of zero are not written. */
export async function addPendingLines(
  trx: Kysely<Database>,
  org: OrganizationRef,
  subscription: { id: string; currency: string },
  lines: NewLine[],
  now: Date,
): Promise<void> {
  const nonZero = lines.filter((line) => line.amountMinor !== 0n);
  await insertLines(trx, org, toRows(nonZero, subscription.id, subscription.currency, null, now));
}

/**
 * Writes a draft invoice of `lines` plus every pending line of the subscription, in the caller's
 * transaction (which holds the subscription's lock). Nothing is written when every amount is zero
 * (a free plan's renewal). Totals are never negative: a negative sum becomes a zero invoice whose
 * credit is carried, as a pending line, to the subscription's next invoice.
 */
export async function writeInvoice(
  trx: Kysely<Database>,
  org: OrganizationRef,
  subscription: { id: string; currency: string },
  input: {
    reason: InvoiceReason;
    periodStart: Date;
    periodEnd: Date | null;
    lines: NewLine[];
    collectionMethod: CollectionMethod;
    now: Date;
  },
): Promise<InvoiceRow | null> {
  const pending = await selectPendingLines(trx, org, subscription.id);
  const fresh = input.lines.filter((line) => line.amountMinor !== 0n);
  if (fresh.length === 0 && pending.length === 0) return null;
  const sum = [...fresh, ...pending.map((p) => ({ amountMinor: p.amount_minor }))].reduce((acc, line) => acc + line.amountMinor, 0n);
  const carried = sum < 0n ? -sum : 0n;
  if (carried > 0n) fresh.push(creditLine("credit_carried_forward", carried, input.now));
  const invoice = await insertInvoice(trx, org, {
    id: newId(),
    subscription_id: subscription.id,
    status: "draft",
    reason: input.reason,
    currency: subscription.currency,
    total_minor: sum + carried,
    period_start: input.periodStart,
    period_end: input.periodEnd,
    collection_method: input.collectionMethod,
    created_at: input.now,
    updated_at: input.now,
  });
  await insertLines(trx, org, toRows(fresh, subscription.id, subscription.currency, invoice.id, input.now));
  await attachLines(
    trx,
    org,
    pending.map((line) => line.id),
    invoice.id,
  );
  if (carried > 0n) await addPendingLines(trx, org, subscription, [creditLine("credit_brought_forward", -carried, input.now)], input.now);
  return invoice;
}
