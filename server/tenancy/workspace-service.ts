import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { isUniqueViolation } from "../db/errors.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import { toWorkspace } from "./mappers.ts";
import * as q from "./queries.ts";
import type { TeamScope, WorkspaceScope } from "./scope.ts";

const nameTaken = (cause: unknown) =>
  new AppError("CONFLICT", {
    message: message("A live workspace with this name exists in the team.", "团队中已存在同名工作空间。"),
    cause,
  });

async function withNameCheck<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(error);
    throw error;
  }
}

/** Workspaces: the isolation unit of every workspace resource. */
export function createWorkspaceService(db: Kysely<Database>, now: () => Date) {
  return {
    async list(scope: TeamScope, options: { includeArchived: boolean; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const rows = await q.selectWorkspaces(db, scope, { includeArchived: options.includeArchived, after, limit: options.limit });
      return toPage(rows, options.limit, (row) => [row.id], toWorkspace);
    },

    async create(scope: TeamScope, name: string, actor: Actor) {
      return withNameCheck(() =>
        db.transaction().execute(async (trx) => {
          const team = await q.selectTeam(trx, scope);
          if (team.archived_at) throw new AppError("ARCHIVED");
          const workspace = toWorkspace(await q.insertWorkspace(trx, scope, { id: newId(), name: name.trim() }));
          await recordAudit(trx, actor, {
            organizationId: scope.organizationId,
            workspaceId: workspace.id,
            action: "workspace.create",
            targetType: "workspace",
            targetId: workspace.id,
            after: workspace,
          });
          return workspace;
        }),
      );
    },

    async get(scope: WorkspaceScope) {
      return toWorkspace(await q.selectWorkspace(db, scope));
    },

    async rename(scope: WorkspaceScope, name: string, actor: Actor) {
      return withNameCheck(() =>
        db.transaction().execute(async (trx) => {
          const before = await q.selectWorkspace(trx, scope);
          if (before.archived_at) throw new AppError("ARCHIVED");
          const after = toWorkspace(await q.updateWorkspace(trx, scope, { name: name.trim() }, now()));
          await recordAudit(trx, actor, {
            organizationId: scope.organizationId,
            workspaceId: scope.workspaceId,
            action: "workspace.update",
            targetType: "workspace",
            targetId: scope.workspaceId,
            before: toWorkspace(before),
            after,
          });
          return after;
        }),
      );
    },

    async archive(scope: WorkspaceScope, actor: Actor) {
      return db.transaction().execute(async (trx) => {
        const before = await q.selectWorkspace(trx, scope);
        if (before.archived_at) return toWorkspace(before);
        const after = toWorkspace(await q.updateWorkspace(trx, scope, { archived_at: now() }, now()));
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          workspaceId: scope.workspaceId,
          action: "workspace.archive",
          targetType: "workspace",
          targetId: scope.workspaceId,
          before: toWorkspace(before),
          after,
        });
        return after;
      });
    },
  };
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
