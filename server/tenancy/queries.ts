import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, TeamsTable, WorkspacesTable } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { Role } from "./roles.ts";
import type { TeamScope, TenantScope, WorkspaceScope } from "./scope.ts";

export type TeamRow = Selectable<TeamsTable>;
export type WorkspaceRow = Selectable<WorkspacesTable>;

/** Organizations the user has a team in, newest first, with the user's root-team role. */
export function selectOrganizationsOf(db: Kysely<Database>, userId: string, page: { after: CursorKey | null; limit: number }) {
  let query = db
    .selectFrom("organizations as o")
    .select(["o.id", "o.name", "o.root_team_id", "o.created_at", "o.updated_at"])
    .select((eb) =>
      eb
        .selectFrom("team_members as tm")
        .select("tm.role")
        .whereRef("tm.team_id", "=", "o.root_team_id")
        .where("tm.user_id", "=", userId)
        .as("root_role"),
    )
    .where((eb) =>
      eb.exists(
        eb.selectFrom("team_members as m").select("m.user_id").whereRef("m.organization_id", "=", "o.id").where("m.user_id", "=", userId),
      ),
    );
  if (page.after) query = query.where("o.id", "<", page.after[0] as string);
  return query
    .orderBy("o.id", "desc")
    .limit(page.limit + 1)
    .execute();
}

/** The scope's organization. */
export function selectOrganization(db: Kysely<Database>, scope: TenantScope) {
  return db.selectFrom("organizations").selectAll().where("id", "=", scope.organizationId).executeTakeFirstOrThrow();
}

export function updateOrganizationName(db: Kysely<Database>, scope: TenantScope, name: string, now: Date) {
  return db
    .updateTable("organizations")
    .set({ name, updated_at: now })
    .where("id", "=", scope.organizationId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function selectTeams(
  db: Kysely<Database>,
  scope: TenantScope,
  options: { includeArchived: boolean; after: CursorKey | null; limit: number },
) {
  let query = db.selectFrom("teams").selectAll().where("organization_id", "=", scope.organizationId);
  if (!options.includeArchived) query = query.where("archived_at", "is", null);
  if (options.after) query = query.where("id", ">", options.after[0] as string);
  return query
    .orderBy("id")
    .limit(options.limit + 1)
    .execute();
}

export function insertTeam(db: Kysely<Database>, organizationId: string, team: { id: string; name: string; isRoot: boolean }) {
  return db
    .insertInto("teams")
    .values({ id: team.id, organization_id: organizationId, name: team.name, is_root: team.isRoot })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The scope's team. */
export function selectTeam(db: Kysely<Database>, scope: TeamScope) {
  return db
    .selectFrom("teams")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", scope.teamId)
    .executeTakeFirstOrThrow();
}

export function updateTeam(db: Kysely<Database>, scope: TeamScope, set: { name?: string; archived_at?: Date }, now: Date) {
  return db
    .updateTable("teams")
    .set({ ...set, updated_at: now })
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", scope.teamId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function archiveTeamWorkspaces(db: Kysely<Database>, scope: TeamScope, now: Date) {
  return db
    .updateTable("workspaces")
    .set({ archived_at: now, updated_at: now })
    .where("organization_id", "=", scope.organizationId)
    .where("team_id", "=", scope.teamId)
    .where("archived_at", "is", null)
    .execute();
}

const memberColumns = ["tm.team_id", "tm.user_id", "tm.role", "tm.joined_at", "u.email", "u.name"] as const;

/** Members of the scope's team by join time. */
export function selectMembers(db: Kysely<Database>, scope: TeamScope, page: { after: CursorKey | null; limit: number }) {
  let query = db
    .selectFrom("team_members as tm")
    .innerJoin("users as u", "u.id", "tm.user_id")
    .select(memberColumns)
    .where("tm.organization_id", "=", scope.organizationId)
    .where("tm.team_id", "=", scope.teamId);
  if (page.after) {
    const [joinedAt, userId] = page.after as [string, string];
    query = query.where((eb) => eb(eb.refTuple("tm.joined_at", "tm.user_id"), ">", eb.tuple(new Date(joinedAt), userId)));
  }
  return query
    .orderBy("tm.joined_at")
    .orderBy("tm.user_id")
    .limit(page.limit + 1)
    .execute();
}

export function selectMember(db: Kysely<Database>, scope: TeamScope, userId: string) {
  return db
    .selectFrom("team_members as tm")
    .innerJoin("users as u", "u.id", "tm.user_id")
    .select(memberColumns)
    .where("tm.organization_id", "=", scope.organizationId)
    .where("tm.team_id", "=", scope.teamId)
    .where("tm.user_id", "=", userId)
    .executeTakeFirst();
}

/** Whether the user has a role in any team of the organization. */
export async function isOrganizationMember(db: Kysely<Database>, scope: TenantScope, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom("team_members")
    .select("user_id")
    .where("organization_id", "=", scope.organizationId)
    .where("user_id", "=", userId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The team's owners, locked until the transaction ends, so two demotions cannot both pass the last-owner check. */
export async function lockOwners(db: Kysely<Database>, scope: TeamScope): Promise<string[]> {
  const rows = await sql<{ user_id: string }>`
    select user_id from team_members
    where organization_id = ${scope.organizationId} and team_id = ${scope.teamId} and role = 'owner'
    for update`.execute(db);
  return rows.rows.map((r) => r.user_id);
}

export function insertMember(db: Kysely<Database>, organizationId: string, member: { teamId: string; userId: string; role: Role }) {
  return db
    .insertInto("team_members")
    .values({ organization_id: organizationId, team_id: member.teamId, user_id: member.userId, role: member.role })
    .execute();
}

export function updateMemberRole(db: Kysely<Database>, scope: TeamScope, userId: string, role: Role) {
  return db
    .updateTable("team_members")
    .set({ role })
    .where("organization_id", "=", scope.organizationId)
    .where("team_id", "=", scope.teamId)
    .where("user_id", "=", userId)
    .execute();
}

export function deleteMember(db: Kysely<Database>, scope: TeamScope, userId: string) {
  return db
    .deleteFrom("team_members")
    .where("organization_id", "=", scope.organizationId)
    .where("team_id", "=", scope.teamId)
    .where("user_id", "=", userId)
    .execute();
}

export function selectWorkspaces(
  db: Kysely<Database>,
  scope: TeamScope,
  options: { includeArchived: boolean; after: CursorKey | null; limit: number },
) {
  let query = db
    .selectFrom("workspaces")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("team_id", "=", scope.teamId);
  if (!options.includeArchived) query = query.where("archived_at", "is", null);
  if (options.after) query = query.where("id", ">", options.after[0] as string);
  return query
    .orderBy("id")
    .limit(options.limit + 1)
    .execute();
}

export function insertWorkspace(db: Kysely<Database>, scope: TeamScope, workspace: { id: string; name: string }) {
  return db
    .insertInto("workspaces")
    .values({ id: workspace.id, organization_id: scope.organizationId, team_id: scope.teamId, name: workspace.name })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The scope's workspace. */
export function selectWorkspace(db: Kysely<Database>, scope: WorkspaceScope) {
  return db
    .selectFrom("workspaces")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", scope.workspaceId)
    .executeTakeFirstOrThrow();
}

export function updateWorkspace(db: Kysely<Database>, scope: WorkspaceScope, set: { name?: string; archived_at?: Date }, now: Date) {
  return db
    .updateTable("workspaces")
    .set({ ...set, updated_at: now })
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", scope.workspaceId)
    .returningAll()
    .executeTakeFirstOrThrow();
}
