import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../server/ids.ts";
import { recoverOrphanedRuns } from "../../../server/workflows/index.ts";
import { writeRunRecords } from "../../../server/workflows/run-writes.ts";
import { createTestApp, type TestApp } from "../../harness.ts";
import { chain, createWorkflowTenant, end, iso, node, publishedWorkflow, readRun, start, type WorkflowTenant } from "./support.ts";

let api: TestApp;
let t: WorkflowTenant;
let workflowId: string;
beforeAll(async () => {
  api = await createTestApp();
  t = await createWorkflowTenant(api);
  workflowId = await publishedWorkflow(
    api,
    t,
    chain(start(), node("first", "template", { template: "1" }), node("second", "template", { template: "2" }), end({})),
  );
});
afterAll(() => api.close());

/**
 * What a crash leaves: the run's row still `running` with the lease its server stopped renewing,
 * and the node results written before the process died.
 */
async function crashedRun(leaseUntil: ReturnType<typeof sql<Date>>) {
  const runId = newId();
  const tenant = { organization_id: t.organizationId, workspace_id: t.workspaceId };
  await api.db
    .insertInto("execution_records")
    .values({
      ...tenant,
      id: runId,
      workflow_id: workflowId,
      version: 1,
      status: "running",
      response_mode: "blocking",
      inputs: JSON.stringify({ topic: "crash" }),
      started_at: sql<Date>`now() - interval '2 minutes'`,
      lease_until: leaseUntil,
      created_by: t.owner.id,
    })
    .execute();
  const at = new Date(Date.now() - 100_000);
  await api.db
    .insertInto("node_execution_results")
    .values(
      (["start", "first"] as const).map((nodeId, sequence) => ({
        ...tenant,
        id: newId(),
        execution_id: runId,
        sequence,
        node_id: nodeId,
        node_type: nodeId === "start" ? "start" : "template",
        title: nodeId,
        step: sequence + 1,
        status: "succeeded",
        inputs: JSON.stringify({}),
        outputs: JSON.stringify(nodeId === "first" ? { output: "1" } : {}),
        attempt: 1,
        tokens: 2,
        elapsed_ms: 1.5,
        started_at: at,
        finished_at: at,
      })),
    )
    .execute();
  return runId;
}

describe("recovery after a crash", () => {
  it("marks a run whose lease passed failed, keeping the node results written before the crash", async () => {
    const runId = await crashedRun(sql<Date>`now() - interval '1 minute'`);
    const before = await readRun(api, t, workflowId, runId);
    expect([before.status, before.nodes.map((n) => n.nodeId)]).toEqual(["running", ["start", "first"]]);

    const marked = await recoverOrphanedRuns(api.db);
    expect(marked).toContain(runId);

    const after = await readRun(api, t, workflowId, runId);
    expect({ ...after, nodes: after.nodes.map((n) => [n.nodeId, n.status, n.outputs]) }).toEqual({
      id: runId,
      workflowId,
      version: 1,
      status: "failed",
      error: { type: "SERVER_RESTARTED", message: "the server executing the run stopped before it finished" },
      totalTokens: 4,
      totalSteps: 2,
      elapsedMs: expect.any(Number),
      responseMode: "blocking",
      startedAt: iso,
      finishedAt: iso,
      createdBy: t.owner.id,
      inputs: { topic: "crash" },
      outputs: {},
      nodes: [
        ["start", "succeeded", {}],
        ["first", "succeeded", { output: "1" }],
      ],
    });
    expect(after.elapsedMs).toBeGreaterThanOrEqual(120_000);
    expect(await recoverOrphanedRuns(api.db)).not.toContain(runId);
  });

  it("leaves a run whose lease is still fresh (a live server is executing it), unless this is the sole server", async () => {
    const runId = await crashedRun(sql<Date>`now() + interval '1 minute'`);
    expect(await recoverOrphanedRuns(api.db)).not.toContain(runId);
    expect((await readRun(api, t, workflowId, runId)).status).toBe("running");
    if (api.database.kind === "pglite") {
      // The embedded database has one server: at its start every running run is an orphan.
      expect(await recoverOrphanedRuns(api.db, { soleServer: true })).toContain(runId);
      expect((await readRun(api, t, workflowId, runId)).status).toBe("failed");
    }
  });

  it("never lets a late writer undo a recovery: a run the sweep failed stays failed", async () => {
    const runId = await crashedRun(sql<Date>`now() - interval '1 minute'`);
    await recoverOrphanedRuns(api.db);
    // The statement every run's end goes through, as a writer that missed the recovery would send it.
    const finished = {
      id: runId,
      workflowId,
      version: 1,
      status: "succeeded",
      responseMode: "blocking",
      inputs: {},
      outputs: { late: true },
      error: null,
      totalTokens: 0,
      totalSteps: 3,
      elapsedMs: 1,
      startedAt: new Date(),
      finishedAt: new Date(),
      createdBy: t.owner.id,
    } as const;
    await writeRunRecords(api.db, [{ organizationId: t.organizationId, workspaceId: t.workspaceId, runId, nodes: [], finished }]);
    expect(await readRun(api, t, workflowId, runId)).toMatchObject({ status: "failed", outputs: {} });
  });
});
