import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../server/ids.ts";
import type { NodeRecord } from "../../../server/workflows/run-records.ts";
import { writeRunRecords } from "../../../server/workflows/run-writes.ts";
import { createTestApp, type TestApp } from "../../harness.ts";
import { chain, createWorkflowTenant, end, node, publishedWorkflow, readRun, runBlocking, start, type WorkflowTenant } from "./support.ts";

/**
 * The keys of run records (sql/0025): a run's tenant is its workflow's, node results name a run of
 * their organization, and deleting runs (or what they belong to) takes their node results along.
 */

let api: TestApp;
let t: WorkflowTenant;
let other: WorkflowTenant;
let workflowId: string;
beforeAll(async () => {
  api = await createTestApp();
  t = await createWorkflowTenant(api);
  other = await createWorkflowTenant(api);
  workflowId = await publishedWorkflow(api, t, chain(start(), node("first", "template", { template: "1" }), end({})));
});
afterAll(() => api.close());

const nodeRecord = (sequence: number): NodeRecord => ({
  id: newId(),
  sequence,
  nodeId: `late-${sequence}`,
  nodeType: "template",
  title: "late",
  step: sequence + 1,
  status: "succeeded",
  inputs: {},
  outputs: { output: "late" },
  error: null,
  recovery: null,
  attempt: 1,
  tokens: 0,
  elapsedMs: 1,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  iterationNodeId: null,
  iterationIndex: null,
});

async function nodeCount(runId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from node_execution_results where execution_id = ${runId}`.execute(
    api.db,
  );
  return rows[0]!.n;
}

const sqlState = (promise: Promise<unknown>) =>
  promise.then(
    () => "resolved",
    (error: { code?: string }) => error.code,
  );

describe("node results and their run", () => {
  it("writes node results of a run that exists, in its organization", async () => {
    const run = await runBlocking(api, t, workflowId);
    await writeRunRecords(api.db, [
      { organizationId: t.organizationId, workspaceId: t.workspaceId, runId: run.id, nodes: [nodeRecord(10)] },
    ]);
    expect((await readRun(api, t, workflowId, run.id)).nodes.map((n) => n.nodeId)).toEqual(["start", "first", "end", "late-10"]);
  });

  it("refuses, as foreign_key_violation and writing nothing of the call, node results of a missing run or of another organization's run", async () => {
    const run = await runBlocking(api, t, workflowId);
    const good = { organizationId: t.organizationId, workspaceId: t.workspaceId, runId: run.id, nodes: [nodeRecord(20)] };
    const missing = { ...good, runId: newId(), nodes: [nodeRecord(0)] };
    const foreign = { organizationId: other.organizationId, workspaceId: other.workspaceId, runId: run.id, nodes: [nodeRecord(21)] };
    expect(await sqlState(writeRunRecords(api.db, [good, missing]))).toBe("23503");
    expect(await sqlState(writeRunRecords(api.db, [foreign, good]))).toBe("23503");
    expect(await nodeCount(run.id)).toBe(3);
    expect(await nodeCount(missing.runId)).toBe(0);
  });

  it("deletes the node results of deleted runs, and the runs of a deleted workflow", async () => {
    const kept = await runBlocking(api, t, workflowId);
    const deleted = await runBlocking(api, t, workflowId);
    await api.db.deleteFrom("execution_records").where("id", "=", deleted.id).execute();
    expect([await nodeCount(deleted.id), await nodeCount(kept.id)]).toEqual([0, 3]);

    const doomed = await publishedWorkflow(api, t, chain(start(), end({})));
    const run = await runBlocking(api, t, doomed);
    expect(await nodeCount(run.id)).toBe(2);
    await api.db.deleteFrom("workflows").where("id", "=", doomed).execute();
    const runs = await api.db.selectFrom("execution_records").select("id").where("id", "=", run.id).execute();
    expect([runs, await nodeCount(run.id), await nodeCount(kept.id)]).toEqual([[], 0, 3]);
  });
});

describe("a run and its workflow", () => {
  it("refuses a run recorded under another workspace than its workflow's", async () => {
    const insert = api.db
      .insertInto("execution_records")
      .values({
        organization_id: other.organizationId,
        workspace_id: other.workspaceId,
        id: newId(),
        workflow_id: workflowId,
        version: 1,
        status: "running",
        response_mode: "blocking",
        inputs: JSON.stringify({}),
        started_at: new Date(),
        created_by: other.owner.id,
      })
      .execute();
    expect(await sqlState(insert)).toBe("23503");
  });
});
