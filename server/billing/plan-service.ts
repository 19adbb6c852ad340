import type { Kysely } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { Database } from "../../generated/db.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { formatMoney } from "../money.ts";
import { selectPlanById, selectPlanPage, type PlanRow } from "./plan-queries.ts";

export type SubscriptionPlan = components["schemas"]["Billing.SubscriptionPlan"];

/** A stored plan as the contract's `SubscriptionPlan`; the database's checks guarantee the enum columns. */
export function toSubscriptionPlan(row: PlanRow): SubscriptionPlan {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name as SubscriptionPlan["displayName"],
    description: row.description as SubscriptionPlan["description"],
    tier: row.tier as SubscriptionPlan["tier"],
    type: row.type as SubscriptionPlan["type"],
    billingCycle: row.billing_cycle as SubscriptionPlan["billingCycle"],
    price: formatMoney(row.price_minor, row.currency),
    currency: row.currency,
    trialDays: row.trial_days,
    features: row.features as SubscriptionPlan["features"],
    quotas: row.quotas as SubscriptionPlan["quotas"],
    status: row.status as SubscriptionPlan["status"],
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The plan catalogue's rules: which plans are listed, in what order, and what an unknown id answers. */
export function createPlanService(db: Kysely<Database>) {
  return {
    async listPlans(options: { includeArchived: boolean; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["number", "string"]) : null;
      const rows = await selectPlanPage(db, { includeArchived: options.includeArchived, after, limit: options.limit });
      return toPage(rows, options.limit, (row) => [row.sort_order, row.id], toSubscriptionPlan);
    },

    async getPlan(id: string): Promise<SubscriptionPlan> {
      const row = await selectPlanById(db, id);
      if (!row) throw new AppError("NOT_FOUND", { message: message("No plan has this id.", "没有该 ID 的套餐。") });
      return toSubscriptionPlan(row);
    },
  };
}

export type PlanService = ReturnType<typeof createPlanService>;
