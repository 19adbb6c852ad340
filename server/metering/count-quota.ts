import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { currentPlanOf } from "../billing/current-plan.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { quotaExceededError } from "./quota-exceeded.ts";
import { COUNT_QUOTAS, UNLIMITED, type CountQuotaKey } from "./quotas.ts";

/** Counts an organization's live resources of one kind (members, workflows, bytes stored, …) inside a transaction. */
export type LiveCount = (trx: Kysely<Database>, organizationId: string) => Promise<number>;

/** The count quotas measured on live resources: every one but the `custom_plugins` switch. */
export type CountedQuotaKey = Exclude<CountQuotaKey, "custom_plugins">;

/** People with a role in any of the organization's teams, each once. */
export const countTeamMembers: LiveCount = async (trx, organizationId) => {
  const row = await trx
    .selectFrom("team_members")
    .select((eb) => eb.fn.count<string>("user_id").distinct().as("n"))
    .where("organization_id", "=", organizationId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
};

/**
 * Count quotas, checked when a resource is created: `assertCountQuota` runs inside the creating
 * transaction of the module that owns the resource. Each kind is counted by the `LiveCount` its
 * module provides (the team-members count is built in); asking for a kind nobody counts is a
 * programming error, not an unlimited quota.
 */
export function createCountQuotas(deps: { now: () => Date; liveCounts: Partial<Record<CountedQuotaKey, LiveCount>> }) {
  return {
    /**
     * Throws 429 `QUOTA_EXCEEDED` unless `adding` more of `key` fit the organization's plan. Call it
     * in the transaction that creates the resource, before the insert: it holds a transaction-scoped
     * lock on (organization, key) until that transaction ends, so two creations can never both take
     * the last unit. `storage_gb` counts bytes; `custom_plugins` only checks the plan allows them.
     * Crossing 80 % or 100 % writes the quota's warning.
     *
     * @example
     * await db.transaction().execute(async (trx) => {
     *   await counts.assertCountQuota(trx, organizationId, "workflows", 1);
     *   await trx.insertInto("workflows").values(row).execute();
     * });
     */
    async assertCountQuota(trx: Kysely<Database>, organizationId: string, key: CountQuotaKey, adding: number): Promise<void> {
      const now = deps.now();
      const plan = await currentPlanOf(trx, organizationId, now);
      if (!plan) throw new AppError("SUBSCRIPTION_ENDED");
      if (key === "custom_plugins") {
        if (plan.quotas.custom_plugins) return;
        throw new AppError("QUOTA_EXCEEDED", {
          headers: { "X-Quota-Metric": "custom_plugins", "X-Quota-Limit": "0", "X-Quota-Used": "0" },
          message: message("Your plan does not include custom plugins.", "您的套餐不包含自定义插件。"),
        });
      }
      const count = deps.liveCounts[key];
      if (!count) throw new Error(`no live count for the ${key} quota: give one to the metering service`);
      const { unit, limitOf } = COUNT_QUOTAS[key];
      const limit = limitOf(plan.quotas);
      await sql`select pg_advisory_xact_lock(hashtextextended(${`count-quota:${organizationId}:${key}`}, 0))`.execute(trx);
      const used = await count(trx, organizationId);
      if (limit === UNLIMITED) return;
      if (used + adding > limit) {
        throw quotaExceededError({ metric: key, unit, limit, used, requested: adding, resetsAt: null }, now);
      }
      await sql`select raise_quota_warnings(${organizationId}::uuid, ${key}, ${used}::bigint, ${used + adding}::bigint,
        ${limit}::bigint, ${plan.periodStart.toISOString()}::timestamptz, ${plan.periodEnd.toISOString()}::timestamptz,
        ${now.toISOString()}::timestamptz)`.execute(trx);
    },

    /** How much of `key` the organization uses now, or null when no module counts it yet. */
    async used(db: Kysely<Database>, organizationId: string, key: CountedQuotaKey): Promise<number | null> {
      const count = deps.liveCounts[key];
      return count ? count(db, organizationId) : null;
    },
  };
}

export type CountQuotas = ReturnType<typeof createCountQuotas>;
