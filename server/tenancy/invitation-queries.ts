import type { Kysely, Selectable } from "kysely";
import type { Database, TeamInvitationsTable } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { Role } from "./roles.ts";
import type { TeamScope } from "./scope.ts";

export type InvitationRow = Selectable<TeamInvitationsTable>;

export function insertInvitation(
  db: Kysely<Database>,
  scope: TeamScope,
  invitation: { id: string; email: string; role: Role; tokenHash: string; invitedBy: string; expiresAt: Date },
) {
  return db
    .insertInto("team_invitations")
    .values({
      id: invitation.id,
      organization_id: scope.organizationId,
      team_id: scope.teamId,
      email: invitation.email,
      role: invitation.role,
      token_hash: invitation.tokenHash,
      invited_by: invitation.invitedBy,
      expires_at: invitation.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Revokes earlier pending invitations of `email` to the team: a new invitation supersedes them. */
export function revokePendingFor(db: Kysely<Database>, scope: TeamScope, email: string, now: Date) {
  return db
    .updateTable("team_invitations")
    .set({ status: "revoked", revoked_at: now })
    .where("organization_id", "=", scope.organizationId)
    .where("team_id", "=", scope.teamId)
    .where("email", "=", email)
    .where("status", "=", "pending")
    .execute();
}

export function selectInvitations(
  db: Kysely<Database>,
  scope: TeamScope,
  options: { status?: "pending" | "accepted" | "revoked" | "expired"; now: Date; after: CursorKey | null; limit: number },
) {
  let query = db
    .selectFrom("team_invitations")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("team_id", "=", scope.teamId);
  if (options.status === "expired") query = query.where("status", "=", "pending").where("expires_at", "<=", options.now);
  else if (options.status === "pending") query = query.where("status", "=", "pending").where("expires_at", ">", options.now);
  else if (options.status) query = query.where("status", "=", options.status);
  if (options.after) query = query.where("id", "<", options.after[0] as string);
  return query
    .orderBy("id", "desc")
    .limit(options.limit + 1)
    .execute();
}

export function selectInvitation(db: Kysely<Database>, scope: TeamScope, id: string) {
  return db
    .selectFrom("team_invitations")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("team_id", "=", scope.teamId)
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
}

/** The invitation a mailed token stands for, locked for the accepting transaction. Not tenant-scoped: the token is the capability. */
export function selectInvitationByToken(db: Kysely<Database>, tokenHash: string) {
  return db.selectFrom("team_invitations").selectAll().where("token_hash", "=", tokenHash).forUpdate().executeTakeFirst();
}

export function markAccepted(db: Kysely<Database>, id: string, userId: string, now: Date) {
  return db
    .updateTable("team_invitations")
    .set({ status: "accepted", accepted_by: userId, accepted_at: now })
    .where("id", "=", id)
    .where("status", "=", "pending")
    .executeTakeFirst();
}

export function markRevoked(db: Kysely<Database>, scope: TeamScope, id: string, now: Date) {
  return db
    .updateTable("team_invitations")
    .set({ status: "revoked", revoked_at: now })
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", id)
    .where("status", "=", "pending")
    .returningAll()
    .executeTakeFirstOrThrow();
}
