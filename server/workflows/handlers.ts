import type { WorkflowRunsHandlers, WorkflowSettingsHandlers, WorkflowsHandlers } from "../../generated/handlers.ts";
import { actorOf, scopeOf, type RequestContext } from "../http/context.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import type { WorkflowServices } from "./index.ts";

const workspaceScope = (ctx: RequestContext) => scopeOf(ctx) as WorkspaceScope;
const page = (query: { cursor?: string; limit?: number }) => ({
  limit: query.limit ?? 20,
  ...(query.cursor ? { cursor: query.cursor } : {}),
});

/** The `Workflows`, `WorkflowRuns` and `WorkflowSettings` interfaces of the spec. */
export function createWorkflowHandlers(
  s: WorkflowServices,
): WorkflowsHandlers<RequestContext> & WorkflowRunsHandlers<RequestContext> & WorkflowSettingsHandlers<RequestContext> {
  return {
    async createWorkflow({ body }, ctx) {
      return { status: 201, data: await s.definitions.create(workspaceScope(ctx), body, actorOf(ctx)) };
    },
    async listWorkflows({ query }, ctx) {
      const options = { includeArchived: query.includeArchived ?? false, ...page(query) };
      return { status: 200, data: await s.definitions.list(workspaceScope(ctx), options) };
    },
    async getWorkflow({ path }, ctx) {
      return { status: 200, data: await s.definitions.get(workspaceScope(ctx), path.workflowId) };
    },
    async updateWorkflow({ path, body }, ctx) {
      return { status: 200, data: await s.definitions.update(workspaceScope(ctx), path.workflowId, body, actorOf(ctx)) };
    },
    async archiveWorkflow({ path }, ctx) {
      return { status: 200, data: await s.definitions.archive(workspaceScope(ctx), path.workflowId, actorOf(ctx)) };
    },
    async publishWorkflow({ path, body }, ctx) {
      return { status: 201, data: await s.definitions.publish(workspaceScope(ctx), path.workflowId, body.note ?? "", actorOf(ctx)) };
    },
    async listWorkflowVersions({ path, query }, ctx) {
      return { status: 200, data: await s.definitions.listVersions(workspaceScope(ctx), path.workflowId, page(query)) };
    },
    async getWorkflowVersion({ path }, ctx) {
      return { status: 200, data: await s.definitions.getVersion(workspaceScope(ctx), path.workflowId, path.versionId) };
    },

    async runWorkflow({ path, body }, ctx) {
      const answer = await s.runs.start(workspaceScope(ctx), path.workflowId, body, actorOf(ctx));
      if (!(answer instanceof Response)) return { status: 200, data: answer };
      // A Response of our own skips the headers Hono's middleware prepared; the request id is the one that matters.
      answer.headers.set("x-request-id", ctx.requestId);
      return answer;
    },
    async listWorkflowRuns({ path, query }, ctx) {
      const options = { ...(query.status ? { status: query.status } : {}), ...page(query) };
      return { status: 200, data: await s.runs.list(workspaceScope(ctx), path.workflowId, options) };
    },
    async getWorkflowRun({ path }, ctx) {
      return { status: 200, data: await s.runs.get(workspaceScope(ctx), path.workflowId, path.runId) };
    },
    async stopWorkflowRun({ path }, ctx) {
      return { status: 200, data: await s.runs.stop(workspaceScope(ctx), path.workflowId, path.runId, actorOf(ctx)) };
    },

    async getWorkflowSettings(_input, ctx) {
      return { status: 200, data: await s.settings.get(workspaceScope(ctx)) };
    },
    async updateWorkflowSettings({ body }, ctx) {
      return { status: 200, data: await s.settings.update(workspaceScope(ctx), body, actorOf(ctx)) };
    },
  };
}
