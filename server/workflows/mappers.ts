import { fromGraphRows, type GraphRows } from "./graph-rows.ts";
import type { VersionRow, WorkflowRow } from "./definition-queries.ts";
import type { Workflow, WorkflowSummary, WorkflowVersion, WorkflowVersionSummary } from "./types.ts";

export function toWorkflowSummary(row: WorkflowRow): WorkflowSummary {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    description: row.description,
    latestVersion: row.latest_version,
    archivedAt: row.archived_at?.toISOString() ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toWorkflow(row: WorkflowRow, graph: GraphRows): Workflow {
  return { ...toWorkflowSummary(row), graph: fromGraphRows(graph) };
}

export function toVersionSummary(row: VersionRow): WorkflowVersionSummary {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    version: row.version,
    note: row.note,
    publishedBy: row.published_by,
    publishedAt: row.published_at.toISOString(),
  };
}

export function toVersion(row: VersionRow, graph: GraphRows): WorkflowVersion {
  return { ...toVersionSummary(row), graph: fromGraphRows(graph) };
}
