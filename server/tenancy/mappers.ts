import type { Selectable } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { OrganizationsTable } from "../../generated/db.ts";
import type { TeamRow, WorkspaceRow } from "./queries.ts";
import type { Role } from "./roles.ts";

type S = components["schemas"];
export type Organization = S["Tenant.Organization"];
export type Team = S["Tenant.Team"];
export type Workspace = S["Tenant.Workspace"];
export type TeamMember = S["Tenant.TeamMember"];
export type Invitation = S["Tenant.Invitation"];

export function toOrganization(row: Selectable<OrganizationsTable>, myRole: Role): Organization {
  if (!row.root_team_id) throw new Error(`organization ${row.id} has no root team`);
  return {
    id: row.id,
    name: row.name,
    rootTeamId: row.root_team_id,
    myRole,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toTeam(row: TeamRow): Team {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    isRoot: row.is_root,
    archivedAt: row.archived_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

export function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    organizationId: row.organization_id,
    teamId: row.team_id,
    name: row.name,
    archivedAt: row.archived_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

export function toTeamMember(row: {
  team_id: string;
  user_id: string;
  role: string;
  joined_at: Date;
  email: string;
  name: string;
}): TeamMember {
  return {
    teamId: row.team_id,
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role as Role,
    joinedAt: row.joined_at.toISOString(),
  };
}
