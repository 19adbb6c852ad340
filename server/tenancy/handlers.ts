import type { InvitationsHandlers, OrganizationsHandlers, TeamsHandlers, WorkspacesHandlers } from "../../generated/handlers.ts";
import type { AuditService } from "../audit/service.ts";
import { actorOf, scopeOf, userOf, type RequestContext } from "../http/context.ts";
import type { InvitationService } from "./invitation-service.ts";
import type { MemberService } from "./member-service.ts";
import type { OrganizationService } from "./organization-service.ts";
import type { TeamScope, WorkspaceScope } from "./scope.ts";
import type { WorkspaceService } from "./workspace-service.ts";

/** The services the tenancy handlers call. */
export interface TenancyServices {
  organizations: OrganizationService;
  members: MemberService;
  invitations: InvitationService;
  workspaces: WorkspaceService;
  audit: AuditService;
}

const page = (query: { cursor?: string; limit?: number }) => ({
  limit: query.limit ?? 20,
  ...(query.cursor ? { cursor: query.cursor } : {}),
});
const teamScope = (ctx: RequestContext) => scopeOf(ctx) as TeamScope;
const workspaceScope = (ctx: RequestContext) => scopeOf(ctx) as WorkspaceScope;

/** The `Organizations` interface of the spec. */
export function createOrganizationsHandlers(s: TenancyServices): OrganizationsHandlers<RequestContext> {
  return {
    async createOrganization({ body }, ctx) {
      return { status: 201, data: await s.organizations.createOrganization(userOf(ctx).userId, body.name, actorOf(ctx)) };
    },
    async listOrganizations({ query }, ctx) {
      return { status: 200, data: await s.organizations.listMine(userOf(ctx).userId, page(query)) };
    },
    async getOrganization(_input, ctx) {
      return { status: 200, data: await s.organizations.get(scopeOf(ctx)) };
    },
    async updateOrganization({ body }, ctx) {
      return { status: 200, data: await s.organizations.rename(scopeOf(ctx), body.name, actorOf(ctx)) };
    },
    async listTeams({ query }, ctx) {
      return {
        status: 200,
        data: await s.organizations.listTeams(scopeOf(ctx), { includeArchived: query.includeArchived ?? false, ...page(query) }),
      };
    },
    async createTeam({ body }, ctx) {
      return { status: 201, data: await s.organizations.createTeam(scopeOf(ctx), body.name, actorOf(ctx)) };
    },
    async listAuditLogs({ query }, ctx) {
      const { actorId, action, targetType, targetId, from, to } = query;
      const filters = {
        ...(actorId ? { actorId } : {}),
        ...(action ? { action } : {}),
        ...(targetType ? { targetType } : {}),
        ...(targetId ? { targetId } : {}),
        ...(from ? { from: new Date(from) } : {}),
        ...(to ? { to: new Date(to) } : {}),
      };
      return { status: 200, data: await s.audit.list(scopeOf(ctx), filters, page(query)) };
    },
  };
}

/** The `Teams` interface of the spec. */
export function createTeamsHandlers(s: TenancyServices): TeamsHandlers<RequestContext> {
  return {
    async getTeam(_input, ctx) {
      return { status: 200, data: await s.organizations.getTeam(teamScope(ctx)) };
    },
    async updateTeam({ body }, ctx) {
      return { status: 200, data: await s.organizations.renameTeam(teamScope(ctx), body.name, actorOf(ctx)) };
    },
    async archiveTeam(_input, ctx) {
      return { status: 200, data: await s.organizations.archiveTeam(teamScope(ctx), actorOf(ctx)) };
    },
    async listTeamMembers({ query }, ctx) {
      return { status: 200, data: await s.members.list(teamScope(ctx), page(query)) };
    },
    async updateTeamMember({ path, body }, ctx) {
      return { status: 200, data: await s.members.changeRole(teamScope(ctx), path.userId, body.role, actorOf(ctx)) };
    },
    async removeTeamMember({ path }, ctx) {
      return { status: 200, data: await s.members.remove(teamScope(ctx), path.userId, actorOf(ctx)) };
    },
    async transferTeamOwnership({ body }, ctx) {
      return { status: 200, data: await s.members.transferOwnership(teamScope(ctx), body.userId, actorOf(ctx)) };
    },
    async createInvitation({ body }, ctx) {
      return { status: 201, data: await s.invitations.create(teamScope(ctx), body, actorOf(ctx)) };
    },
    async listInvitations({ query }, ctx) {
      return {
        status: 200,
        data: await s.invitations.list(teamScope(ctx), { ...(query.status ? { status: query.status } : {}), ...page(query) }),
      };
    },
    async revokeInvitation({ path }, ctx) {
      return { status: 200, data: await s.invitations.revoke(teamScope(ctx), path.invitationId, actorOf(ctx)) };
    },
    async listWorkspaces({ query }, ctx) {
      return {
        status: 200,
        data: await s.workspaces.list(teamScope(ctx), { includeArchived: query.includeArchived ?? false, ...page(query) }),
      };
    },
    async createWorkspace({ body }, ctx) {
      return { status: 201, data: await s.workspaces.create(teamScope(ctx), body.name, actorOf(ctx)) };
    },
  };
}

/** The `Workspaces` interface of the spec. */
export function createWorkspacesHandlers(s: TenancyServices): WorkspacesHandlers<RequestContext> {
  return {
    async getWorkspace(_input, ctx) {
      return { status: 200, data: await s.workspaces.get(workspaceScope(ctx)) };
    },
    async updateWorkspace({ body }, ctx) {
      return { status: 200, data: await s.workspaces.rename(workspaceScope(ctx), body.name, actorOf(ctx)) };
    },
    async archiveWorkspace(_input, ctx) {
      return { status: 200, data: await s.workspaces.archive(workspaceScope(ctx), actorOf(ctx)) };
    },
  };
}

/** The `Invitations` interface of the spec. */
export function createInvitationsHandlers(s: TenancyServices): InvitationsHandlers<RequestContext> {
  return {
    async acceptInvitation({ body }, ctx) {
      return { status: 200, data: await s.invitations.accept(userOf(ctx).userId, body.token, actorOf(ctx)) };
    },
    async registerAndAcceptInvitation({ body }, ctx) {
      return { status: 201, data: await s.invitations.registerAndAccept(body, actorOf(ctx)) };
    },
  };
}
