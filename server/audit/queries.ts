import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** Filters of the audit log. */
export interface AuditFilters {
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
}

/** The organization's audit entries, newest first. */
export function selectAuditLogs(
  db: Kysely<Database>,
  scope: TenantScope,
  filters: AuditFilters,
  page: { after: CursorKey | null; limit: number },
) {
  let query = db.selectFrom("audit_logs").selectAll().where("organization_id", "=", scope.organizationId);
  if (filters.actorId) query = query.where("actor_user_id", "=", filters.actorId);
  if (filters.action) query = query.where("action", "=", filters.action);
  if (filters.targetType) query = query.where("target_type", "=", filters.targetType);
  if (filters.targetId) query = query.where("target_id", "=", filters.targetId);
  if (filters.from) query = query.where("created_at", ">=", filters.from);
  if (filters.to) query = query.where("created_at", "<", filters.to);
  if (page.after) query = query.where("id", "<", page.after[0] as string);
  return query
    .orderBy("id", "desc")
    .limit(page.limit + 1)
    .execute();
}
