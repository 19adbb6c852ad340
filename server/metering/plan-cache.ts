import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { currentPlanOf, type CurrentPlan } from "../billing/current-plan.ts";
import { createLookupCache } from "../db/lookup-cache.ts";

/** How long a plan read is reused. meter_usage() checks the subscription still holds it on every call. */
const PLAN_CACHE_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Each organization's current plan and period (`currentPlanOf`), kept in memory so a metered call
 * makes one round trip. It cannot go stale unnoticed: an entry is dropped when its period ends, and
 * meter_usage() refuses a plan the subscription no longer holds (MQ002), after which the meter
 * forgets it and reads again. Kept by a lookup cache (server/db/lookup-cache.ts), so a busy
 * organization's plan is read again in the background before it expires, and its calls never wait
 * for that read.
 */
export function createPlanCache(deps: { db: Kysely<Database>; now: () => Date; clock?: () => number }) {
  const plans = createLookupCache<CurrentPlan | null>({
    ttlMs: PLAN_CACHE_TTL_MS,
    keep: (plan) => plan !== null,
    maxEntries: MAX_ENTRIES,
    clock: deps.clock,
  });
  const read = (organizationId: string) => () => currentPlanOf(deps.db, organizationId, deps.now());
  return {
    async get(organizationId: string): Promise<CurrentPlan | null> {
      const now = deps.now();
      const plan = await plans.lookUp(organizationId, organizationId, read(organizationId));
      if (!plan || (now >= plan.periodStart && now < plan.periodEnd)) return plan;
      // Its period has ended: read the plan of the period that holds now.
      plans.evictOwner(organizationId);
      return plans.lookUp(organizationId, organizationId, read(organizationId));
    },
    /** Drops the organization's entry: call it after changing its subscription, or on MQ002. */
    forget(organizationId: string): void {
      plans.evictOwner(organizationId);
    },
  };
}

export type PlanCache = ReturnType<typeof createPlanCache>;
