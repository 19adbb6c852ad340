import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, QuotaWarningsTable } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { ResourceType } from "./quotas.ts";

/** The tenant of a metering query: an organization, whether a user's scope or an API key's. */
export interface OrganizationScope {
  organizationId: string;
}

/** Rollups keep usage of the organization as a whole under the nil UUID. */
export const NO_WORKSPACE = "00000000-0000-0000-0000-000000000000";

export type QuotaWarningRow = Selectable<QuotaWarningsTable>;

/** Each metric's usage in the period that starts at `periodStart`. */
export async function selectCounters(db: Kysely<Database>, scope: OrganizationScope, periodStart: Date) {
  return db
    .selectFrom("usage_counters")
    .select(["resource_type", "used"])
    .where("organization_id", "=", scope.organizationId)
    .where("period_start", "=", periodStart)
    .execute();
}

/** One rollup bucket of one workspace (or `NO_WORKSPACE`). */
export interface RollupRow {
  bucket: Date;
  workspace_key: string;
  quantity: bigint;
}

/**
 * Rollup rows of `type` in [start, end): hourly rows for `hour`, daily ones for `day`, and daily
 * ones summed into UTC months for `month`. Reads at most a bucket per workspace: never the ledger.
 */
export async function selectRollups(
  db: Kysely<Database>,
  scope: OrganizationScope,
  filter: { type: ResourceType; granularity: "hour" | "day" | "month"; start: Date; end: Date; workspaceKey: string | null },
): Promise<RollupRow[]> {
  const stored = filter.granularity === "hour" ? "hour" : "day";
  const bucket = filter.granularity === "month" ? sql<Date>`date_trunc('month', bucket_start, 'UTC')` : sql<Date>`bucket_start`;
  let query = db
    .selectFrom("usage_rollups")
    .select([bucket.as("bucket"), "workspace_key", sql<bigint>`sum(quantity)::bigint`.as("quantity")])
    .where("organization_id", "=", scope.organizationId)
    .where("resource_type", "=", filter.type)
    .where("granularity", "=", stored)
    .where("bucket_start", ">=", filter.start)
    .where("bucket_start", "<", filter.end);
  if (filter.workspaceKey) query = query.where("workspace_key", "=", filter.workspaceKey);
  return query.groupBy([sql`1`, "workspace_key"]).execute();
}

/** The organization's warnings, newest first. */
export async function selectWarnings(
  db: Kysely<Database>,
  scope: OrganizationScope,
  filter: { metric?: string; periodStart?: Date; after: CursorKey | null; limit: number },
): Promise<QuotaWarningRow[]> {
  let query = db.selectFrom("quota_warnings").selectAll().where("organization_id", "=", scope.organizationId);
  if (filter.metric) query = query.where("metric", "=", filter.metric);
  if (filter.periodStart) query = query.where("period_start", "=", filter.periodStart);
  if (filter.after) query = query.where("id", "<", String(filter.after[0]));
  return query
    .orderBy("id", "desc")
    .limit(filter.limit + 1)
    .execute();
}

/** One warning by id, for its webhook event. */
export async function selectWarning(db: Kysely<Database>, scope: OrganizationScope, id: string): Promise<QuotaWarningRow | undefined> {
  return db
    .selectFrom("quota_warnings")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", id)
    .executeTakeFirst();
}
