import type { components } from "../../generated/api-types.ts";
import type { routes } from "../../generated/routes.ts";

/** A member's role in a team. */
export type Role = components["schemas"]["Tenant.Role"];

const RANK: Record<Role, number> = { member: 0, editor: 1, admin: 2, owner: 3 };

/** Whether `role` grants at least what `required` does. */
export function atLeast(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

/** The stronger of two roles. */
export function stronger(a: Role, b: Role): Role {
  return RANK[a] >= RANK[b] ? a : b;
}

type Route = (typeof routes)[number];
type ScopedRoute = Extract<Route, { path: `${string}{${"organizationId" | "teamId" | "workspaceId"}}${string}` }>;
/** Every operation whose path names an organization, team or workspace. */
export type ScopedOperationId = ScopedRoute["operationId"];

/**
 * What each role may do: the least role an operation needs in the scope its path names. The role
 * is the caller's role in that team (for a workspace, its team), raised to their root-team role
 * when that is admin or owner; in an organization, the caller's root-team role, or `member` for
 * anyone with a team in it. Someone with no role at all gets 404. Adding a scoped operation to the
 * spec fails the typecheck here until it has a row. The spec's doc comments say the same.
 */
export const REQUIRED_ROLE: Record<ScopedOperationId, Role> = {
  getOrganization: "member",
  updateOrganization: "admin",
  listTeams: "member",
  createTeam: "admin",
  listAuditLogs: "admin",
  getTeam: "member",
  updateTeam: "admin",
  archiveTeam: "admin",
  listTeamMembers: "member",
  updateTeamMember: "admin",
  removeTeamMember: "admin",
  transferTeamOwnership: "owner",
  createInvitation: "admin",
  listInvitations: "admin",
  revokeInvitation: "admin",
  listWorkspaces: "member",
  createWorkspace: "admin",
  getWorkspace: "member",
  updateWorkspace: "admin",
  archiveWorkspace: "admin",
  // Subscriptions and invoices: members read them; billing changes are the root team's admins'.
  getSubscription: "member",
  createSubscription: "admin",
  changePlan: "admin",
  cancelSubscription: "admin",
  resumeSubscription: "admin",
  listInvoices: "member",
  getInvoice: "member",
  markInvoicePaid: "admin",
  voidInvoice: "admin",
  markInvoiceUncollectible: "admin",
  // Workflows: editors build, publish and run them (archiving included: it is theirs to retire);
  // opening the workspace's network to http-request nodes is an admin's call.
  createWorkflow: "editor",
  listWorkflows: "member",
  getWorkflow: "member",
  updateWorkflow: "editor",
  archiveWorkflow: "editor",
  publishWorkflow: "editor",
  listWorkflowVersions: "member",
  getWorkflowVersion: "member",
  runWorkflow: "editor",
  listWorkflowRuns: "member",
  getWorkflowRun: "member",
  stopWorkflowRun: "editor",
  getWorkflowSettings: "member",
  updateWorkflowSettings: "admin",
  // Usage: anyone in the organization reads it; its keys and webhook are the root team's admins'.
  getUsage: "member",
  getUsageHistory: "member",
  getQuotaWarnings: "member",
  // Takes an organization API key, never a console session (server/api-keys/authenticate.ts).
  recordUsage: "admin",
  createApiKey: "admin",
  listApiKeys: "admin",
  revokeApiKey: "admin",
  getWebhook: "admin",
  setWebhook: "admin",
  deleteWebhook: "admin",
  listWebhookDeliveries: "admin",
};
