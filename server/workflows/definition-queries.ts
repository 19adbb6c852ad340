import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, WorkflowsTable, WorkflowVersionsTable } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import type { ConnectionRow, GraphRows, NodeRow } from "./graph-rows.ts";

export type WorkflowRow = Selectable<WorkflowsTable>;
export type VersionRow = Selectable<WorkflowVersionsTable>;

const tenant = (scope: WorkspaceScope) => ({ organization_id: scope.organizationId, workspace_id: scope.workspaceId });

export function selectWorkflows(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  options: { includeArchived: boolean; after: CursorKey | null; limit: number },
) {
  let query = db
    .selectFrom("workflows")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId);
  if (!options.includeArchived) query = query.where("archived_at", "is", null);
  if (options.after) query = query.where("id", ">", options.after[0] as string);
  return query
    .orderBy("id")
    .limit(options.limit + 1)
    .execute();
}

/** The scope's workflow, or undefined; `forUpdate` locks it until the transaction ends. */
export function selectWorkflow(db: Kysely<Database>, scope: WorkspaceScope, workflowId: string, options: { forUpdate?: boolean } = {}) {
  let query = db
    .selectFrom("workflows")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId)
    .where("id", "=", workflowId);
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export function insertWorkflow(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  workflow: { id: string; name: string; description: string; createdBy: string; now: Date },
) {
  return db
    .insertInto("workflows")
    .values({
      ...tenant(scope),
      id: workflow.id,
      name: workflow.name,
      description: workflow.description,
      created_by: workflow.createdBy,
      created_at: workflow.now,
      updated_at: workflow.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function updateWorkflow(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  workflowId: string,
  set: { name?: string; description?: string; latest_version?: number; archived_at?: Date; updated_at?: Date },
) {
  return db
    .updateTable("workflows")
    .set(set)
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId)
    .where("id", "=", workflowId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The graph rows of one version of a workflow (0: the draft), in saved order. */
export async function selectGraphRows(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  workflowId: string,
  version: number,
): Promise<GraphRows> {
  const [nodes, connections] = await Promise.all([
    db
      .selectFrom("nodes")
      .select([
        "ordinal",
        "node_id",
        "type",
        "type_version",
        "title",
        "config",
        "position",
        "error_strategy",
        "retry",
        "timeout_ms",
        "default_value",
      ])
      .where("organization_id", "=", scope.organizationId)
      .where("workflow_id", "=", workflowId)
      .where("version", "=", version)
      .orderBy("ordinal")
      .execute(),
    db
      .selectFrom("connections")
      .select(["ordinal", "connection_id", "source_node_id", "source_handle", "target_node_id", "target_handle"])
      .where("organization_id", "=", scope.organizationId)
      .where("workflow_id", "=", workflowId)
      .where("version", "=", version)
      .orderBy("ordinal")
      .execute(),
  ]);
  return { nodes: nodes as NodeRow[], connections: connections as ConnectionRow[] };
}

/** Replaces the graph rows of one version (the draft; published versions are written once). */
export async function replaceGraphRows(db: Kysely<Database>, scope: WorkspaceScope, workflowId: string, version: number, rows: GraphRows) {
  const key = { ...tenant(scope), workflow_id: workflowId, version };
  for (const table of ["nodes", "connections"] as const) {
    await db
      .deleteFrom(table)
      .where("organization_id", "=", scope.organizationId)
      .where("workflow_id", "=", workflowId)
      .where("version", "=", version)
      .execute();
  }
  if (rows.nodes.length > 0) {
    await db
      .insertInto("nodes")
      .values(
        rows.nodes.map((node) => ({
          ...key,
          ...node,
          config: JSON.stringify(node.config),
          position: node.position === null ? null : JSON.stringify(node.position),
          retry: node.retry === null ? null : JSON.stringify(node.retry),
          default_value: node.default_value === null ? null : JSON.stringify(node.default_value),
        })),
      )
      .execute();
  }
  if (rows.connections.length > 0) {
    await db
      .insertInto("connections")
      .values(rows.connections.map((connection) => ({ ...key, ...connection })))
      .execute();
  }
}

/** Copies the draft's rows into a new published version, inside the database. */
export async function copyDraftRows(db: Kysely<Database>, scope: WorkspaceScope, workflowId: string, version: number) {
  await sql`
    insert into nodes (organization_id, workspace_id, workflow_id, version, ordinal, node_id, type, type_version, title, config,
                       position, error_strategy, retry, timeout_ms, default_value)
    select organization_id, workspace_id, workflow_id, ${version}, ordinal, node_id, type, type_version, title, config,
           position, error_strategy, retry, timeout_ms, default_value
    from nodes
    where organization_id = ${scope.organizationId} and workflow_id = ${workflowId} and version = 0`.execute(db);
  await sql`
    insert into connections (organization_id, workspace_id, workflow_id, version, ordinal, connection_id, source_node_id, source_handle,
                             target_node_id, target_handle)
    select organization_id, workspace_id, workflow_id, ${version}, ordinal, connection_id, source_node_id, source_handle,
           target_node_id, target_handle
    from connections
    where organization_id = ${scope.organizationId} and workflow_id = ${workflowId} and version = 0`.execute(db);
}

export function insertVersion(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  version: { id: string; workflowId: string; version: number; note: string; publishedBy: string; now: Date },
) {
  return db
    .insertInto("workflow_versions")
    .values({
      ...tenant(scope),
      id: version.id,
      workflow_id: version.workflowId,
      version: version.version,
      note: version.note,
      published_by: version.publishedBy,
      published_at: version.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A workflow's versions, newest first. */
export function selectVersions(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  workflowId: string,
  page: { after: CursorKey | null; limit: number },
) {
  let query = db
    .selectFrom("workflow_versions")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId)
    .where("workflow_id", "=", workflowId);
  if (page.after) query = query.where("version", "<", page.after[0] as number);
  return query
    .orderBy("version", "desc")
    .limit(page.limit + 1)
    .execute();
}

export function selectVersion(db: Kysely<Database>, scope: WorkspaceScope, workflowId: string, versionId: string) {
  return db
    .selectFrom("workflow_versions")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId)
    .where("workflow_id", "=", workflowId)
    .where("id", "=", versionId)
    .executeTakeFirst();
}
