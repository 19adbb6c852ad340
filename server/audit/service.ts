import type { Kysely } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { Database } from "../../generated/db.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { selectAuditLogs, type AuditFilters } from "./queries.ts";

type AuditLogEntry = components["schemas"]["Tenant.AuditLogEntry"];

/** Reading the audit log. Entries are written by `recordAudit` inside each change's transaction. */
export function createAuditService(db: Kysely<Database>) {
  return {
    async list(scope: TenantScope, filters: AuditFilters, page: { cursor?: string; limit: number }) {
      const after = page.cursor ? decodeCursor(page.cursor, ["string"]) : null;
      const rows = await selectAuditLogs(db, scope, filters, { after, limit: page.limit });
      return toPage(
        rows,
        page.limit,
        (row) => [row.id],
        (row): AuditLogEntry => ({
          id: row.id,
          organizationId: row.organization_id,
          workspaceId: row.workspace_id,
          actorId: row.actor_user_id,
          action: row.action,
          targetType: row.target_type,
          targetId: row.target_id,
          changes: row.changes as AuditLogEntry["changes"],
          ip: row.ip,
          userAgent: row.user_agent,
          requestId: row.request_id,
          createdAt: row.created_at.toISOString(),
        }),
      );
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
