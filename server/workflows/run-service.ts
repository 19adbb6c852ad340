import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import {
  AbortSwitch,
  executeWorkflow,
  type CompiledGraph,
  type ExecuteOptions,
  type NodeRegistry,
  type NodeServices,
} from "../workflow/index.ts";
import type { CompiledCache } from "./compiled-cache.ts";
import { selectGraphRows } from "./definition-queries.ts";
import { fromGraphRows } from "./graph-rows.ts";
import { compileOrReject } from "./graph-validation.ts";
import { runEvents } from "./run-events.ts";
import { toRunSummary, toWorkflowRun } from "./run-mappers.ts";
import { observeRun } from "./run-observer.ts";
import * as q from "./run-queries.ts";
import { runningRecord } from "./run-records.ts";
import { RunRecorder, type RunWriter } from "./run-recorder.ts";
import { openRuns, writeRunRecords, type RunOpening, type RunRecordOpening, type RunWrite } from "./run-writes.ts";
import type { RunRegistry } from "./run-registry.ts";
import { RunEventStream } from "./run-stream.ts";
import { createCoalescer } from "../db/coalescer.ts";
import type { ResponseMode, RunStatus, WorkflowRun } from "./types.ts";

/** The engine's run-wide limits; its defaults when omitted (concurrency 16, 500 steps, 10 minutes). */
export type RunLimits = Pick<ExecuteOptions, "concurrency" | "maxSteps" | "timeLimitMs" | "defaultNodeTimeoutMs">;

/** What the run service is built from. */
export interface RunDeps {
  db: Kysely<Database>;
  registry: NodeRegistry;
  runs: RunRegistry;
  cache: CompiledCache;
  limits: RunLimits;
  /** Capabilities other modules give the nodes of a run in this workspace (see `WorkflowDeps`). */
  nodeServices?: (scope: WorkspaceScope) => NodeServices;
  log?: Logger;
}

/** The body of `runWorkflow`, defaults filled. */
export interface RunRequest {
  inputs: Record<string, unknown>;
  version?: number;
  responseMode?: ResponseMode;
}

/**
 * Statements of each kind (openings, record writes) in flight at once; what arrives meanwhile waits
 * to go in the next. One beside a running one starts only once `WRITES_MIN_BATCH` writes wait for
 * it: in scripts/bench/workflow-http.ts that made batches larger and cheaper per run (1,520 → 1,700+
 * runs/s) without making any wait longer. Once the server's own CPU per run had fallen by a quarter,
 * Postgres was the busier side, and 10 (with 12 for the request lookups, see scope.ts) took it
 * 417–483 µs per run instead of 452–498, at 1,850–2,190 runs/s instead of 1,720–1,960 (3
 * interleaved pairs of runs).
 */
const WRITES_IN_FLIGHT = 3;
const WRITES_MIN_BATCH = 10;

/** A database error caused by the data of a statement (SQLSTATE classes 22 and 23), not by the connection. */
const isDataError = (error: unknown) => /^2[23]/.test(String((error as { code?: unknown } | null)?.code ?? ""));

/** What a run opened by its first write assumed about starting it. */
const toLookup = (opening: RunRecordOpening) => ({
  versionId: opening.versionId,
  version: opening.run.version,
  allowPrivateNetwork: opening.allowPrivateNetwork,
});

/** The `workflow_run.start` audit entry of a run `actor` starts: its id, and who asked from where. */
const startAudit = (actor: Actor): RunOpening["audit"] => ({
  id: newId(),
  actorUserId: actor.userId,
  ip: actor.ip,
  userAgent: actor.userAgent,
  requestId: actor.requestId,
});

const workflowNotFound = () => new AppError("NOT_FOUND", { message: message("No such workflow.", "工作流不存在。") });
const runNotFound = () => new AppError("NOT_FOUND", { message: message("No such run.", "运行记录不存在。") });

/** Runs of published versions: started here, executed in-process, recorded as they go, stoppable. */
export function createRunService(deps: RunDeps) {
  const { db, registry, runs, cache, limits } = deps;
  // Concurrent runs start and write their records in shared statements: one round trip for many.
  const batching = { maxInFlight: WRITES_IN_FLIGHT, minBatchWhileBusy: WRITES_MIN_BATCH, retryAlone: isDataError };
  const open = createCoalescer((openings: RunOpening[]) => openRuns(db, openings), batching);
  const writeBatch = createCoalescer(async (writes: RunWrite[]) => {
    const sentAt = cache.now();
    const stale = new Set(await writeRunRecords(db, writes));
    for (const { workspaceId, opening } of writes) {
      if (!opening) continue;
      // A run started from a lookup that another server's change made stale: the next run looks again.
      if (stale.has(opening.run.id)) cache.forgetWorkflow(opening.run.workflowId);
      // One the write found still true holds from when the write began.
      else cache.confirmLookup(workspaceId, opening.run.workflowId, opening.requestedVersion, toLookup(opening), sentAt);
    }
    return writes.map(() => undefined);
  }, batching);
  const write: RunWriter = writeBatch;

  /** The compiled graph of a published version: compiled once per process, versions never change. */
  function compiledVersion(scope: WorkspaceScope, workflowId: string, version: number, versionId: string): Promise<CompiledGraph> {
    return cache.compiled(versionId, async () =>
      compileOrReject(fromGraphRows(await selectGraphRows(db, scope, workflowId, version)), registry),
    );
  }

  async function readRun(scope: WorkspaceScope, workflowId: string, runId: string): Promise<WorkflowRun> {
    const run = await q.selectRun(db, scope, workflowId, runId);
    if (!run) throw runNotFound();
    return toWorkflowRun(run, await q.selectNodeResults(db, scope, runId));
  }

  /**
   * Checks the run can start, and records it `running` with its audit entry, in one statement
   * (shared with concurrent runs). A version this server has not compiled yet takes a second one:
   * the first answers which version to run, which is compiled before the run is recorded.
   */
  async function openRun(scope: WorkspaceScope, workflowId: string, request: RunRequest, actor: Actor) {
    const version = request.version ?? null;
    const opening: Omit<RunOpening, "knownVersionId"> = {
      organizationId: scope.organizationId,
      workspaceId: scope.workspaceId,
      runId: newId(),
      workflowId,
      version,
      responseMode: request.responseMode ?? "blocking",
      inputs: request.inputs,
      startedAt: new Date(),
      createdBy: scope.userId,
      audit: startAudit(actor),
    };
    for (let attempt = 1; ; attempt++) {
      const known = cache.resolved(workflowId, version);
      const target = await open({ ...opening, knownVersionId: known?.versionId ?? null });
      if (!target.found) throw workflowNotFound();
      if (target.archived) throw new AppError("ARCHIVED", { message: message("This workflow is archived.", "该工作流已归档。") });
      if (target.latestVersion === null) throw new AppError("WORKFLOW_NOT_PUBLISHED");
      if (!target.versionId || target.version === null) {
        throw new AppError("NOT_FOUND", { message: message("The workflow has no such version.", "该工作流没有这个版本。") });
      }
      if (target.opened && known) {
        const running = runningRecord({
          id: opening.runId,
          workflowId,
          version: target.version,
          responseMode: opening.responseMode,
          inputs: opening.inputs,
          startedAt: opening.startedAt,
          createdBy: opening.createdBy,
        });
        cache.rememberLookup(scope.workspaceId, workflowId, version, {
          versionId: target.versionId,
          version: target.version,
          allowPrivateNetwork: target.allowPrivateNetwork,
        });
        return { running, compiled: known.compiled, allowPrivateNetwork: target.allowPrivateNetwork, opening: null };
      }
      await compiledVersion(scope, workflowId, target.version, target.versionId);
      cache.resolve(workflowId, version, target.versionId);
      // Only a workflow published again between the two statements gets here twice.
      if (attempt === 3) throw new Error(`workflow ${workflowId} kept changing its version while a run started`);
    }
  }

  /**
   * A blocking run of a workflow looked up (or confirmed by a run's write) less than a second ago
   * (see CompiledCache.recent) starts from that lookup, without a statement of its own: its first
   * write records it with its audit entry — for a run without I/O, together with its results and
   * its end — and checks the lookup again.
   */
  function startFromLookup(
    scope: WorkspaceScope,
    workflowId: string,
    request: RunRequest,
    actor: Actor,
    recent: NonNullable<ReturnType<CompiledCache["recent"]>>,
  ) {
    const running = runningRecord({
      id: newId(),
      workflowId,
      version: recent.version,
      responseMode: "blocking",
      inputs: request.inputs,
      startedAt: new Date(),
      createdBy: scope.userId,
    });
    const opening: RunRecordOpening = {
      run: running,
      versionId: recent.versionId,
      requestedVersion: request.version ?? null,
      allowPrivateNetwork: recent.allowPrivateNetwork,
      audit: startAudit(actor),
    };
    return { running, compiled: recent.compiled, allowPrivateNetwork: recent.allowPrivateNetwork, opening };
  }

  /** Executes an opened run in the background, registered so it can be stopped. */
  function launch(scope: WorkspaceScope, opened: ReturnType<typeof startFromLookup> | Awaited<ReturnType<typeof openRun>>) {
    const { running, compiled } = opened;
    const recorder = new RunRecorder(write, scope, running, opened.opening);
    const stream = running.responseMode === "streaming" ? new RunEventStream(runEvents(running)) : null;
    const cancel = new AbortSwitch();
    const http = { allowPrivateNetwork: opened.allowPrivateNetwork };
    // Objects of one shape on every run, no spreads: this is the hot path of every run.
    const done = executeWorkflow(compiled, {
      concurrency: limits.concurrency,
      maxSteps: limits.maxSteps,
      timeLimitMs: limits.timeLimitMs,
      defaultNodeTimeoutMs: limits.defaultNodeTimeoutMs,
      inputs: running.inputs,
      runId: running.id,
      systemVariables: {
        user_id: scope.userId,
        workflow_id: running.workflowId,
        workspace_id: scope.workspaceId,
        version: running.version,
      },
      services: deps.nodeServices ? { ...deps.nodeServices(scope), http } : { http },
      observer: observeRun(recorder, stream),
      signal: cancel,
    }).then(
      () => ({ ok: true as const }),
      (error: unknown) => {
        // Only a failing final write gets here: the run's row may still say running; once this
        // server stops renewing its lease, the recovery sweep ends it.
        deps.log?.error({ err: error, runId: running.id }, "workflow run could not be recorded");
        stream?.close(stream.events.error("INTERNAL_ERROR", "the run could not be recorded"));
        return { ok: false as const, error };
      },
    );
    runs.add(running.id, { cancel, done });
    return { recorder, stream, done };
  }

  return {
    /**
     * Starts a run. Blocking: resolves with the finished run. Streaming: resolves at once with the
     * event stream's `Response`; the run goes on whether or not the client stays.
     */
    async start(scope: WorkspaceScope, workflowId: string, request: RunRequest, actor: Actor): Promise<WorkflowRun | Response> {
      const recent =
        (request.responseMode ?? "blocking") === "blocking" ? cache.recent(scope.workspaceId, workflowId, request.version ?? null) : null;
      const opened = recent ? startFromLookup(scope, workflowId, request, actor, recent) : await openRun(scope, workflowId, request, actor);
      const { recorder, stream, done } = launch(scope, opened);
      if (stream) return stream.response;
      const outcome = await done;
      if (!outcome.ok) throw outcome.error;
      return toWorkflowRun(recorder.record, recorder.nodes);
    },

    async list(scope: WorkspaceScope, workflowId: string, options: { status?: RunStatus; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const rows = await q.selectRuns(db, scope, workflowId, {
        ...(options.status ? { status: options.status } : {}),
        after,
        limit: options.limit,
      });
      if (rows.length === 0 && !after) {
        const exists = await q.selectRunTarget(db, scope, workflowId, null);
        if (!exists) throw workflowNotFound();
      }
      return toPage(rows, options.limit, (run) => [run.id], toRunSummary);
    },

    get: readRun,

    /** Stops a running run: at once when this server executes it, otherwise through its lease (within about 10 s). */
    async stop(scope: WorkspaceScope, workflowId: string, runId: string, actor: Actor): Promise<WorkflowRun> {
      const run = await q.selectRun(db, scope, workflowId, runId);
      if (!run) throw runNotFound();
      if (run.status !== "running") throw new AppError("RUN_NOT_RUNNING");
      await db.transaction().execute(async (trx) => {
        await q.requestStop(trx, scope, runId);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          workspaceId: scope.workspaceId,
          action: "workflow_run.stop",
          targetType: "workflow_run",
          targetId: runId,
          before: { status: run.status },
        });
      });
      const active = runs.get(runId);
      if (active) {
        active.cancel.abort();
        await active.done;
      }
      return readRun(scope, workflowId, runId);
    },
  };
}

export type RunService = ReturnType<typeof createRunService>;
