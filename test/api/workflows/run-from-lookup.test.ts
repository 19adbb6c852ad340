import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECENT_MS } from "../../../server/workflows/compiled-cache.ts";
import { createTestApp, type TestApp } from "../../harness.ts";
import { dataOf } from "../../fixtures.ts";
import {
  chain,
  createWorkflowTenant,
  end,
  node,
  readRun,
  runBlocking,
  start,
  startFakeServer,
  type FakeServer,
  type Run,
  type WorkflowTenant,
} from "./support.ts";

/**
 * A blocking run of a workflow its server looked up less than a second ago starts from that lookup
 * and is recorded by its first write (server/workflows/run-service.ts, sql/0023), which renews the
 * lookup when it finds it still true. A change made on the same server is seen at once; one made on
 * another server by the next run after the first that found it, or after the second.
 */

let api: TestApp;
let t: WorkflowTenant;
let other: ReturnType<TestApp["anotherServer"]>;
let fake: FakeServer;
beforeAll(async () => {
  api = await createTestApp();
  t = await createWorkflowTenant(api, { allowPrivateNetwork: true, unlimited: true });
  fake = await startFakeServer();
  // A second server over the same database, on the same (frozen) clock.
  other = api.anotherServer();
});
afterAll(async () => {
  await fake.close();
  await api.close();
});

const says = (text: string) => chain(start(), node("say", "template", { template: text }), end({ said: "{{#say.output#}}" }));

async function createAndPublish(text: string): Promise<string> {
  const created = await api.call("createWorkflow", { path: t.path, body: { name: "Flow", graph: says(text) }, headers: t.owner.headers });
  const workflowId = dataOf<{ id: string }>(created).id;
  await publish(workflowId, text);
  return workflowId;
}

async function publish(workflowId: string, text: string): Promise<void> {
  const path = { ...t.path, workflowId };
  expect((await api.call("updateWorkflow", { path, body: { graph: says(text) }, headers: t.owner.headers })).status).toBe(200);
  expect((await api.call("publishWorkflow", { path, body: { note: text }, headers: t.owner.headers })).status).toBe(201);
}

/** Runs on the other server; answers the status and the run (or the error body). */
async function runOnOther(workflowId: string) {
  const res = await other.request(`/api/v1/workspaces/${t.workspaceId}/workflows/${workflowId}/runs`, {
    method: "POST",
    headers: { ...t.owner.headers, "content-type": "application/json" },
    body: JSON.stringify({ inputs: {} }),
  });
  const body = (await res.json()) as { code: string; data: Run };
  return { status: res.status, code: body.code, run: body.data };
}

describe("a blocking run started from a recent lookup", () => {
  it("is recorded whole by its one write, with its audit entry, like a run that asked first", async () => {
    const workflowId = await createAndPublish("hello");
    const first = await runBlocking(api, t, workflowId);
    const second = await runBlocking(api, t, workflowId);
    for (const run of [first, second]) {
      expect(await readRun(api, t, workflowId, run.id)).toEqual(run);
      expect([run.status, run.version, run.outputs]).toEqual(["succeeded", 1, { said: "hello" }]);
    }
    const audit = await api.db
      .selectFrom("audit_logs")
      .select(["target_id", "actor_user_id", "changes"])
      .where("action", "=", "workflow_run.start")
      .where("target_id", "in", [first.id, second.id])
      .orderBy("target_id")
      .execute();
    const after = { workflowId, version: 1, responseMode: "blocking" };
    expect(audit).toEqual([
      { target_id: first.id, actor_user_id: t.owner.id, changes: { before: null, after } },
      { target_id: second.id, actor_user_id: t.owner.id, changes: { before: null, after } },
    ]);
  });

  it("runs the version published a moment ago on the same server", async () => {
    const workflowId = await createAndPublish("one");
    expect((await runBlocking(api, t, workflowId)).outputs).toEqual({ said: "one" });
    await publish(workflowId, "two");
    expect(await runBlocking(api, t, workflowId)).toMatchObject({ version: 2, outputs: { said: "two" } });
  });

  it("refuses a workflow archived a moment ago on the same server", async () => {
    const workflowId = await createAndPublish("bye");
    await runBlocking(api, t, workflowId);
    expect((await api.call("archiveWorkflow", { path: { ...t.path, workflowId }, headers: t.owner.headers })).status).toBe(200);
    const res = await api.call("runWorkflow", { path: { ...t.path, workflowId }, body: { inputs: {} }, headers: t.owner.headers });
    expect([res.status, (res.body as { code: string }).code]).toEqual([422, "ARCHIVED"]);
  });

  it("sees another server's publish by the run after the first that found it, or after a second", async () => {
    const workflowId = await createAndPublish("old");
    expect((await runOnOther(workflowId)).run.outputs).toEqual({ said: "old" });
    await publish(workflowId, "new");
    // The other server's lookup is not a second old: it runs what it looked up, recorded as such, and learns.
    const stale = await runOnOther(workflowId);
    expect([stale.status, stale.run.version, stale.run.outputs]).toEqual([200, 1, { said: "old" }]);
    expect((await readRun(api, t, workflowId, stale.run.id)).version).toBe(1);
    expect((await runOnOther(workflowId)).run).toMatchObject({ version: 2, outputs: { said: "new" } });

    await publish(workflowId, "newer");
    api.clock.advance(RECENT_MS);
    try {
      expect((await runOnOther(workflowId)).run).toMatchObject({ version: 3, outputs: { said: "newer" } });
    } finally {
      api.clock.advance(-RECENT_MS);
    }
  });

  it("keeps a lookup its runs' writes found still true: it counts from the last such write", async () => {
    const workflowId = await createAndPublish("first");
    const step = Math.ceil(RECENT_MS * 0.6);
    try {
      expect((await runOnOther(workflowId)).run.version).toBe(1);
      api.clock.advance(step);
      // Started from the lookup; its write finds version 1 still the latest, and renews the lookup.
      expect((await runOnOther(workflowId)).run.version).toBe(1);
      await publish(workflowId, "second");
      api.clock.advance(step);
      // More than RECENT_MS after the lookup, less after the write that renewed it: still started
      // from it (it runs what was current when confirmed, and learns from its write) ...
      const renewed = await runOnOther(workflowId);
      expect([renewed.status, renewed.run.version, renewed.run.outputs]).toEqual([200, 1, { said: "first" }]);
      // ... and a write that found it stale renews nothing: the next run looks again.
      expect((await runOnOther(workflowId)).run).toMatchObject({ version: 2, outputs: { said: "second" } });
    } finally {
      api.clock.advance(-2 * step);
    }
  });

  it("sees another server's archive by the run after the first that found it", async () => {
    const workflowId = await createAndPublish("last");
    await runOnOther(workflowId);
    expect((await api.call("archiveWorkflow", { path: { ...t.path, workflowId }, headers: t.owner.headers })).status).toBe(200);
    expect(await runOnOther(workflowId)).toMatchObject({ status: 200, run: { status: "succeeded" } });
    expect(await runOnOther(workflowId)).toMatchObject({ status: 422, code: "ARCHIVED" });
  });

  it("never answers a lookup of one workspace for another: a foreign workflow stays not found", async () => {
    const workflowId = await createAndPublish("mine");
    await runBlocking(api, t, workflowId);
    const stranger = await createWorkflowTenant(api);
    const res = await api.call("runWorkflow", {
      path: { workspaceId: stranger.workspaceId, workflowId },
      body: { inputs: {} },
      headers: stranger.owner.headers,
    });
    expect([res.status, (res.body as { code: string }).code]).toEqual([404, "NOT_FOUND"]);
    expect(await api.db.selectFrom("execution_records").select("id").where("workspace_id", "=", stranger.workspaceId).execute()).toEqual(
      [],
    );
  });

  it("is readable as running, with the results of its finished nodes, while it waits on I/O", async () => {
    const created = await api.call("createWorkflow", {
      path: t.path,
      body: { name: "Slow", graph: chain(start(), node("wait", "http-request", { url: `${fake.url}/delay?ms=300&run=slow` }), end({})) },
      headers: t.owner.headers,
    });
    const workflowId = dataOf<{ id: string }>(created).id;
    const path = { ...t.path, workflowId };
    expect((await api.call("publishWorkflow", { path, body: { note: "slow" }, headers: t.owner.headers })).status).toBe(201);
    await runBlocking(api, t, workflowId);

    const pending = runBlocking(api, t, workflowId);
    // The run is recorded by the write of its start node's result, which goes while the request waits.
    let running: { id: string; status: string } | undefined;
    for (let i = 0; i < 500 && !running; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const runs = dataOf<{ items: { id: string; status: string }[] }>(
        await api.call("listWorkflowRuns", { path, headers: t.owner.headers }),
      );
      running = runs.items.find((run) => run.status === "running");
    }
    const partial = await readRun(api, t, workflowId, running!.id);
    expect([partial.status, partial.nodes.map((n) => [n.nodeId, n.status])]).toEqual(["running", [["start", "succeeded"]]]);
    expect(await pending).toMatchObject({ id: running!.id, status: "succeeded" });
  });

  it("follows the workspace's network setting: at once on its own server, by the run after the first on another", async () => {
    const created = await api.call("createWorkflow", {
      path: t.path,
      body: { name: "Call", graph: chain(start(), node("call", "http-request", { url: `${fake.url}/delay?ms=0&run=net` }), end({})) },
      headers: t.owner.headers,
    });
    const workflowId = dataOf<{ id: string }>(created).id;
    const path = { ...t.path, workflowId };
    expect((await api.call("publishWorkflow", { path, body: { note: "net" }, headers: t.owner.headers })).status).toBe(201);
    const setPrivateNetwork = async (allow: boolean) => {
      const res = await api.call("updateWorkflowSettings", {
        path: t.path,
        body: { allowPrivateNetwork: allow },
        headers: t.owner.headers,
      });
      expect(res.status).toBe(200);
    };
    const callOf = (run: Run) => [run.status, run.nodes.find((n) => n.nodeId === "call")?.error?.type ?? null];
    try {
      expect(callOf(await runBlocking(api, t, workflowId))).toEqual(["succeeded", null]);
      expect(callOf((await runOnOther(workflowId)).run)).toEqual(["succeeded", null]);
      await setPrivateNetwork(false);
      expect(callOf(await runBlocking(api, t, workflowId))).toEqual(["failed", "PRIVATE_NETWORK_REFUSED"]);
      // The other server's lookup still allows it: that run goes as looked up, and the next one learns.
      expect(callOf((await runOnOther(workflowId)).run)).toEqual(["succeeded", null]);
      expect(callOf((await runOnOther(workflowId)).run)).toEqual(["failed", "PRIVATE_NETWORK_REFUSED"]);
    } finally {
      await setPrivateNetwork(true);
    }
  });
});
