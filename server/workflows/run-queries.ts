import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, ExecutionRecordsTable, NodeExecutionResultsTable } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import type { NodeFailure } from "../workflow/index.ts";
import { toJsonb, type NodeRecord, type RunRecord } from "./run-records.ts";
import { LEASE_SECONDS } from "./run-writes.ts";
import type { RunStatus } from "./types.ts";

function toRunRecord(row: Selectable<ExecutionRecordsTable>): RunRecord {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    version: row.version,
    status: row.status as RunStatus,
    responseMode: row.response_mode as RunRecord["responseMode"],
    inputs: row.inputs as Record<string, unknown>,
    outputs: row.outputs as Record<string, unknown>,
    error: row.error as NodeFailure | null,
    totalTokens: Number(row.total_tokens),
    totalSteps: row.total_steps,
    elapsedMs: row.elapsed_ms,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    createdBy: row.created_by,
  };
}

function toNodeRecord(row: Selectable<NodeExecutionResultsTable>): NodeRecord {
  return {
    id: row.id,
    sequence: row.sequence,
    nodeId: row.node_id,
    nodeType: row.node_type,
    title: row.title,
    step: row.step,
    status: row.status as NodeRecord["status"],
    inputs: row.inputs as Record<string, unknown>,
    outputs: row.outputs as Record<string, unknown>,
    error: row.error as NodeFailure | null,
    recovery: row.recovery as NodeRecord["recovery"],
    attempt: row.attempt,
    tokens: Number(row.tokens),
    elapsedMs: row.elapsed_ms,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at.toISOString(),
    iterationNodeId: row.iteration_node_id,
    iterationIndex: row.iteration_index,
  };
}

/**
 * What a run needs to start, in one read: the workflow, the version to run (the one asked for, or
 * the latest) and the workspace's network setting. `version` is null when there is no such version.
 */
export function selectRunTarget(db: Kysely<Database>, scope: WorkspaceScope, workflowId: string, version: number | null) {
  return db
    .selectFrom("workflows as w")
    .leftJoin("workflow_versions as v", (join) =>
      join
        .onRef("v.workflow_id", "=", "w.id")
        .on("v.organization_id", "=", scope.organizationId)
        .on((eb) => eb("v.version", "=", version ?? eb.ref("w.latest_version"))),
    )
    .leftJoin("workflow_settings as s", (join) => join.onRef("s.workspace_id", "=", "w.workspace_id"))
    .select(["w.id", "w.archived_at", "w.latest_version", "v.id as version_id", "v.version", "s.allow_private_network"])
    .where("w.organization_id", "=", scope.organizationId)
    .where("w.workspace_id", "=", scope.workspaceId)
    .where("w.id", "=", workflowId)
    .executeTakeFirst();
}

export async function selectRun(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  workflowId: string,
  runId: string,
): Promise<RunRecord | undefined> {
  const row = await db
    .selectFrom("execution_records")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId)
    .where("workflow_id", "=", workflowId)
    .where("id", "=", runId)
    .executeTakeFirst();
  return row && toRunRecord(row);
}

/** A workflow's runs, newest first. */
export async function selectRuns(
  db: Kysely<Database>,
  scope: WorkspaceScope,
  workflowId: string,
  options: { status?: RunStatus; after: CursorKey | null; limit: number },
): Promise<RunRecord[]> {
  let query = db
    .selectFrom("execution_records")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("workspace_id", "=", scope.workspaceId)
    .where("workflow_id", "=", workflowId);
  if (options.status) query = query.where("status", "=", options.status);
  if (options.after) query = query.where("id", "<", options.after[0] as string);
  const rows = await query
    .orderBy("id", "desc")
    .limit(options.limit + 1)
    .execute();
  return rows.map(toRunRecord);
}

/** A run's node results in the order they finished. */
export async function selectNodeResults(db: Kysely<Database>, scope: WorkspaceScope, runId: string): Promise<NodeRecord[]> {
  const rows = await db
    .selectFrom("node_execution_results")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("execution_id", "=", runId)
    .orderBy("sequence")
    .execute();
  return rows.map(toNodeRecord);
}

/** The notification channel of stop requests: its payload is the id of the run to stop. */
export const STOP_CHANNEL = "workflow_run_stop";

/**
 * Asks the server executing a run to stop it: a notification on `STOP_CHANNEL` once the transaction
 * commits, and a mark it also sees when it next renews the lease (should it not be listening).
 */
export async function requestStop(db: Kysely<Database>, scope: WorkspaceScope, runId: string): Promise<void> {
  const stopped = await db
    .updateTable("execution_records")
    .set({ stop_requested_at: sql<Date>`now()` })
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", runId)
    .where("status", "=", "running")
    .executeTakeFirst();
  // Sent when the transaction commits, to every server listening (see RunRegistry).
  if (stopped.numUpdatedRows > 0n) await sql`select pg_notify(${STOP_CHANNEL}, ${runId})`.execute(db);
}

/** Extends the leases of runs this server executes; answers the ids whose stop was requested elsewhere. */
export async function renewLeases(db: Kysely<Database>, runIds: readonly string[]): Promise<string[]> {
  if (runIds.length === 0) return [];
  const rows = await db
    .updateTable("execution_records")
    .set({ lease_until: sql<Date>`now() + make_interval(secs => ${LEASE_SECONDS})` })
    .where("id", "in", runIds)
    .where("status", "=", "running")
    .returning(["id", "stop_requested_at"])
    .execute();
  return rows.filter((row) => row.stop_requested_at !== null).map((row) => row.id);
}

/**
 * Marks failed every running run whose lease has passed: the server executing it stopped without
 * finishing it. Its node results stay as they were written. `everyRunning` ignores leases, for a
 * database only this process can open (embedded PGlite). Answers the ids it marked.
 */
export async function failOrphanedRuns(db: Kysely<Database>, everyRunning = false): Promise<string[]> {
  let query = db
    .updateTable("execution_records")
    .set({
      status: "failed",
      error: toJsonb({ type: "SERVER_RESTARTED", message: "the server executing the run stopped before it finished" }),
      finished_at: sql<Date>`now()`,
      elapsed_ms: sql<number>`extract(epoch from (now() - started_at)) * 1000`,
      total_tokens: sql<bigint>`(select coalesce(sum(n.tokens), 0) from node_execution_results n where n.execution_id = execution_records.id)`,
      total_steps: sql<number>`(select count(*) from node_execution_results n where n.execution_id = execution_records.id and n.step is not null)`,
      lease_until: null,
    })
    .where("status", "=", "running");
  if (!everyRunning) query = query.where("lease_until", "<", sql<Date>`now()`);
  const rows = await query.returning("id").execute();
  return rows.map((row) => row.id);
}
