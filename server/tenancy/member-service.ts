import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import type { LookupCache } from "../db/lookup-cache.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { toTeamMember, type TeamMember } from "./mappers.ts";
import * as q from "./queries.ts";
import type { Role } from "./roles.ts";
import type { TeamScope, TenantScope } from "./scope.ts";

const notAMember = () => new AppError("NOT_FOUND", { message: message("This user is not a member of the team.", "该用户不是团队成员。") });
const ownersOnly = () =>
  new AppError("FORBIDDEN", { message: message("Only owners grant or remove ownership.", "只有所有者可以授予或移除所有者身份。") });

/**
 * Team membership: roles, removal, ownership transfer. A team always keeps an owner. Each change
 * evicts the roles the scope resolver keeps of the users it touched (`scopes`), once it has committed.
 */
export function createMemberService(db: Kysely<Database>, scopes?: LookupCache<TenantScope>) {
  /** Loads the target member with the team's owners locked, and applies the ownership rules. */
  async function guardedTarget(trx: Kysely<Database>, scope: TeamScope, userId: string, newRole: Role | null) {
    const owners = await q.lockOwners(trx, scope);
    const target = await q.selectMember(trx, scope, userId);
    if (!target) throw notAMember();
    const touchesOwnership = target.role === "owner" || newRole === "owner";
    if (touchesOwnership && scope.role !== "owner") throw ownersOnly();
    if (target.role === "owner" && newRole !== "owner" && owners.length <= 1) throw new AppError("LAST_OWNER");
    return target;
  }

  return {
    async list(scope: TeamScope, page: { cursor?: string; limit: number }) {
      const after = page.cursor ? decodeCursor(page.cursor, ["string", "string"]) : null;
      const rows = await q.selectMembers(db, scope, { after, limit: page.limit });
      return toPage(rows, page.limit, (row) => [row.joined_at.toISOString(), row.user_id], toTeamMember);
    },

    async changeRole(scope: TeamScope, userId: string, role: Role, actor: Actor): Promise<TeamMember> {
      const changed = await db.transaction().execute(async (trx) => {
        const target = await guardedTarget(trx, scope, userId, role);
        await q.updateMemberRole(trx, scope, userId, role);
        const after = { ...toTeamMember(target), role };
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "member.update",
          targetType: "team_member",
          targetId: `${scope.teamId}:${userId}`,
          before: toTeamMember(target),
          after,
        });
        return after;
      });
      scopes?.evictOwner(userId);
      return changed;
    },

    async remove(scope: TeamScope, userId: string, actor: Actor): Promise<TeamMember> {
      const removedMember = await db.transaction().execute(async (trx) => {
        const target = await guardedTarget(trx, scope, userId, null);
        await q.deleteMember(trx, scope, userId);
        const removed = toTeamMember(target);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "member.remove",
          targetType: "team_member",
          targetId: `${scope.teamId}:${userId}`,
          before: removed,
        });
        return removed;
      });
      scopes?.evictOwner(userId);
      return removedMember;
    },

    /** Makes `userId` an owner; the caller, if a member of the team, steps down to admin. */
    async transferOwnership(scope: TeamScope, userId: string, actor: Actor): Promise<TeamMember[]> {
      if (userId === scope.userId)
        throw new AppError("UNPROCESSABLE", { message: message("You already own this team.", "您已是该团队的所有者。") });
      const changed = await db.transaction().execute(async (trx) => {
        await q.lockOwners(trx, scope);
        const target = await q.selectMember(trx, scope, userId);
        if (!target) throw notAMember();
        await q.updateMemberRole(trx, scope, userId, "owner");
        const changed = [{ ...toTeamMember(target), role: "owner" as const }];
        const caller = await q.selectMember(trx, scope, scope.userId);
        if (caller) {
          await q.updateMemberRole(trx, scope, scope.userId, "admin");
          changed.unshift({ ...toTeamMember(caller), role: "admin" as never });
        }
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "team.transfer_ownership",
          targetType: "team",
          targetId: scope.teamId,
          before: { owner: scope.userId },
          after: { owner: userId },
        });
        return changed;
      });
      scopes?.evictOwner(userId);
      scopes?.evictOwner(scope.userId);
      return changed;
    },
  };
}

export type MemberService = ReturnType<typeof createMemberService>;
