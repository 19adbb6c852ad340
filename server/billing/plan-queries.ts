import type { Kysely, Selectable } from "kysely";
import type { Database, SubscriptionPlansTable } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";

/** A row of `subscription_plans`. The catalogue is global: plans belong to no tenant. */
export type PlanRow = Selectable<SubscriptionPlansTable>;

/** One page of the catalogue in its order (`sort_order`, `id`), `limit + 1` rows so the caller knows if more follow. */
export function selectPlanPage(
  db: Kysely<Database>,
  options: { includeArchived: boolean; after: CursorKey | null; limit: number },
): Promise<PlanRow[]> {
  let query = db.selectFrom("subscription_plans").selectAll();
  if (!options.includeArchived) query = query.where("status", "=", "active");
  if (options.after) {
    const [sortOrder, id] = options.after as [number, string];
    query = query.where((eb) => eb(eb.refTuple("sort_order", "id"), ">", eb.tuple(sortOrder, id)));
  }
  return query
    .orderBy("sort_order")
    .orderBy("id")
    .limit(options.limit + 1)
    .execute();
}

/** The plan with `id`, archived or not. */
export function selectPlanById(db: Kysely<Database>, id: string): Promise<PlanRow | undefined> {
  return db.selectFrom("subscription_plans").selectAll().where("id", "=", id).executeTakeFirst();
}
