import type { Kysely, Updateable } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { Database, SubscriptionsTable } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { formatMoney } from "../money.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { BillingContext } from "./billing-context.ts";
import { settleNewInvoice } from "./collection.ts";
import { addPendingLines, planLine, prorationChargeLine, prorationCreditLine, writeInvoice, type NewLine } from "./invoice-writer.ts";
import { preparePaymentMethod } from "./payment-method.ts";
import { nextBoundary, type BillingCycle } from "./periods.ts";
import type { PlanRow } from "./plan-queries.ts";
import { selectPlanById } from "./plan-queries.ts";
import { prorate } from "./proration.ts";
import { toOrganizationSubscription } from "./subscription-mapper.ts";
import {
  lockLiveSubscription,
  selectCurrentSubscription,
  selectSubscription,
  updateSubscription,
  type SubscriptionRow,
} from "./subscription-queries.ts";
import type { SubscriptionService } from "./subscription-service.ts";
import { requireChoosablePlan, requireQuotasCoverUsage } from "./target-plan.ts";

type ChangePlanRequest = components["schemas"]["Billing.ChangePlanRequest"];
type ChangePlanResult = components["schemas"]["Billing.ChangePlanResult"];

/** What an immediate change writes: the subscription's new fields, pending lines, and an invoice to write now. */
interface ImmediateChange {
  patch: Updateable<SubscriptionsTable>;
  pending: NewLine[];
  invoice: { lines: NewLine[]; periodStart: Date; periodEnd: Date | null } | null;
  prorationMinor: bigint;
}

/**
 * Works out an immediate change at `at`. During a trial the plan is swapped with nothing to prorate.
 * Within one billing cycle, the unused part of the old price is credited and the remaining part of
 * the new one charged, to the second, as pending lines of the next invoice. A new billing cycle
 * restarts the period now: the credit, and the new period's full price, are invoiced at once.
 */
function immediateChange(sub: SubscriptionRow, from: PlanRow, to: PlanRow, at: Date): ImmediateChange {
  const cycle = to.billing_cycle as BillingCycle;
  const base = { plan_id: to.id, billing_cycle: cycle, scheduled_plan_id: null, scheduled_billing_cycle: null, updated_at: at };
  if (sub.status === "trialing") return { patch: base, pending: [], invoice: null, prorationMinor: 0n };
  const end = sub.current_period_end;
  const sameCycle = cycle === sub.billing_cycle && end !== null;
  const credit = end
    ? prorate({ oldPriceMinor: from.price_minor, newPriceMinor: to.price_minor, start: sub.current_period_start, end, at })
    : null;
  const creditLines = credit && end ? [prorationCreditLine(from, credit.creditMinor, at, end)] : [];
  if (sameCycle && credit) {
    return {
      patch: base,
      pending: [...creditLines, prorationChargeLine(to, credit.chargeMinor, at, end)],
      invoice: null,
      prorationMinor: credit.creditMinor + credit.chargeMinor,
    };
  }
  const newEnd = nextBoundary(at, cycle, at);
  return {
    patch: { ...base, billing_anchor: at, current_period_start: at, current_period_end: newEnd },
    pending: creditLines,
    invoice: { lines: [planLine(to, at, newEnd)], periodStart: at, periodEnd: newEnd },
    prorationMinor: (credit?.creditMinor ?? 0n) + to.price_minor,
  };
}

/** `changePlan`: moves a subscription to another plan now (prorated) or at the end of the period. */
export function createPlanChangeService(ctx: BillingContext, subscriptions: SubscriptionService) {
  const { db } = ctx;

  async function checkedTarget(trx: Kysely<Database>, scope: TenantScope, live: SubscriptionRow | undefined, target: PlanRow) {
    if (!live) throw new AppError("SUBSCRIPTION_ENDED");
    if (live.cancel_at) throw new AppError("CANCELLATION_PENDING");
    if (live.plan_id === target.id) throw new AppError("SAME_PLAN");
    const current = await selectPlanById(trx, live.plan_id);
    if (!current) throw new Error(`subscription ${live.id} names a plan that does not exist`);
    if (current.currency !== target.currency) throw new AppError("CURRENCY_MISMATCH");
    await requireQuotasCoverUsage(trx, scope, target);
    return { live, current };
  }

  return {
    async changePlan(scope: TenantScope, body: ChangePlanRequest, actor: Actor): Promise<ChangePlanResult> {
      const target = await requireChoosablePlan(db, body.targetPlanId, body.billingCycle);
      // A paid target needs a payment method on file, unless a trial is running (its end checks again).
      const trialing = (await selectCurrentSubscription(db, scope))?.status === "trialing";
      await preparePaymentMethod(ctx, scope, { given: undefined, required: target.price_minor > 0n && !trialing });
      const now = ctx.now();
      const { row, invoiceId, prorationMinor } = await db.transaction().execute(async (trx) => {
        const { live, current } = await checkedTarget(trx, scope, await lockLiveSubscription(trx, scope), target);
        let change: ImmediateChange;
        if (body.effectiveDate === "next_billing_cycle") {
          if (!live.current_period_end)
            throw new AppError("CONFLICT", {
              message: message(
                "A lifetime subscription has no next billing cycle; change it immediately.",
                "终身订阅没有下一个计费周期，请立即变更。",
              ),
            });
          change = {
            patch: { scheduled_plan_id: target.id, scheduled_billing_cycle: target.billing_cycle, updated_at: now },
            pending: [],
            invoice: null,
            prorationMinor: 0n,
          };
        } else {
          change = immediateChange(live, current, target, now);
        }
        const sub = { id: live.id, currency: target.currency };
        await addPendingLines(trx, scope, sub, change.pending, now);
        const invoice = change.invoice
          ? await writeInvoice(trx, scope, sub, {
              reason: "subscription_update",
              ...change.invoice,
              collectionMethod: ctx.payments.collectionMethod,
              now,
            })
          : null;
        const after = await updateSubscription(trx, scope, live.id, change.patch);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "subscription.change_plan",
          targetType: "subscription",
          targetId: live.id,
          before: toOrganizationSubscription(live, null, now),
          after: {
            ...toOrganizationSubscription(after, null, now),
            effectiveDate: body.effectiveDate,
            prorationAmount: formatMoney(change.prorationMinor, target.currency),
          },
        });
        return { row: after, invoiceId: invoice?.id ?? null, prorationMinor: change.prorationMinor };
      });
      if (invoiceId) await settleNewInvoice(ctx, scope, invoiceId);
      const settled = invoiceId ? await selectSubscription(db, scope, row.id) : row;
      return {
        subscription: await subscriptions.present(scope, settled),
        prorationAmount: formatMoney(prorationMinor, target.currency),
        currency: target.currency,
        nextBillingDate: settled.current_period_end?.toISOString() ?? null,
      };
    },
  };
}

export type PlanChangeService = ReturnType<typeof createPlanChangeService>;
