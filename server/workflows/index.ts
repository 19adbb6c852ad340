import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../../generated/db.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import { builtinNodes, createRegistry, type AnyNodeDefinition, type NodeServices } from "../workflow/index.ts";
import { CompiledCache } from "./compiled-cache.ts";
import { createDefinitionService } from "./definition-service.ts";
import type { Notifications } from "../db/database.ts";
import { RunRegistry } from "./run-registry.ts";
import { createRunService, type RunLimits } from "./run-service.ts";
import { createSettingsService } from "./settings-service.ts";
import type { WorkflowQuotaCheck } from "./workflow-quota.ts";

/** What the workflow module is built from. */
export interface WorkflowDeps {
  db: Kysely<Database>;
  now: () => Date;
  log?: Logger;
  /** The database's notifications: a stop request reaches the server executing the run at once (otherwise at its next lease renewal). */
  notifications?: Notifications;
  /** The `workflows` count quota (the metering module's `assertCountQuota(trx, organizationId, "workflows", 1)`). */
  assertWorkflowQuota: WorkflowQuotaCheck;
  /**
   * Node types besides the built-in ones: the door the LLM, knowledge-retrieval and tool modules
   * come in by. Each defines its types with `defineNode` (server/workflow/define-node.ts), declares
   * the capability its nodes need on `NodeServices` by declaration merging, and hands that
   * capability to runs through `nodeServices`.
   */
  extraNodes?: readonly AnyNodeDefinition[];
  /**
   * Capabilities for the nodes of one run, by the workspace it runs in (its LLM providers, say);
   * merged with `http`, which this module sets from the workspace's settings.
   */
  nodeServices?: (scope: WorkspaceScope) => NodeServices;
  /** The engine's run-wide limits. */
  limits?: RunLimits;
}

/**
 * The workflow module's services: definitions (drafts, versions), runs and settings, over one node
 * registry and one registry of the runs this server executes.
 */
export function createWorkflowServices(deps: WorkflowDeps) {
  const registry = createRegistry([...builtinNodes, ...(deps.extraNodes ?? [])]);
  const runs = new RunRegistry(deps.db, deps.log, deps.notifications);
  // What runs start from, kept by the run service; the services that change it on this server say so.
  const cache = new CompiledCache({ now: () => deps.now().getTime() });
  return {
    definitions: createDefinitionService({
      db: deps.db,
      now: deps.now,
      registry,
      assertWorkflowQuota: deps.assertWorkflowQuota,
      onRunTargetChanged: (workflowId) => cache.forgetWorkflow(workflowId),
    }),
    runs: createRunService({
      db: deps.db,
      registry,
      runs,
      cache,
      limits: deps.limits ?? {},
      ...(deps.nodeServices ? { nodeServices: deps.nodeServices } : {}),
      ...(deps.log ? { log: deps.log } : {}),
    }),
    settings: createSettingsService(deps.db, deps.now, () => cache.forgetLookups()),
  };
}

export type WorkflowServices = ReturnType<typeof createWorkflowServices>;

export { createWorkflowHandlers } from "./handlers.ts";
export { recoverOrphanedRuns, startRunRecovery } from "./recovery.ts";
export { countLiveWorkflows } from "./workflow-quota.ts";
