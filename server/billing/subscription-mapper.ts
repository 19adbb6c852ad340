import type { components } from "../../generated/api-types.ts";
import { LIVE_STATUSES } from "./current-plan.ts";
import type { SubscriptionRow } from "./subscription-queries.ts";

export type OrganizationSubscription = components["schemas"]["Billing.OrganizationSubscription"];
type Action = OrganizationSubscription["availableActions"][number];

const iso = (at: Date | null) => (at ? at.toISOString() : null);

/** Whether the subscription is the organization's live one. */
export function isLive(row: SubscriptionRow): boolean {
  return (LIVE_STATUSES as readonly string[]).includes(row.status);
}

/** Whether a cancel at period end is pending and can still be undone at `now`. */
export function canResume(row: SubscriptionRow, now: Date): boolean {
  return isLive(row) && row.cancel_at !== null && row.cancel_at > now;
}

function actionsOf(row: SubscriptionRow, now: Date): Action[] {
  if (!isLive(row)) return [];
  if (row.cancel_at) return canResume(row, now) ? ["cancel", "resume"] : ["cancel"];
  return ["change_plan", "cancel"];
}

/** A stored subscription as the contract's `OrganizationSubscription`, with the actions allowed at `now`. */
export function toOrganizationSubscription(row: SubscriptionRow, paymentMethodId: string | null, now: Date): OrganizationSubscription {
  return {
    id: row.id,
    organizationId: row.organization_id,
    planId: row.plan_id,
    status: row.status as OrganizationSubscription["status"],
    billingCycle: row.billing_cycle as OrganizationSubscription["billingCycle"],
    trialStart: iso(row.trial_start),
    trialEnd: iso(row.trial_end),
    currentPeriodStart: row.current_period_start.toISOString(),
    currentPeriodEnd: iso(row.current_period_end),
    cancelAt: iso(row.cancel_at),
    cancelledAt: iso(row.cancelled_at),
    cancelReason: row.cancel_reason,
    endedAt: iso(row.ended_at),
    pastDueSince: iso(row.past_due_since),
    scheduledChange:
      row.scheduled_plan_id && row.scheduled_billing_cycle && row.current_period_end
        ? {
            planId: row.scheduled_plan_id,
            billingCycle: row.scheduled_billing_cycle as OrganizationSubscription["billingCycle"],
            effectiveAt: row.current_period_end.toISOString(),
          }
        : null,
    paymentMethodId,
    availableActions: actionsOf(row, now),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
