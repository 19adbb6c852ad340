import { sql, type Kysely } from "kysely";
import type { RouteDefinition } from "../../generated/handler-types.ts";
import type { Database } from "../../generated/db.ts";
import { AppError } from "../errors.ts";
import { REQUIRED_ROLE, atLeast, stronger, type Role, type ScopedOperationId } from "./roles.ts";

/** The tenant a scoped request acts in, and the caller's effective role there. Queries of tenant data take it first. */
export interface TenantScope {
  userId: string;
  organizationId: string;
  /** The team named in the path, or the workspace's team; null for an organization-wide path. */
  teamId: string | null;
  workspaceId: string | null;
  /** The caller's role in the organization's root team, or null. */
  rootRole: Role | null;
  /** The caller's effective role in this scope. */
  role: Role;
}

/** A scope narrowed to a team. */
export type TeamScope = TenantScope & { teamId: string };
/** A scope narrowed to a workspace. */
export type WorkspaceScope = TenantScope & { teamId: string; workspaceId: string };

const raisesTo = (rootRole: Role | null): Role | null => (rootRole === "admin" || rootRole === "owner" ? rootRole : null);

const notFound = () => new AppError("NOT_FOUND");

async function organizationScope(db: Kysely<Database>, userId: string, organizationId: string): Promise<TenantScope> {
  const row = await sql<{ root_role: Role | null; is_member: boolean }>`
    select
      (select tm.role from team_members tm where tm.team_id = o.root_team_id and tm.user_id = ${userId}) as root_role,
      exists (select 1 from team_members tm where tm.organization_id = o.id and tm.user_id = ${userId}) as is_member
    from organizations o where o.id = ${organizationId}`
    .execute(db)
    .then((r) => r.rows[0]);
  if (!row || !row.is_member) throw notFound();
  return { userId, organizationId, teamId: null, workspaceId: null, rootRole: row.root_role, role: row.root_role ?? "member" };
}

async function teamScope(db: Kysely<Database>, userId: string, where: { teamId: string } | { workspaceId: string }): Promise<TenantScope> {
  const target =
    "teamId" in where
      ? sql`select t.id as team_id, null::uuid as workspace_id, t.organization_id from teams t where t.id = ${where.teamId}`
      : sql`select w.team_id, w.id as workspace_id, w.organization_id from workspaces w where w.id = ${where.workspaceId}`;
  const row = await sql<{
    team_id: string;
    workspace_id: string | null;
    organization_id: string;
    team_role: Role | null;
    root_role: Role | null;
  }>`
    with target as (${target})
    select target.*,
      (select tm.role from team_members tm where tm.team_id = target.team_id and tm.user_id = ${userId}) as team_role,
      (select tm.role from team_members tm join organizations o on o.root_team_id = tm.team_id
        where o.id = target.organization_id and tm.user_id = ${userId}) as root_role
    from target`
    .execute(db)
    .then((r) => r.rows[0]);
  if (!row) throw notFound();
  const raised = raisesTo(row.root_role);
  const role = row.team_role && raised ? stronger(row.team_role, raised) : (row.team_role ?? raised);
  if (!role) throw notFound();
  return { userId, organizationId: row.organization_id, teamId: row.team_id, workspaceId: row.workspace_id, rootRole: row.root_role, role };
}

/**
 * The one authorization helper: resolves the organization, team or workspace a route's path
 * names, and checks the caller's role against the route's row of `REQUIRED_ROLE`. A caller with no
 * role there gets 404, never 403 and never the row; a role too low gets 403.
 */
export function createScopeResolver(db: Kysely<Database>) {
  return async function resolveScope(route: RouteDefinition, userId: string, path: Record<string, unknown>): Promise<TenantScope | null> {
    const required = REQUIRED_ROLE[route.operationId as ScopedOperationId] as Role | undefined;
    let scope: TenantScope;
    if (typeof path.workspaceId === "string") scope = await teamScope(db, userId, { workspaceId: path.workspaceId });
    else if (typeof path.teamId === "string") scope = await teamScope(db, userId, { teamId: path.teamId });
    else if (typeof path.organizationId === "string") scope = await organizationScope(db, userId, path.organizationId);
    else return null;
    if (!required) throw new Error(`operation ${route.operationId} names a tenant but has no row in REQUIRED_ROLE`);
    if (!atLeast(scope.role, required)) throw new AppError("FORBIDDEN");
    return scope;
  };
}

export type ScopeResolver = ReturnType<typeof createScopeResolver>;
