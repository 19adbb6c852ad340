import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { toJsonb, type NodeRecord, type RunRecord } from "./run-records.ts";

/** How long a running run's lease lasts; the executing server renews it well before (see run-registry). */
export const LEASE_SECONDS = 30;

/**
 * The statements a run writes, each taking many runs at once as JSON (server/db/coalescer.ts gathers
 * them): calls of the functions of sql/0023, whose plans Postgres keeps.
 */

/** A run to start: checked against its workflow and recorded `running`, with its audit entry, in one statement. */
export interface RunOpening {
  organizationId: string;
  workspaceId: string;
  runId: string;
  workflowId: string;
  /** The version asked for; null for the latest. */
  version: number | null;
  /**
   * The id of the version whose compiled graph this server holds for that request: the run is
   * recorded only when the version to run is this one (otherwise the caller compiles and asks again).
   */
  knownVersionId: string | null;
  responseMode: RunRecord["responseMode"];
  inputs: Record<string, unknown>;
  startedAt: Date;
  createdBy: string | null;
  /** The `workflow_run.start` audit entry: its id and who asked, from where. */
  audit: { id: string; actorUserId: string | null; ip: string | null; userAgent: string | null; requestId: string };
}

/** What a run's workflow says about starting it, and whether it was recorded. */
export interface RunTarget {
  found: boolean;
  archived: boolean;
  latestVersion: number | null;
  versionId: string | null;
  version: number | null;
  allowPrivateNetwork: boolean;
  /** The run's row and audit entry were written. */
  opened: boolean;
}

/**
 * Looks up each run's workflow (the version asked for, or the latest, and the workspace's network
 * setting) and records the runs that can start — found, not archived, published, of the known
 * version — as `running`, leased to this server, each with its audit entry. Answers in order.
 */
export async function openRuns(db: Kysely<Database>, openings: readonly RunOpening[]): Promise<RunTarget[]> {
  const requests = openings.map((o, ord) => ({
    ord,
    organization_id: o.organizationId,
    workspace_id: o.workspaceId,
    id: o.runId,
    workflow_id: o.workflowId,
    version: o.version,
    known_version_id: o.knownVersionId,
    response_mode: o.responseMode,
    inputs: o.inputs,
    started_at: o.startedAt.toISOString(),
    created_by: o.createdBy,
    audit_id: o.audit.id,
    actor_user_id: o.audit.actorUserId,
    ip: o.audit.ip,
    user_agent: o.audit.userAgent,
    request_id: o.audit.requestId,
  }));
  const { rows } = await sql<{
    o_found: boolean;
    o_archived: boolean;
    o_latest_version: number | null;
    o_version_id: string | null;
    o_version: number | null;
    o_allow_private_network: boolean;
    o_opened: boolean;
  }>`select * from workflow_open_runs(${toJsonb(requests)}::jsonb, ${LEASE_SECONDS}::integer) order by o_ord`.execute(db);
  return rows.map((row) => ({
    found: row.o_found,
    archived: row.o_archived,
    latestVersion: row.o_latest_version,
    versionId: row.o_version_id,
    version: row.o_version,
    allowPrivateNetwork: row.o_allow_private_network,
    opened: row.o_opened,
  }));
}

/**
 * A run this server started from what it looked up shortly before, without opening it: its first
 * write records it (with its audit entry), and says whether those assumptions still hold.
 */
export interface RunRecordOpening {
  run: RunRecord;
  versionId: string;
  /** The version the request asked for; null when it took the latest. */
  requestedVersion: number | null;
  allowPrivateNetwork: boolean;
  audit: RunOpening["audit"];
}

/** Node results of one run to write, and, at its end, the run's finished record with them. */
export interface RunWrite {
  organizationId: string;
  workspaceId: string;
  runId: string;
  /** Records the run itself, with this write (its first). */
  opening?: RunRecordOpening | null;
  nodes: readonly NodeRecord[];
  /** The run's end; only a run still `running` takes it, so a late writer cannot undo a recovery. */
  finished?: RunRecord | null;
}

/**
 * Writes runs opened by their first write, node results and run ends of many runs in one
 * statement. Answers the ids of the runs among `opening`s whose workflow has changed since it was
 * looked up (a new version, archived, another network setting): recorded all the same.
 */
export async function writeRunRecords(db: Kysely<Database>, writes: readonly RunWrite[]): Promise<string[]> {
  const openings = writes.flatMap(({ organizationId, workspaceId, opening }) =>
    opening
      ? [
          {
            organization_id: organizationId,
            workspace_id: workspaceId,
            id: opening.run.id,
            workflow_id: opening.run.workflowId,
            version: opening.run.version,
            version_id: opening.versionId,
            requested_version: opening.requestedVersion,
            allow_private_network: opening.allowPrivateNetwork,
            response_mode: opening.run.responseMode,
            inputs: opening.run.inputs,
            started_at: opening.run.startedAt.toISOString(),
            created_by: opening.run.createdBy,
            audit_id: opening.audit.id,
            actor_user_id: opening.audit.actorUserId,
            ip: opening.audit.ip,
            user_agent: opening.audit.userAgent,
            request_id: opening.audit.requestId,
          },
        ]
      : [],
  );
  // Per run, its node results as arrays in the order sql/0023 reads them.
  const nodes = writes
    .filter((w) => w.nodes.length > 0)
    .map((w) => ({
      execution_id: w.runId,
      organization_id: w.organizationId,
      workspace_id: w.workspaceId,
      nodes: w.nodes.map((node) => [
        node.id,
        node.sequence,
        node.nodeId,
        node.nodeType,
        node.title,
        node.step,
        node.status,
        node.inputs,
        node.outputs,
        node.error,
        node.recovery,
        node.attempt,
        node.tokens,
        node.elapsedMs,
        node.startedAt,
        node.finishedAt,
        node.iterationNodeId,
        node.iterationIndex,
      ]),
    }));
  const runs = writes.flatMap(({ organizationId, finished: run }) =>
    run
      ? [
          {
            id: run.id,
            organization_id: organizationId,
            status: run.status,
            outputs: run.outputs,
            error: run.error,
            total_tokens: run.totalTokens,
            total_steps: run.totalSteps,
            elapsed_ms: run.elapsedMs,
            finished_at: run.finishedAt?.toISOString() ?? null,
          },
        ]
      : [],
  );
  const { rows } = await sql<{ o_stale_run_id: string }>`
    select o_stale_run_id from workflow_write_runs(${toJsonb(openings)}::jsonb, ${toJsonb(nodes)}::jsonb, ${toJsonb(runs)}::jsonb,
      ${LEASE_SECONDS}::integer)`.execute(db);
  return rows.map((row) => row.o_stale_run_id);
}
