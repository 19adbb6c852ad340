import { sql, type Kysely } from "kysely";
import type { RouteDefinition } from "../../generated/handler-types.ts";
import type { Database } from "../../generated/db.ts";
import { createCoalescer } from "../db/coalescer.ts";
import type { LookupCache } from "../db/lookup-cache.ts";
import { AppError } from "../errors.ts";
import { isUuid } from "../ids.ts";
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

/** What the path names: the kind of tenant and its id. */
interface ScopeLookup {
  userId: string;
  kind: "organization" | "team" | "workspace";
  id: string;
}

interface ScopeRow {
  o_ord: number;
  o_organization_id: string | null;
  o_team_id: string | null;
  o_workspace_id: string | null;
  o_team_role: Role | null;
  o_root_role: Role | null;
  o_is_member: boolean;
}

/** The tenants and roles of many lookups, in order: one statement (tenant_scopes(), sql/0024). */
async function selectScopes(db: Kysely<Database>, lookups: readonly ScopeLookup[]): Promise<(ScopeRow | undefined)[]> {
  const input = lookups.map((l, ord) => ({ ord, user_id: l.userId, kind: l.kind, id: l.id }));
  const { rows } = await sql<ScopeRow>`select * from tenant_scopes(${JSON.stringify(input)}::jsonb)`.execute(db);
  const answers = new Array<ScopeRow | undefined>(lookups.length);
  for (const row of rows) answers[row.o_ord] = row;
  return answers;
}

/** The scope of a lookup's row: the caller's effective role there, or 404 when it has none. */
function toScope(lookup: ScopeLookup, row: ScopeRow | undefined): TenantScope {
  if (!row?.o_organization_id) throw notFound();
  const { o_organization_id: organizationId, o_root_role: rootRole } = row;
  if (lookup.kind === "organization") {
    if (!row.o_is_member) throw notFound();
    return { userId: lookup.userId, organizationId, teamId: null, workspaceId: null, rootRole, role: rootRole ?? "member" };
  }
  const raised = raisesTo(rootRole);
  const role = row.o_team_role && raised ? stronger(row.o_team_role, raised) : (row.o_team_role ?? raised);
  if (!role) throw notFound();
  return { userId: lookup.userId, organizationId, teamId: row.o_team_id, workspaceId: row.o_workspace_id, rootRole, role };
}

/**
 * The one authorization helper: resolves the organization, team or workspace a route's path
 * names, and checks the caller's role against the route's row of `REQUIRED_ROLE`. A caller with no
 * role there gets 404, never 403 and never the row; a role too low gets 403. Roles found are kept in
 * `scopes` for a short while; the member and invitation services evict a user's when they change.
 */
export function createScopeResolver(db: Kysely<Database>, scopes: LookupCache<TenantScope>) {
  // The lookups of requests that arrive together go in one statement (server/db/coalescer.ts); one
  // beside a running one waits for 12, as the session checks do: fewer, larger statements (see
  // WRITES_MIN_BATCH in workflows/run-service.ts for what that saved).
  const lookUp = createCoalescer((lookups: ScopeLookup[]) => selectScopes(db, lookups), { maxInFlight: 3, minBatchWhileBusy: 12 });
  return async function resolveScope(route: RouteDefinition, userId: string, path: Record<string, unknown>): Promise<TenantScope | null> {
    const required = REQUIRED_ROLE[route.operationId as ScopedOperationId] as Role | undefined;
    let lookup: ScopeLookup;
    if (typeof path.workspaceId === "string") lookup = { userId, kind: "workspace", id: path.workspaceId };
    else if (typeof path.teamId === "string") lookup = { userId, kind: "team", id: path.teamId };
    else if (typeof path.organizationId === "string") lookup = { userId, kind: "organization", id: path.organizationId };
    else return null;
    if (!required) throw new Error(`operation ${route.operationId} names a tenant but has no row in REQUIRED_ROLE`);
    // The contract makes these UUIDs; anything else would fail the whole gathered statement, so it is checked here too.
    if (!isUuid(lookup.id)) throw notFound();
    // A role found is trusted for LOOKUP_CACHE_TTL_MS (server/db/lookup-cache.ts); none found (404) is asked again.
    const scope = await scopes.lookUp(`${userId} ${lookup.kind} ${lookup.id}`, userId, async () => toScope(lookup, await lookUp(lookup)));
    if (!atLeast(scope.role, required)) throw new AppError("FORBIDDEN");
    return scope;
  };
}

export type ScopeResolver = ReturnType<typeof createScopeResolver>;
