import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import type { WorkflowSettings } from "./types.ts";

const DEFAULTS: WorkflowSettings = { allowPrivateNetwork: false, updatedAt: null };

function selectSettings(db: Kysely<Database>, scope: WorkspaceScope) {
  return db
    .selectFrom("workflow_settings")
    .select(["allow_private_network", "updated_at"])
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId)
    .executeTakeFirst();
}

const toSettings = (row: { allow_private_network: boolean; updated_at: Date } | undefined): WorkflowSettings =>
  row ? { allowPrivateNetwork: row.allow_private_network, updatedAt: row.updated_at.toISOString() } : DEFAULTS;

/** A workspace's workflow settings; no row means the defaults (private network closed). `onChanged` is told after a change commits. */
export function createSettingsService(db: Kysely<Database>, now: () => Date, onChanged?: () => void) {
  return {
    async get(scope: WorkspaceScope): Promise<WorkflowSettings> {
      return toSettings(await selectSettings(db, scope));
    },

    async update(scope: WorkspaceScope, change: { allowPrivateNetwork?: boolean }, actor: Actor): Promise<WorkflowSettings> {
      const updated = await db.transaction().execute(async (trx) => {
        const before = toSettings(await selectSettings(trx, scope));
        const allow = change.allowPrivateNetwork ?? before.allowPrivateNetwork;
        const row = await trx
          .insertInto("workflow_settings")
          .values({
            organization_id: scope.organizationId,
            workspace_id: scope.workspaceId,
            allow_private_network: allow,
            updated_by: scope.userId,
            updated_at: now(),
          })
          .onConflict((oc) =>
            oc.column("workspace_id").doUpdateSet({ allow_private_network: allow, updated_by: scope.userId, updated_at: now() }),
          )
          .returning(["allow_private_network", "updated_at"])
          .executeTakeFirstOrThrow();
        const after = toSettings(row);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          workspaceId: scope.workspaceId,
          action: "workflow_settings.update",
          targetType: "workflow_settings",
          targetId: scope.workspaceId,
          before,
          after,
        });
        return after;
      });
      onChanged?.();
      return updated;
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
