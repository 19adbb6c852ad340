import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import type { Mailer } from "../auth/mailer.ts";
import { hashToken, newOpaqueToken } from "../auth/secrets.ts";
import type { AuthService, Session } from "../auth/service.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import type { LookupCache } from "../db/lookup-cache.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import * as iq from "./invitation-queries.ts";
import { toTeamMember, type Invitation, type TeamMember } from "./mappers.ts";
import * as q from "./queries.ts";
import type { Role } from "./roles.ts";
import type { TeamScope, TenantScope } from "./scope.ts";

/** How long an invitation can be accepted. */
export const INVITATION_TTL_SECONDS = 72 * 3600;

/** Who is about to join a team of an organization. */
export interface JoiningMember {
  organizationId: string;
  userId: string;
  /** False when the user already has a role in another team of the organization: they take no new seat. */
  newToOrganization: boolean;
}

/** Checks a member joining a team may run inside its transaction (the metering module's team-member quota). */
export type MemberJoiningHook = (trx: Kysely<Database>, joining: JoiningMember) => Promise<void>;

function statusOf(row: iq.InvitationRow, now: Date): Invitation["status"] {
  if (row.status === "pending" && row.expires_at <= now) return "expired";
  return row.status as Invitation["status"];
}

function toInvitation(row: iq.InvitationRow, now: Date): Invitation {
  return {
    id: row.id,
    teamId: row.team_id,
    email: row.email,
    role: row.role as Role,
    status: statusOf(row, now),
    invitedBy: row.invited_by,
    expiresAt: row.expires_at.toISOString(),
    createdAt: row.created_at.toISOString(),
  };
}

/** Each state an invitation can no longer be answered in has its own code. */
function assertAnswerable(row: iq.InvitationRow, now: Date) {
  const status = statusOf(row, now);
  if (status === "accepted") throw new AppError("INVITATION_ALREADY_ACCEPTED");
  if (status === "revoked") throw new AppError("INVITATION_REVOKED");
  if (status === "expired") throw new AppError("INVITATION_EXPIRED");
}

const unknownToken = () => new AppError("NOT_FOUND", { message: message("No invitation has this token.", "没有与该令牌对应的邀请。") });

/** Invitations: sent by admins by email with a role, answered once by the invitee. */
export function createInvitationService(deps: {
  db: Kysely<Database>;
  now: () => Date;
  mailer: Mailer;
  auth: AuthService;
  publicUrl: string;
  onMemberJoining?: MemberJoiningHook[];
  /** The roles the scope resolver keeps: one who joins may gain a stronger role where they already had one. */
  scopes?: LookupCache<TenantScope>;
}) {
  const { db, now } = deps;

  /** Adds the invitee to the team and marks the invitation accepted, inside `trx`. */
  async function join(trx: Kysely<Database>, invitation: iq.InvitationRow, userId: string, actor: Actor): Promise<TeamMember> {
    const scope = { organizationId: invitation.organization_id, teamId: invitation.team_id } as TeamScope;
    if (await q.selectMember(trx, scope, userId)) throw new AppError("ALREADY_MEMBER");
    const joining = {
      organizationId: invitation.organization_id,
      userId,
      newToOrganization: !(await q.isOrganizationMember(trx, scope, userId)),
    };
    for (const hook of deps.onMemberJoining ?? []) await hook(trx, joining);
    await q.insertMember(trx, invitation.organization_id, { teamId: invitation.team_id, userId, role: invitation.role as Role });
    const accepted = await iq.markAccepted(trx, invitation.id, userId, now());
    if (accepted.numUpdatedRows !== 1n) throw new AppError("INVITATION_ALREADY_ACCEPTED");
    const member = await q.selectMember(trx, scope, userId);
    if (!member) throw new Error("member vanished inside its own transaction");
    await recordAudit(
      trx,
      { ...actor, userId },
      {
        organizationId: invitation.organization_id,
        action: "invitation.accept",
        targetType: "invitation",
        targetId: invitation.id,
        after: toTeamMember(member),
      },
    );
    return toTeamMember(member);
  }

  return {
    async create(scope: TeamScope, input: { email: string; role: Role }, actor: Actor): Promise<Invitation> {
      const email = input.email.trim().toLowerCase();
      if (input.role === "owner" && scope.role !== "owner") {
        throw new AppError("FORBIDDEN", { message: message("Only owners invite owners.", "只有所有者可以邀请所有者。") });
      }
      const token = newOpaqueToken();
      const invitation = await db.transaction().execute(async (trx) => {
        const team = await q.selectTeam(trx, scope);
        if (team.archived_at) throw new AppError("ARCHIVED");
        const existing = await trx
          .selectFrom("team_members as tm")
          .innerJoin("users as u", "u.id", "tm.user_id")
          .select("tm.user_id")
          .where("tm.team_id", "=", scope.teamId)
          .where("u.email", "=", email)
          .executeTakeFirst();
        if (existing) throw new AppError("ALREADY_MEMBER");
        await iq.revokePendingFor(trx, scope, email, now());
        const row = await iq.insertInvitation(trx, scope, {
          id: newId(),
          email,
          role: input.role,
          tokenHash: hashToken(token),
          invitedBy: scope.userId,
          expiresAt: new Date(now().getTime() + INVITATION_TTL_SECONDS * 1000),
        });
        const created = toInvitation(row, now());
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "invitation.create",
          targetType: "invitation",
          targetId: row.id,
          after: created,
        });
        return { created, teamName: team.name };
      });
      const link = `${deps.publicUrl}/invitations/accept?token=${token}`;
      await deps.mailer.send({
        kind: "invitation",
        to: email,
        subject: `You are invited to the team ${invitation.teamName} / 邀请您加入团队 ${invitation.teamName}`,
        text: `You are invited to join ${invitation.teamName} as ${input.role}. Accept within 72 hours:\n${link}\n\n您受邀以 ${input.role} 身份加入 ${invitation.teamName}，请在 72 小时内接受：\n${link}\n\nInvitation token: ${token}`,
      });
      return invitation.created;
    },

    async list(scope: TeamScope, options: { status?: Invitation["status"]; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const rows = await iq.selectInvitations(db, scope, {
        ...(options.status ? { status: options.status } : {}),
        now: now(),
        after,
        limit: options.limit,
      });
      return toPage(
        rows,
        options.limit,
        (row) => [row.id],
        (row) => toInvitation(row, now()),
      );
    },

    async revoke(scope: TeamScope, invitationId: string, actor: Actor): Promise<Invitation> {
      return db.transaction().execute(async (trx) => {
        const row = await iq.selectInvitation(trx, scope, invitationId);
        if (!row) throw new AppError("NOT_FOUND");
        assertAnswerable(row, now());
        const revoked = toInvitation(await iq.markRevoked(trx, scope, invitationId, now()), now());
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "invitation.revoke",
          targetType: "invitation",
          targetId: invitationId,
          before: toInvitation(row, now()),
          after: revoked,
        });
        return revoked;
      });
    },

    /** The signed-in user accepts; their email must be the invitation's. */
    async accept(userId: string, token: string, actor: Actor): Promise<TeamMember> {
      const member = await db.transaction().execute(async (trx) => {
        const invitation = await iq.selectInvitationByToken(trx, hashToken(token));
        if (!invitation) throw unknownToken();
        assertAnswerable(invitation, now());
        const user = await trx.selectFrom("users").select("email").where("id", "=", userId).executeTakeFirstOrThrow();
        if (user.email !== invitation.email) throw new AppError("INVITATION_EMAIL_MISMATCH");
        return join(trx, invitation, userId, actor);
      });
      deps.scopes?.evictOwner(userId);
      return member;
    },

    /** A new account for the invited email accepts, and is signed in. */
    async registerAndAccept(input: { token: string; password: string; name: string; locale?: string }, actor: Actor): Promise<Session> {
      return db.transaction().execute(async (trx) => {
        const invitation = await iq.selectInvitationByToken(trx, hashToken(input.token));
        if (!invitation) throw unknownToken();
        assertAnswerable(invitation, now());
        const user = await deps.auth.createAccount(
          trx,
          { email: invitation.email, password: input.password, name: input.name, locale: input.locale ?? "en-US" },
          actor,
        );
        await join(trx, invitation, user.id, actor);
        return deps.auth.startSession(trx, user, { ...actor, userId: user.id });
      });
    },
  };
}

export type InvitationService = ReturnType<typeof createInvitationService>;
