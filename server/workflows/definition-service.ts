import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import type { NodeRegistry } from "../workflow/index.ts";
import * as q from "./definition-queries.ts";
import { compileOrReject } from "./graph-validation.ts";
import { fromGraphRows, STARTER_GRAPH, toGraphRows } from "./graph-rows.ts";
import { toVersion, toVersionSummary, toWorkflow, toWorkflowSummary } from "./mappers.ts";
import { DRAFT_VERSION, type ApiGraph } from "./types.ts";
import type { WorkflowQuotaCheck } from "./workflow-quota.ts";

const workflowNotFound = () => new AppError("NOT_FOUND", { message: message("No such workflow.", "工作流不存在。") });
const versionNotFound = () => new AppError("NOT_FOUND", { message: message("No such workflow version.", "工作流版本不存在。") });

/** What the definition service is built from. */
export interface DefinitionDeps {
  db: Kysely<Database>;
  now: () => Date;
  registry: NodeRegistry;
  /** The `workflows` count quota, checked (under its lock) in the creating transaction. */
  assertWorkflowQuota: WorkflowQuotaCheck;
  /** Told once a change to what runs of a workflow start from (publishing, archiving) is committed. */
  onRunTargetChanged?: (workflowId: string) => void;
}

/** Workflows and their versions: drafts are edited (and validated on every save), publishing freezes a numbered copy. */
export function createDefinitionService({ db, now, registry, assertWorkflowQuota, onRunTargetChanged }: DefinitionDeps) {
  /** The scope's workflow locked for a change; archived ones refuse changes. */
  async function lockLive(trx: Kysely<Database>, scope: WorkspaceScope, workflowId: string) {
    const row = await q.selectWorkflow(trx, scope, workflowId, { forUpdate: true });
    if (!row) throw workflowNotFound();
    if (row.archived_at) throw new AppError("ARCHIVED", { message: message("This workflow is archived.", "该工作流已归档。") });
    return row;
  }

  const audit = (trx: Kysely<Database>, scope: WorkspaceScope, actor: Actor, action: string, targetId: string, change: object) =>
    recordAudit(trx, actor, {
      organizationId: scope.organizationId,
      workspaceId: scope.workspaceId,
      action,
      targetType: action.startsWith("workflow_version") ? "workflow_version" : "workflow",
      targetId,
      ...change,
    });

  return {
    async create(scope: WorkspaceScope, body: { name: string; description?: string; graph?: ApiGraph }, actor: Actor) {
      const rows = toGraphRows(body.graph ?? STARTER_GRAPH);
      compileOrReject(fromGraphRows(rows), registry);
      return db.transaction().execute(async (trx) => {
        await assertWorkflowQuota(trx, scope.organizationId);
        const row = await q.insertWorkflow(trx, scope, {
          id: newId(),
          name: body.name.trim(),
          description: body.description ?? "",
          createdBy: scope.userId,
          now: now(),
        });
        await q.replaceGraphRows(trx, scope, row.id, DRAFT_VERSION, rows);
        await audit(trx, scope, actor, "workflow.create", row.id, { after: toWorkflowSummary(row) });
        return toWorkflow(row, rows);
      });
    },

    async list(scope: WorkspaceScope, options: { includeArchived: boolean; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const rows = await q.selectWorkflows(db, scope, { includeArchived: options.includeArchived, after, limit: options.limit });
      return toPage(rows, options.limit, (row) => [row.id], toWorkflowSummary);
    },

    async get(scope: WorkspaceScope, workflowId: string) {
      const row = await q.selectWorkflow(db, scope, workflowId);
      if (!row) throw workflowNotFound();
      return toWorkflow(row, await q.selectGraphRows(db, scope, workflowId, DRAFT_VERSION));
    },

    async update(scope: WorkspaceScope, workflowId: string, body: { name?: string; description?: string; graph?: ApiGraph }, actor: Actor) {
      const rows = body.graph ? toGraphRows(body.graph) : null;
      if (rows) compileOrReject(fromGraphRows(rows), registry);
      return db.transaction().execute(async (trx) => {
        const before = await lockLive(trx, scope, workflowId);
        if (rows) await q.replaceGraphRows(trx, scope, workflowId, DRAFT_VERSION, rows);
        const after = await q.updateWorkflow(trx, scope, workflowId, {
          ...(body.name !== undefined ? { name: body.name.trim() } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          updated_at: now(),
        });
        const change = { before: toWorkflowSummary(before), after: { ...toWorkflowSummary(after), graphReplaced: rows !== null } };
        await audit(trx, scope, actor, "workflow.update", workflowId, change);
        return toWorkflow(after, rows ?? (await q.selectGraphRows(trx, scope, workflowId, DRAFT_VERSION)));
      });
    },

    async archive(scope: WorkspaceScope, workflowId: string, actor: Actor) {
      const archived = await db.transaction().execute(async (trx) => {
        const before = await q.selectWorkflow(trx, scope, workflowId, { forUpdate: true });
        if (!before) throw workflowNotFound();
        const after = before.archived_at
          ? before
          : await q.updateWorkflow(trx, scope, workflowId, { archived_at: now(), updated_at: now() });
        if (!before.archived_at) {
          await audit(trx, scope, actor, "workflow.archive", workflowId, {
            before: toWorkflowSummary(before),
            after: toWorkflowSummary(after),
          });
        }
        return toWorkflow(after, await q.selectGraphRows(trx, scope, workflowId, DRAFT_VERSION));
      });
      onRunTargetChanged?.(workflowId);
      return archived;
    },

    async publish(scope: WorkspaceScope, workflowId: string, note: string, actor: Actor) {
      const published = await db.transaction().execute(async (trx) => {
        const workflow = await lockLive(trx, scope, workflowId);
        const draft = await q.selectGraphRows(trx, scope, workflowId, DRAFT_VERSION);
        // Validated again: the draft was valid when saved, but node types can change between releases.
        compileOrReject(fromGraphRows(draft), registry);
        const number = (workflow.latest_version ?? 0) + 1;
        const version = await q.insertVersion(trx, scope, {
          id: newId(),
          workflowId,
          version: number,
          note,
          publishedBy: scope.userId,
          now: now(),
        });
        await q.copyDraftRows(trx, scope, workflowId, number);
        await q.updateWorkflow(trx, scope, workflowId, { latest_version: number });
        await audit(trx, scope, actor, "workflow_version.publish", version.id, { after: toVersionSummary(version) });
        return toVersion(version, draft);
      });
      onRunTargetChanged?.(workflowId);
      return published;
    },

    async listVersions(scope: WorkspaceScope, workflowId: string, options: { cursor?: string; limit: number }) {
      if (!(await q.selectWorkflow(db, scope, workflowId))) throw workflowNotFound();
      const after = options.cursor ? decodeCursor(options.cursor, ["number"]) : null;
      const rows = await q.selectVersions(db, scope, workflowId, { after, limit: options.limit });
      return toPage(rows, options.limit, (row) => [row.version], toVersionSummary);
    },

    async getVersion(scope: WorkspaceScope, workflowId: string, versionId: string) {
      const row = await q.selectVersion(db, scope, workflowId, versionId);
      if (!row) throw versionNotFound();
      return toVersion(row, await q.selectGraphRows(db, scope, workflowId, row.version));
    },
  };
}

export type DefinitionService = ReturnType<typeof createDefinitionService>;
