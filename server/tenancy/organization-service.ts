import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { isUniqueViolation } from "../db/errors.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import { toOrganization, toTeam } from "./mappers.ts";
import * as q from "./queries.ts";
import type { Role } from "./roles.ts";
import type { TeamScope, TenantScope } from "./scope.ts";

export const teamNameTaken = (cause: unknown) =>
  new AppError("CONFLICT", { message: message("A live team with this name exists.", "已存在同名团队。"), cause });

/** Asks the other modules to set up a new organization (the billing module starts it on the free plan). */
export type OrganizationCreatedHook = (trx: Kysely<Database>, organizationId: string) => Promise<void>;

/** Organizations and their teams. */
export function createOrganizationService(db: Kysely<Database>, now: () => Date, onCreated: OrganizationCreatedHook[] = []) {
  return {
    /** Creates the organization, its root team with the creator as owner, in one transaction. */
    async createOrganization(userId: string, name: string, actor: Actor) {
      return db.transaction().execute(async (trx) => {
        const organizationId = newId();
        await trx.insertInto("organizations").values({ id: organizationId, name: name.trim(), created_by: userId }).execute();
        const team = await q.insertTeam(trx, organizationId, { id: newId(), name: "Root", isRoot: true });
        const organization = await trx
          .updateTable("organizations")
          .set({ root_team_id: team.id })
          .where("id", "=", organizationId)
          .returningAll()
          .executeTakeFirstOrThrow();
        await q.insertMember(trx, organizationId, { teamId: team.id, userId, role: "owner" });
        for (const hook of onCreated) await hook(trx, organizationId);
        const result = toOrganization(organization, "owner");
        await recordAudit(trx, actor, {
          organizationId,
          action: "organization.create",
          targetType: "organization",
          targetId: organizationId,
          after: result,
        });
        return result;
      });
    },

    async listMine(userId: string, page: { cursor?: string; limit: number }) {
      const after = page.cursor ? decodeCursor(page.cursor, ["string"]) : null;
      const rows = await q.selectOrganizationsOf(db, userId, { after, limit: page.limit });
      return toPage(
        rows,
        page.limit,
        (row) => [row.id],
        (row) => toOrganization({ ...row, created_by: null }, (row.root_role as Role | null) ?? "member"),
      );
    },

    async get(scope: TenantScope) {
      return toOrganization(await q.selectOrganization(db, scope), scope.role);
    },

    async rename(scope: TenantScope, name: string | undefined, actor: Actor) {
      return db.transaction().execute(async (trx) => {
        const before = toOrganization(await q.selectOrganization(trx, scope), scope.role);
        if (name === undefined) return before;
        const after = toOrganization(await q.updateOrganizationName(trx, scope, name.trim(), now()), scope.role);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "organization.update",
          targetType: "organization",
          targetId: scope.organizationId,
          before,
          after,
        });
        return after;
      });
    },

    async listTeams(scope: TenantScope, options: { includeArchived: boolean; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const rows = await q.selectTeams(db, scope, { includeArchived: options.includeArchived, after, limit: options.limit });
      return toPage(rows, options.limit, (row) => [row.id], toTeam);
    },

    /** Creates a team; its creator becomes its owner. */
    async createTeam(scope: TenantScope, name: string, actor: Actor) {
      try {
        return await db.transaction().execute(async (trx) => {
          const team = await q.insertTeam(trx, scope.organizationId, { id: newId(), name: name.trim(), isRoot: false });
          await q.insertMember(trx, scope.organizationId, { teamId: team.id, userId: scope.userId, role: "owner" });
          const result = toTeam(team);
          await recordAudit(trx, actor, {
            organizationId: scope.organizationId,
            action: "team.create",
            targetType: "team",
            targetId: team.id,
            after: result,
          });
          return result;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw teamNameTaken(error);
        throw error;
      }
    },

    async getTeam(scope: TeamScope) {
      return toTeam(await q.selectTeam(db, scope));
    },

    async renameTeam(scope: TeamScope, name: string, actor: Actor) {
      try {
        return await db.transaction().execute(async (trx) => {
          const before = await q.selectTeam(trx, scope);
          if (before.archived_at) throw new AppError("ARCHIVED");
          const after = toTeam(await q.updateTeam(trx, scope, { name: name.trim() }, now()));
          await recordAudit(trx, actor, {
            organizationId: scope.organizationId,
            action: "team.update",
            targetType: "team",
            targetId: scope.teamId,
            before: toTeam(before),
            after,
          });
          return after;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw teamNameTaken(error);
        throw error;
      }
    },

    /** Archives the team and its workspaces. Only root-team admins may; the root team stays. */
    async archiveTeam(scope: TeamScope, actor: Actor) {
      if (scope.rootRole !== "admin" && scope.rootRole !== "owner") throw new AppError("FORBIDDEN");
      return db.transaction().execute(async (trx) => {
        const before = await q.selectTeam(trx, scope);
        if (before.is_root)
          throw new AppError("UNPROCESSABLE", { message: message("The root team cannot be archived.", "根团队不能归档。") });
        if (before.archived_at) return toTeam(before);
        const after = toTeam(await q.updateTeam(trx, scope, { archived_at: now() }, now()));
        await q.archiveTeamWorkspaces(trx, scope, now());
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "team.archive",
          targetType: "team",
          targetId: scope.teamId,
          before: toTeam(before),
          after,
        });
        return after;
      });
    },
  };
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;
