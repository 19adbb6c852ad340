import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import type { BillingContext, JobScope } from "./billing-context.ts";
import { LIVE_STATUSES } from "./current-plan.ts";
import { planLine, writeInvoice } from "./invoice-writer.ts";
import { selectPlanById } from "./plan-queries.ts";
import { nextBoundary, type BillingCycle } from "./periods.ts";
import { selectBillingAccount, updateSubscription, type SubscriptionRow } from "./subscription-queries.ts";

/** What closing one period did. */
export type CloseOutcome = "renewed" | "trial_converted" | "expired" | "trial_expired";

/**
 * Closes the period of a subscription that has ended (`current_period_end <= now`), in the caller's
 * transaction, which holds the row's lock:
 *
 * - a cancel due at the period end: the subscription `expired`; pending lines get a last invoice;
 * - a trial without a payment method while the provider needs one: `expired`, nothing billed;
 * - otherwise it renews: a scheduled change is applied, the next period starts at the old end, and
 *   its invoice (the plan price in advance plus pending lines) is written as a draft; a trial
 *   becomes `active`.
 *
 * The period end moves on (or the subscription ends) in the same transaction as the invoice, and an
 * invoice is unique per subscription and period start, so closing a period twice changes nothing.
 */
export async function closePeriod(trx: Kysely<Database>, ctx: BillingContext, sub: SubscriptionRow): Promise<CloseOutcome | null> {
  const end = sub.current_period_end;
  const now = ctx.now();
  if (!end || end > now) return null;
  const org = { organizationId: sub.organization_id };
  const current = await selectPlanById(trx, sub.plan_id);
  if (!current) throw new Error(`subscription ${sub.id} names a plan that does not exist`);

  if (sub.cancel_at && sub.cancel_at <= end) {
    await writeInvoice(
      trx,
      org,
      { id: sub.id, currency: current.currency },
      {
        reason: "subscription_end",
        periodStart: end,
        periodEnd: end,
        lines: [],
        collectionMethod: ctx.payments.collectionMethod,
        now,
      },
    );
    await updateSubscription(trx, org, sub.id, { status: "expired", ended_at: end, updated_at: now });
    return "expired";
  }

  const plan = sub.scheduled_plan_id ? await selectPlanById(trx, sub.scheduled_plan_id) : current;
  if (!plan) throw new Error(`subscription ${sub.id} is scheduled onto a plan that does not exist`);
  const cycle = (sub.scheduled_billing_cycle ?? sub.billing_cycle) as BillingCycle;
  const trialing = sub.status === "trialing";

  if (trialing && ctx.payments.requiresPaymentMethod && plan.price_minor > 0n) {
    const account = await selectBillingAccount(trx, org);
    if (!account?.default_payment_method_id) {
      await updateSubscription(trx, org, sub.id, { status: "expired", ended_at: end, updated_at: now });
      return "trial_expired";
    }
  }

  const anchor = trialing || cycle !== sub.billing_cycle ? end : (sub.billing_anchor ?? sub.current_period_start);
  const nextEnd = nextBoundary(anchor, cycle, end);
  await writeInvoice(
    trx,
    org,
    { id: sub.id, currency: plan.currency },
    {
      reason: "subscription_cycle",
      periodStart: end,
      periodEnd: nextEnd,
      lines: [planLine(plan, end, nextEnd)],
      collectionMethod: ctx.payments.collectionMethod,
      now,
    },
  );
  await updateSubscription(trx, org, sub.id, {
    plan_id: plan.id,
    billing_cycle: cycle,
    scheduled_plan_id: null,
    scheduled_billing_cycle: null,
    billing_anchor: anchor,
    current_period_start: end,
    current_period_end: nextEnd,
    status: trialing ? "active" : sub.status,
    updated_at: now,
  });
  return trialing ? "trial_converted" : "renewed";
}

/**
 * The period job's first step: closes every ended period, one subscription per transaction, each
 * claimed with `FOR UPDATE SKIP LOCKED` so several servers share the work and never close one
 * period twice. A subscription several periods behind is closed period by period. One locked by
 * someone else at that moment (a plan change, another run's dunning) is left to the next run. A
 * subscription whose close fails is skipped for the rest of this run (and logged through `failed`).
 */
export async function closeDuePeriods(
  ctx: BillingContext,
  scope: JobScope = {},
): Promise<{ closed: Record<CloseOutcome, number>; failed: { id: string; error: unknown }[] }> {
  const closed: Record<CloseOutcome, number> = { renewed: 0, trial_converted: 0, expired: 0, trial_expired: 0 };
  const failed: { id: string; error: unknown }[] = [];
  for (;;) {
    const skip = failed.map((f) => f.id);
    let claimed: string | null = null;
    try {
      const outcome = await ctx.db.transaction().execute(async (trx) => {
        let query = trx
          .selectFrom("subscriptions")
          .selectAll()
          .where("status", "in", LIVE_STATUSES)
          .where("current_period_end", "<=", ctx.now())
          .orderBy("current_period_end")
          .limit(1)
          .forUpdate()
          .skipLocked();
        if (skip.length > 0) query = query.where("id", "not in", skip);
        if (scope.organizationIds) query = query.where("organization_id", "in", scope.organizationIds);
        const sub = await query.executeTakeFirst();
        if (!sub) return null;
        claimed = sub.id;
        return closePeriod(trx, ctx, sub);
      });
      if (!outcome) return { closed, failed };
      closed[outcome] += 1;
    } catch (error) {
      if (!claimed) throw error;
      failed.push({ id: claimed, error });
    }
  }
}
