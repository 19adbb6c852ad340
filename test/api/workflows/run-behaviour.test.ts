import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { dataOf } from "../../fixtures.ts";
import {
  chain,
  createWorkflowTenant,
  edge,
  end,
  node,
  nodeOf,
  publishedWorkflow,
  readRun,
  runBlocking,
  start,
  startFakeServer,
  type FakeServer,
  type Run,
  type WorkflowTenant,
  innerEdge,
  innerNode,
} from "./support.ts";

let api: TestApp;
let t: WorkflowTenant;
let fake: FakeServer;
beforeAll(async () => {
  api = await createTestApp();
  t = await createWorkflowTenant(api, { allowPrivateNetwork: true, unlimited: true });
  fake = await startFakeServer();
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await fake.close();
  await api.close();
});

/** An address nothing listens on: connections to it are refused at once. */
const REFUSED_URL = "http://127.0.0.1:9/";

async function waitFor(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe("how runs behave, read back from their records", () => {
  it("runs ready branches at once: two 200 ms requests have overlapping recorded start and end times", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [
        start(),
        node("left", "http-request", { url: `${fake.url}/delay?ms=200&side=left` }),
        node("right", "http-request", { url: `${fake.url}/delay?ms=200&side=right` }),
        end({ left: "{{#left.status_code#}}", right: "{{#right.status_code#}}" }),
      ],
      connections: [edge("start", "left"), edge("start", "right"), edge("left", "end"), edge("right", "end")],
    });
    const answered = await runBlocking(api, t, workflowId);
    const run = await readRun(api, t, workflowId, answered.id);
    expect([run.status, run.outputs]).toEqual(["succeeded", { left: 200, right: 200 }]);
    const [left, right] = [nodeOf(run, "left"), nodeOf(run, "right")];
    const at = (iso: string) => new Date(iso).getTime();
    expect(at(left.startedAt)).toBeLessThan(at(right.finishedAt));
    expect(at(right.startedAt)).toBeLessThan(at(left.finishedAt));
    expect(nodeOf(run, "end").index).toBe(4);
  });

  it("follows a failing node's error branch: the record shows the failure, the branch's outputs and partial success", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [
        start(),
        node("fetch", "http-request", { url: REFUSED_URL }, { errorStrategy: "error_branch" }),
        node("happy", "template", { template: "fetched" }),
        node("fallback", "template", { template: "fell back: {{ kind }}", variables: [{ name: "kind", value: "{{#fetch.error_type#}}" }] }),
        node("join", "variable-aggregator", { variables: ["{{#happy.output#}}", "{{#fallback.output#}}"] }),
        end({ result: "{{#join.output#}}" }),
      ],
      connections: [
        edge("start", "fetch"),
        edge("fetch", "happy"),
        edge("fetch", "fallback", "error"),
        edge("happy", "join"),
        edge("fallback", "join"),
        edge("join", "end"),
      ],
    });
    const run = await readRun(api, t, workflowId, (await runBlocking(api, t, workflowId)).id);
    expect([run.status, run.error, run.outputs]).toEqual(["partial-succeeded", null, { result: "fell back: HTTP_ERROR" }]);
    expect(nodeOf(run, "fetch")).toMatchObject({
      status: "failed",
      recovery: "error_branch",
      error: { type: "HTTP_ERROR", message: expect.stringContaining("ECONNREFUSED") },
      outputs: { error_type: "HTTP_ERROR", error_message: expect.stringContaining("ECONNREFUSED") },
    });
    expect(nodeOf(run, "happy").status).toBe("skipped");
  });

  it("uses a failing node's default value: the record shows the failure and the value used", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(
        start(),
        node(
          "risky",
          "code",
          { code: "function main() { throw new Error('broken') }" },
          { errorStrategy: "default_value", defaultValue: { score: 0 } },
        ),
        end({ score: "{{#risky.score#}}" }),
      ),
    );
    const run = await readRun(api, t, workflowId, (await runBlocking(api, t, workflowId)).id);
    expect([run.status, run.outputs]).toEqual(["partial-succeeded", { score: 0 }]);
    expect(nodeOf(run, "risky")).toMatchObject({
      status: "failed",
      recovery: "default_value",
      error: { type: "CODE_ERROR", message: "Error: broken" },
      outputs: { score: 0 },
    });
  });

  it("retries a failing node at its interval, recording the attempt that succeeded or the last one", async () => {
    const flaky = (key: string, fail: number, maxAttempts: number) =>
      chain(
        start(),
        node("fetch", "http-request", { url: `${fake.url}/flaky?key=${key}&fail=${fail}` }, { retry: { maxAttempts, intervalMs: 20 } }),
        end({ body: "{{#fetch.body#}}" }),
      );
    const recovered = await runBlocking(api, t, await publishedWorkflow(api, t, flaky("r1", 2, 3)));
    expect([recovered.status, recovered.outputs, nodeOf(recovered, "fetch").attempt]).toEqual(["succeeded", { body: "ok after 3" }, 3]);
    expect(fake.hits.get("r1")).toBe(3);

    const exhausted = await runBlocking(api, t, await publishedWorkflow(api, t, flaky("r2", 5, 2)));
    expect([exhausted.status, nodeOf(exhausted, "fetch").attempt, nodeOf(exhausted, "fetch").error?.type]).toEqual([
      "failed",
      2,
      "HTTP_ERROR",
    ]);
    expect(fake.hits.get("r2")).toBe(2);
  });

  it("times a node out by its own timeout, and an http request by its config's", async () => {
    const byNode = await runBlocking(
      api,
      t,
      await publishedWorkflow(
        api,
        t,
        chain(start(), node("wait", "http-request", { url: `${fake.url}/hang?n=1` }, { timeoutMs: 100 }), end({})),
      ),
    );
    expect([byNode.status, nodeOf(byNode, "wait").error]).toEqual(["failed", { type: "TIMEOUT", message: "node timed out after 100 ms" }]);
    const byRequest = await runBlocking(
      api,
      t,
      await publishedWorkflow(
        api,
        t,
        chain(start(), node("wait", "http-request", { url: `${fake.url}/hang?n=2`, timeoutMs: 100 }), end({})),
      ),
    );
    expect([byRequest.status, nodeOf(byRequest, "wait").error]).toEqual([
      "failed",
      { type: "TIMEOUT", message: "the request timed out after 100 ms" },
    ]);
  });

  it("records an iteration whose item fails: the run fails by default, or goes on with null in its place", async () => {
    const loop = (itemErrorMode: string) => ({
      nodes: [
        start([{ name: "items", type: "array" }]),
        node("loop", "iteration", {
          iteratorSelector: "{{#start.items#}}",
          outputSelector: "{{#check.value#}}",
          itemErrorMode,
          graph: {
            nodes: [
              innerNode(`${itemErrorMode}_start`, "start", {}, "item"),
              innerNode("check", "code", {
                code: "function main({ item }) { if (item === 'bad') throw new Error('bad item'); return { value: item.toUpperCase() } }",
                variables: [{ name: "item", value: "{{#loop.item#}}" }],
              }),
            ],
            connections: [innerEdge(`${itemErrorMode}_start`, "check")],
          },
        }),
        end({ values: "{{#loop.output#}}" }),
      ],
      connections: [edge("start", "loop"), edge("loop", "end")],
    });
    const items = { items: ["a", "bad", "c"] };
    const terminated = await runBlocking(api, t, await publishedWorkflow(api, t, loop("terminated")), items);
    expect([terminated.status, terminated.error?.type, nodeOf(terminated, "loop").error?.type]).toEqual([
      "failed",
      "ITERATION_ITEM_FAILED",
      "ITERATION_ITEM_FAILED",
    ]);
    const checks = terminated.nodes.filter((n) => n.nodeId === "check").map((n) => [n.iteration?.index, n.status]);
    expect(checks).toEqual([
      [0, "succeeded"],
      [1, "failed"],
    ]);

    const continued = await runBlocking(api, t, await publishedWorkflow(api, t, loop("continue-on-error")), items);
    expect([continued.status, continued.outputs]).toEqual(["partial-succeeded", { values: ["A", null, "C"] }]);
  });

  it("stops a run mid-way through the stop route: the running node is aborted and the run ends stopped", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(
        start(),
        node("slow", "http-request", { url: `${fake.url}/hang?stop=1`, timeoutMs: 20000 }),
        node("after", "template", { template: "never" }),
        end({}),
      ),
    );
    const path = { ...t.path, workflowId };
    const pending = api.call("runWorkflow", { path, body: { inputs: {} }, headers: t.owner.headers });
    await waitFor(() => fake.received.includes("/hang?stop=1"), "the slow request");

    const runs = dataOf<{ items: { id: string; status: string }[] }>(
      await api.call("listWorkflowRuns", { path, headers: t.owner.headers }),
    );
    const runId = runs.items[0]!.id;
    // Records are written as nodes finish: the finished start node is readable while the run goes on.
    let during = await readRun(api, t, workflowId, runId);
    for (let i = 0; i < 200 && during.nodes.length === 0; i++) {
      await sleep(10);
      during = await readRun(api, t, workflowId, runId);
    }
    expect({
      status: during.status,
      finishedAt: during.finishedAt,
      elapsedMs: during.elapsedMs,
      nodes: during.nodes.map((n) => n.nodeId),
    }).toEqual({
      status: "running",
      finishedAt: null,
      elapsedMs: null,
      nodes: ["start"],
    });

    const stopped = await api.call("stopWorkflowRun", { path: { ...path, runId }, headers: t.owner.headers });
    expect(stopped.status).toBe(200);
    const run = dataOf<Run>(stopped);
    expect([run.status, run.error, run.outputs]).toEqual(["stopped", { type: "STOPPED", message: "the run was stopped" }, {}]);
    expect(run.nodes.map((n) => [n.nodeId, n.status, n.error?.type ?? null])).toEqual([
      ["start", "succeeded", null],
      ["slow", "failed", "STOPPED"],
    ]);
    expect(dataOf<Run>(await pending)).toMatchObject({ id: runId, status: "stopped" });

    const again = await api.call("stopWorkflowRun", { path: { ...path, runId }, headers: t.owner.headers });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      code: "RUN_NOT_RUNNING",
      message: { "en-US": "The run has already finished.", "zh-CN": "该运行已结束。" },
      data: null,
      requestId: anyRequestId,
    });
  });

  it("fails a run that takes more steps than its limit allows", async () => {
    const tooMany = await runBlocking(
      api,
      t,
      await publishedWorkflow(api, t, {
        nodes: [
          start([{ name: "items", type: "array" }]),
          node("loop", "iteration", {
            iteratorSelector: "{{#start.items#}}",
            outputSelector: "{{#inner.output#}}",
            graph: {
              nodes: [
                innerNode("inner_start", "start", {}, "s"),
                innerNode("inner", "variable-aggregator", { variables: ["{{#loop.item#}}"] }, "t"),
              ],
              connections: [innerEdge("inner_start", "inner")],
            },
          }),
          end({}),
        ],
        connections: [edge("start", "loop"), edge("loop", "end")],
      }),
      { items: Array.from({ length: 300 }, (_, i) => i) },
    );
    expect([tooMany.status, tooMany.error?.type]).toEqual(["failed", "STEP_LIMIT_EXCEEDED"]);
  });

  it("stops a run executing on another server at once: the stop is a notification it listens for", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(start(), node("slow", "http-request", { url: `${fake.url}/hang?remote=1`, timeoutMs: 20000 }), end({})),
    );
    const path = { ...t.path, workflowId };
    // The lease renewal's interval is faked and never advanced: only the notification can stop the run.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const pending = api.call("runWorkflow", { path, body: { inputs: {} }, headers: t.owner.headers });
    await waitFor(() => fake.received.includes("/hang?remote=1"), "the slow request");
    const runId = dataOf<{ items: { id: string }[] }>(await api.call("listWorkflowRuns", { path, headers: t.owner.headers })).items[0]!.id;

    // A second server over the same database: the run is not in its registry.
    const other = api.anotherServer();
    const res = await other.request(`/api/v1/workspaces/${t.workspaceId}/workflows/${workflowId}/runs/${runId}/stop`, {
      method: "POST",
      headers: t.owner.headers,
    });
    expect(res.status).toBe(200);
    // Answered as the records stand: the executing server may or may not have ended the run yet.
    expect(["running", "stopped"]).toContain(((await res.json()) as { data: Run }).data.status);
    expect(dataOf<Run>(await pending)).toMatchObject({ id: runId, status: "stopped", error: { type: "STOPPED" } });
  });

  it("stops a run on a server deaf to notifications when that server next renews the run's lease", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(start(), node("slow", "http-request", { url: `${fake.url}/hang?deaf=1`, timeoutMs: 20000 }), end({})),
    );
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const deaf = api.anotherServer({ notifications: false });
    const runs = `/api/v1/workspaces/${t.workspaceId}/workflows/${workflowId}/runs`;
    const pending = deaf.request(runs, {
      method: "POST",
      headers: { ...t.owner.headers, "content-type": "application/json" },
      body: JSON.stringify({ inputs: {} }),
    });
    await waitFor(() => fake.received.includes("/hang?deaf=1"), "the slow request");
    const path = { ...t.path, workflowId };
    const runId = dataOf<{ items: { id: string }[] }>(await api.call("listWorkflowRuns", { path, headers: t.owner.headers })).items[0]!.id;

    const res = await api.call("stopWorkflowRun", { path: { ...path, runId }, headers: t.owner.headers });
    expect([res.status, dataOf<Run>(res).status]).toEqual([200, "running"]);
    // Still going until the lease renewal sees the request.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(dataOf<Run>(await api.call("getWorkflowRun", { path: { ...path, runId }, headers: t.owner.headers })).status).toBe("running");

    vi.advanceTimersByTime(10_000);
    const answer = (await (await pending).json()) as { data: Run };
    expect(answer.data).toMatchObject({ id: runId, status: "stopped", error: { type: "STOPPED" } });
  });
});
