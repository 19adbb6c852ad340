import { recordAudit, type Actor } from "../audit/record.ts";
import { isUniqueViolation } from "../db/errors.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { BillingContext } from "./billing-context.ts";
import { settleNewInvoice } from "./collection.ts";
import { planLine, writeInvoice } from "./invoice-writer.ts";
import { preparePaymentMethod } from "./payment-method.ts";
import { nextBoundary, trialEndOf, type BillingCycle } from "./periods.ts";
import { selectPlanById } from "./plan-queries.ts";
import { canResume, toOrganizationSubscription, type OrganizationSubscription } from "./subscription-mapper.ts";
import {
  insertSubscription,
  lockLiveSubscription,
  saveBillingAccount,
  selectBillingAccount,
  selectCurrentSubscription,
  selectSubscription,
  updateSubscription,
  type SubscriptionRow,
} from "./subscription-queries.ts";
import { requireChoosablePlan, requireQuotasCoverUsage } from "./target-plan.ts";

const exists = (cause?: unknown) => new AppError("SUBSCRIPTION_EXISTS", { cause });

/** The organization's subscriptions: read, subscribe, cancel and resume. Plan changes live in plan-change.ts. */
export function createSubscriptionService(ctx: BillingContext) {
  const { db } = ctx;

  async function present(scope: TenantScope, row: SubscriptionRow): Promise<OrganizationSubscription> {
    const account = await selectBillingAccount(db, scope);
    return toOrganizationSubscription(row, account?.default_payment_method_id ?? null, ctx.now());
  }

  return {
    present,

    async get(scope: TenantScope): Promise<OrganizationSubscription> {
      const row = await selectCurrentSubscription(db, scope);
      if (!row) throw new AppError("NOT_FOUND", { message: message("The organization has no subscription.", "组织没有订阅。") });
      return present(scope, row);
    },

    /**
     * Subscribes the organization to a plan, replacing its free subscription. The payment method is
     * attached at the provider first (outside the transaction: a refusal changes nothing here); the
     * first invoice, when one is due now, is finalized and charged after the commit.
     */
    async create(
      scope: TenantScope,
      body: { planId: string; billingCycle: string; paymentMethodId?: string },
      actor: Actor,
    ): Promise<OrganizationSubscription> {
      const plan = await requireChoosablePlan(db, body.planId, body.billingCycle);
      const chargedNow = plan.price_minor > 0n && plan.trial_days === 0;
      const payment = await preparePaymentMethod(ctx, scope, { given: body.paymentMethodId, required: chargedNow });
      const now = ctx.now();
      try {
        const { row, invoiceId } = await db.transaction().execute(async (trx) => {
          const live = await lockLiveSubscription(trx, scope);
          if (live) {
            if (live.plan_id === plan.id) throw new AppError("SAME_PLAN");
            const livePlan = await selectPlanById(trx, live.plan_id);
            if (livePlan?.tier !== "free") throw exists();
          }
          await requireQuotasCoverUsage(trx, scope, plan);
          if (payment.save) await saveBillingAccount(trx, scope, payment.save, now);
          const replaced = live
            ? await updateSubscription(trx, scope, live.id, { status: "cancelled", cancelled_at: now, ended_at: now, updated_at: now })
            : null;
          const cycle = plan.billing_cycle as BillingCycle;
          const trialEnd = plan.trial_days > 0 ? trialEndOf(now, plan.trial_days) : null;
          const periodEnd = trialEnd ?? nextBoundary(now, cycle, now);
          const created = await insertSubscription(trx, scope, {
            id: newId(),
            plan_id: plan.id,
            status: trialEnd ? "trialing" : "active",
            billing_cycle: cycle,
            trial_start: trialEnd ? now : null,
            trial_end: trialEnd,
            // Paid periods count from the trial's end, or from now.
            billing_anchor: trialEnd ?? now,
            current_period_start: now,
            current_period_end: periodEnd,
            created_at: now,
            updated_at: now,
          });
          const invoice = trialEnd
            ? null
            : await writeInvoice(
                trx,
                scope,
                { id: created.id, currency: plan.currency },
                {
                  reason: "subscription_create",
                  periodStart: now,
                  periodEnd,
                  lines: [planLine(plan, now, periodEnd)],
                  collectionMethod: ctx.payments.collectionMethod,
                  now,
                },
              );
          await recordAudit(trx, actor, {
            organizationId: scope.organizationId,
            action: "subscription.create",
            targetType: "subscription",
            targetId: created.id,
            before: replaced ? toOrganizationSubscription(replaced, null, now) : null,
            after: toOrganizationSubscription(created, null, now),
          });
          return { row: created, invoiceId: invoice?.id ?? null };
        });
        if (invoiceId) await settleNewInvoice(ctx, scope, invoiceId);
        return present(scope, invoiceId ? await selectSubscription(db, scope, row.id) : row);
      } catch (error) {
        if (isUniqueViolation(error)) throw exists(error);
        throw error;
      }
    },

    /** Cancels now (`cancelled`) or at the period end (`cancelAt`; live until then). Nothing is refunded. */
    async cancel(
      scope: TenantScope,
      body: { cancelImmediately: boolean; reason?: string; feedback?: string },
      actor: Actor,
    ): Promise<OrganizationSubscription> {
      const now = ctx.now();
      const row = await db.transaction().execute(async (trx) => {
        const live = await lockLiveSubscription(trx, scope);
        if (!live) throw new AppError("SUBSCRIPTION_ENDED");
        const reason = { cancel_reason: body.reason ?? null, cancel_feedback: body.feedback ?? null };
        let after: SubscriptionRow;
        if (body.cancelImmediately) {
          after = await updateSubscription(trx, scope, live.id, {
            status: "cancelled",
            cancel_at: null,
            cancelled_at: now,
            ended_at: now,
            scheduled_plan_id: null,
            scheduled_billing_cycle: null,
            ...reason,
            updated_at: now,
          });
        } else {
          if (live.cancel_at) throw new AppError("CANCELLATION_PENDING");
          if (!live.current_period_end)
            throw new AppError("CONFLICT", {
              message: message("A lifetime subscription has no period end; cancel it immediately.", "终身订阅没有周期末，请立即取消。"),
            });
          after = await updateSubscription(trx, scope, live.id, {
            cancel_at: live.current_period_end,
            cancelled_at: now,
            scheduled_plan_id: null,
            scheduled_billing_cycle: null,
            ...reason,
            updated_at: now,
          });
        }
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "subscription.cancel",
          targetType: "subscription",
          targetId: live.id,
          before: toOrganizationSubscription(live, null, now),
          after: { ...toOrganizationSubscription(after, null, now), cancelFeedback: body.feedback ?? null },
        });
        return after;
      });
      return present(scope, row);
    },

    /** Undoes a cancel at period end, while the period has not ended. */
    async resume(scope: TenantScope, actor: Actor): Promise<OrganizationSubscription> {
      const now = ctx.now();
      const row = await db.transaction().execute(async (trx) => {
        const live = await lockLiveSubscription(trx, scope);
        if (!live || !canResume(live, now)) throw new AppError("NOTHING_TO_RESUME");
        const after = await updateSubscription(trx, scope, live.id, {
          cancel_at: null,
          cancelled_at: null,
          cancel_reason: null,
          cancel_feedback: null,
          updated_at: now,
        });
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "subscription.resume",
          targetType: "subscription",
          targetId: live.id,
          before: toOrganizationSubscription(live, null, now),
          after: toOrganizationSubscription(after, null, now),
        });
        return after;
      });
      return present(scope, row);
    },
  };
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;
