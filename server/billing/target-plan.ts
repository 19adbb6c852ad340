import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import type { PlanQuotas } from "./current-plan.ts";
import { selectPlanById, type PlanRow } from "./plan-queries.ts";
import { selectCountQuotaUsage, type OrganizationRef } from "./subscription-queries.ts";

/** The plan a body names, if it can be chosen: known (404), active (422) and at the cycle given (422). */
export async function requireChoosablePlan(db: Kysely<Database>, planId: string, billingCycle: string): Promise<PlanRow> {
  const plan = await selectPlanById(db, planId);
  if (!plan) throw new AppError("PLAN_NOT_FOUND");
  if (plan.status !== "active") throw new AppError("PLAN_ARCHIVED");
  if (plan.billing_cycle !== billingCycle)
    throw new AppError("BILLING_CYCLE_MISMATCH", {
      message: message(
        `The plan ${plan.name} is billed ${plan.billing_cycle}, not ${billingCycle}.`,
        `套餐 ${plan.name} 的计费周期是 ${plan.billing_cycle}，不是 ${billingCycle}。`,
      ),
    });
  return plan;
}

const QUOTA_NAMES: Record<"team_members", { en: string; zh: string }> = {
  team_members: { en: "team members", zh: "团队成员" },
};

/**
 * Refuses a plan whose count quotas are below what the organization uses now (422
 * `QUOTA_BELOW_USAGE`, naming the quota). Per-period quotas are not checked: they reset with the
 * period. Run it in the transaction that changes the plan.
 */
export async function requireQuotasCoverUsage(trx: Kysely<Database>, org: OrganizationRef, plan: PlanRow): Promise<void> {
  const quotas = plan.quotas as PlanQuotas;
  const usage = await selectCountQuotaUsage(trx, org);
  for (const key of Object.keys(usage) as (keyof typeof usage)[]) {
    const limit = quotas[key];
    if (typeof limit !== "number" || limit === -1 || usage[key] <= limit) continue;
    const name = QUOTA_NAMES[key];
    throw new AppError("QUOTA_BELOW_USAGE", {
      message: message(
        `The plan ${plan.name} allows ${limit} ${name.en} (quota ${key}); the organization has ${usage[key]}.`,
        `套餐 ${plan.name} 最多允许 ${limit} 名${name.zh}（配额 ${key}），组织当前有 ${usage[key]} 名。`,
      ),
    });
  }
}
