import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { currentPlanOf, type CurrentPlan } from "../billing/current-plan.ts";

/** How long a plan read is reused. meter_usage() checks the subscription still holds it on every call. */
const PLAN_CACHE_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Each organization's current plan and period (`currentPlanOf`), kept in memory so a metered call
 * makes one round trip. It cannot go stale unnoticed: an entry is dropped when its period ends, and
 * meter_usage() refuses a plan the subscription no longer holds (MQ002), after which the meter
 * forgets it and reads again.
 */
export function createPlanCache(deps: { db: Kysely<Database>; now: () => Date; clock?: () => number }) {
  const clock = deps.clock ?? (() => performance.now());
  const entries = new Map<string, { plan: CurrentPlan; at: number }>();
  return {
    async get(organizationId: string): Promise<CurrentPlan | null> {
      const now = deps.now();
      const hit = entries.get(organizationId);
      if (hit && clock() - hit.at < PLAN_CACHE_TTL_MS && now >= hit.plan.periodStart && now < hit.plan.periodEnd) return hit.plan;
      const plan = await currentPlanOf(deps.db, organizationId, now);
      entries.delete(organizationId);
      if (plan) {
        if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
        entries.set(organizationId, { plan, at: clock() });
      }
      return plan;
    },
    /** Drops the organization's entry: call it after changing its subscription, or on MQ002. */
    forget(organizationId: string): void {
      entries.delete(organizationId);
    },
  };
}

export type PlanCache = ReturnType<typeof createPlanCache>;
