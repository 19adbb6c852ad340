import { UTCDate } from "@date-fns/utc";
import { addMonths, startOfMonth } from "date-fns";
import type { Kysely } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { Database } from "../../generated/db.ts";
import { newId } from "../ids.ts";

export type PlanQuotas = components["schemas"]["Billing.PlanQuotas"];

/** The free plan of the default catalogue (sql/0001_subscription_plans.sql). */
export const FREE_PLAN_ID = "0190b6a0-0000-7000-8000-000000000001";

/** Statuses of an organization's one live subscription; `cancelled` and `expired` are history. */
export const LIVE_STATUSES = ["trialing", "active", "past_due", "suspended"] as const;

/** What the rest of the server needs to know of an organization's plan: its quotas and the current period. */
export interface CurrentPlan {
  subscriptionId: string;
  planId: string;
  status: (typeof LIVE_STATUSES)[number];
  quotas: PlanQuotas;
  /** The billing period usage counts in: [start, end). A lifetime plan counts per calendar month (UTC). */
  periodStart: Date;
  periodEnd: Date;
}

/** The calendar month (UTC) around `at`: the period of plans without a billing period. */
export function calendarMonthOf(at: Date): { start: Date; end: Date } {
  const start = startOfMonth(new UTCDate(at.getTime()));
  return { start: new Date(start.getTime()), end: new Date(addMonths(start, 1).getTime()) };
}

/**
 * The organization's live subscription with its plan's quotas, or null when it has none (every
 * organization is put on the free plan when it is created, so null means it has been ended).
 */
export async function currentPlanOf(db: Kysely<Database>, organizationId: string, now: Date): Promise<CurrentPlan | null> {
  const row = await db
    .selectFrom("subscriptions as s")
    .innerJoin("subscription_plans as p", "p.id", "s.plan_id")
    .select(["s.id", "s.plan_id", "s.status", "s.current_period_start", "s.current_period_end", "p.quotas"])
    .where("s.organization_id", "=", organizationId)
    .where("s.status", "in", LIVE_STATUSES)
    .executeTakeFirst();
  if (!row) return null;
  const month = calendarMonthOf(now);
  const bounded = row.current_period_end !== null;
  return {
    subscriptionId: row.id,
    planId: row.plan_id,
    status: row.status as CurrentPlan["status"],
    quotas: row.quotas as PlanQuotas,
    periodStart: bounded ? row.current_period_start : month.start,
    periodEnd: row.current_period_end ?? month.end,
  };
}

/** Puts a new organization on the free plan, monthly, from now. Runs in the organization's creating transaction. */
export function startOnFreePlan(now: () => Date) {
  return async function startOnFreePlanHook(trx: Kysely<Database>, organizationId: string): Promise<void> {
    const start = now();
    await trx
      .insertInto("subscriptions")
      .values({
        id: newId(),
        organization_id: organizationId,
        plan_id: FREE_PLAN_ID,
        status: "active",
        billing_cycle: "monthly",
        current_period_start: start,
        current_period_end: addMonths(new UTCDate(start.getTime()), 1),
      })
      .execute();
  };
}
