import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { dataOf } from "../../fixtures.ts";
import {
  chain,
  createWorkflowTenant,
  edge,
  end,
  iso,
  node,
  nodeOf,
  publishedWorkflow,
  readRun,
  runBlocking,
  start,
  startFakeServer,
  uuid,
  type FakeServer,
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
afterAll(async () => {
  await fake.close();
  await api.close();
});

const anyMs = expect.any(Number);

describe("each node type, run through the API", () => {
  it("start → template → end: answers the finished run with every node's record, and reads back the same", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(
        start([{ name: "name", type: "text-input", required: true }]),
        node("greet", "template", {
          template: "{% for w in words %}{{ w | upper }} {% endfor %}{{ name }}",
          variables: [
            { name: "name", value: "{{#start.name#}}" },
            { name: "words", value: ["hello", "dear"] },
          ],
        }),
        end({ greeting: "{{#greet.output#}}" }),
      ),
    );
    const res = await api.call("runWorkflow", {
      path: { ...t.path, workflowId },
      body: { inputs: { name: "Ada" } },
      headers: t.owner.headers,
    });
    const record = (nodeId: string, nodeType: string, index: number, inputs: unknown, outputs: unknown) => ({
      id: uuid,
      nodeId,
      nodeType,
      title: nodeId,
      index,
      status: "succeeded",
      inputs,
      outputs,
      error: null,
      recovery: null,
      attempt: 1,
      tokens: 0,
      elapsedMs: anyMs,
      startedAt: iso,
      finishedAt: iso,
      iteration: null,
    });
    const run = {
      id: uuid,
      workflowId,
      version: 1,
      status: "succeeded",
      error: null,
      totalTokens: 0,
      totalSteps: 3,
      elapsedMs: anyMs,
      responseMode: "blocking",
      startedAt: iso,
      finishedAt: iso,
      createdBy: t.owner.id,
      inputs: { name: "Ada" },
      outputs: { greeting: "HELLO DEAR Ada" },
      nodes: [
        record("start", "start", 1, { name: "Ada" }, { name: "Ada" }),
        record("greet", "template", 2, { name: "Ada", words: ["hello", "dear"] }, { output: "HELLO DEAR Ada" }),
        record("end", "end", 3, { outputs: [{ name: "greeting", value: "HELLO DEAR Ada" }] }, { greeting: "HELLO DEAR Ada" }),
      ],
    };
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: "OK", message: { "en-US": "OK", "zh-CN": "成功" }, data: run, requestId: anyRequestId });
    const answered = dataOf<{ id: string }>(res);
    expect(await readRun(api, t, workflowId, answered.id)).toEqual(answered);
  });

  it("answer: outputs the text it streams", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(start([{ name: "who", type: "text-input" }]), node("reply", "answer", { answer: "Hi {{#start.who#}}, welcome." })),
    );
    const run = await runBlocking(api, t, workflowId, { who: "Lin" });
    expect([run.status, run.outputs]).toEqual(["succeeded", { answer: "Hi Lin, welcome." }]);
  });

  it("if-else: takes the first case whose and/or conditions hold, with typed comparisons; the other branches are skipped", async () => {
    const graph = {
      nodes: [
        start([
          { name: "age", type: "number" },
          { name: "tags", type: "array" },
        ]),
        node("route", "if-else", {
          cases: [
            {
              id: "adult_vip",
              logicalOperator: "and",
              conditions: [
                { variable: "{{#start.age#}}", operator: "≥", value: 18, varType: "number" },
                { variable: "{{#start.tags#}}", operator: "contains", value: "vip", varType: "array" },
              ],
            },
            {
              id: "young_or_new",
              logicalOperator: "or",
              conditions: [
                { variable: "{{#start.age#}}", operator: "<", value: 18, varType: "number" },
                { variable: "{{#start.tags#}}", operator: "contains", value: "new", varType: "array" },
              ],
            },
          ],
        }),
        node("vip", "template", { template: "vip" }),
        node("young", "template", { template: "young" }),
        node("other", "template", { template: "other" }),
        node("join", "variable-aggregator", { variables: ["{{#vip.output#}}", "{{#young.output#}}", "{{#other.output#}}"] }),
        end({ branch: "{{#join.output#}}", picked: "{{#route.selected_case_id#}}" }),
      ],
      connections: [
        edge("start", "route"),
        edge("route", "vip", "adult_vip"),
        edge("route", "young", "young_or_new"),
        edge("route", "other", "false"),
        edge("vip", "join"),
        edge("young", "join"),
        edge("other", "join"),
        edge("join", "end"),
      ],
    };
    const workflowId = await publishedWorkflow(api, t, graph);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ age: "30", tags: ["vip"] }, "vip", "adult_vip"],
      [{ age: 30, tags: ["new"] }, "young", "young_or_new"],
      [{ age: 12, tags: [] }, "young", "young_or_new"],
      [{ age: 40, tags: ["regular"] }, "other", "false"],
    ];
    for (const [inputs, branch, picked] of cases) {
      const run = await runBlocking(api, t, workflowId, inputs);
      expect(run.outputs).toEqual({ branch, picked });
      const statuses = Object.fromEntries(run.nodes.map((n) => [n.nodeId, n.status]));
      expect(statuses).toEqual({
        start: "succeeded",
        route: "succeeded",
        vip: branch === "vip" ? "succeeded" : "skipped",
        young: branch === "young" ? "succeeded" : "skipped",
        other: branch === "other" ? "succeeded" : "skipped",
        join: "succeeded",
        end: "succeeded",
      });
      expect(nodeOf(run, branch === "vip" ? "other" : "vip")).toMatchObject({ index: null, attempt: 0, inputs: {}, outputs: {} });
    }
  });

  it("code: runs JavaScript in the sandbox, and a throw fails the run with the node's error", async () => {
    const code = (source: string) =>
      chain(
        start([{ name: "n", type: "number" }]),
        node("calc", "code", { code: source, variables: [{ name: "n", value: "{{#start.n#}}" }], outputs: { square: { type: "number" } } }),
        end({ square: "{{#calc.square#}}" }),
      );
    const ok = await runBlocking(api, t, await publishedWorkflow(api, t, code("function main({ n }) { return { square: n * n } }")), {
      n: 7,
    });
    expect([ok.status, ok.outputs]).toEqual(["succeeded", { square: 49 }]);

    const noHost = await runBlocking(
      api,
      t,
      await publishedWorkflow(
        api,
        t,
        code("function main() { return { square: typeof process === 'undefined' && typeof require === 'undefined' ? 1 : 0 } }"),
      ),
      { n: 1 },
    );
    expect(noHost.outputs).toEqual({ square: 1 });

    const failing = await runBlocking(api, t, await publishedWorkflow(api, t, code("function main() { throw new Error('nope') }")), {
      n: 1,
    });
    expect({ status: failing.status, error: failing.error, outputs: failing.outputs }).toEqual({
      status: "failed",
      error: { type: "CODE_ERROR", message: 'node "calc" failed: Error: nope' },
      outputs: {},
    });
    expect(nodeOf(failing, "calc")).toMatchObject({
      status: "failed",
      error: { type: "CODE_ERROR", message: "Error: nope" },
      recovery: null,
    });
    expect(failing.nodes.map((n) => n.nodeId)).toEqual(["start", "calc"]);
  });

  it("http-request: calls a local server when the workspace allows its private network, and records the response", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(
        start([{ name: "q", type: "text-input" }]),
        node("fetch", "http-request", {
          url: `${fake.url}/delay`,
          params: [
            { name: "ms", value: "0" },
            { name: "q", value: "{{#start.q#}}" },
          ],
        }),
        end({ status: "{{#fetch.status_code#}}", body: "{{#fetch.body#}}" }),
      ),
    );
    const run = await runBlocking(api, t, workflowId, { q: "tea" });
    expect(run.outputs).toEqual({ status: 200, body: JSON.stringify({ ok: true, path: "?ms=0&q=tea" }) });
    expect(nodeOf(run, "fetch").inputs).toMatchObject({ method: "GET", url: `${fake.url}/delay?ms=0&q=tea` });
  });

  it("http-request: fails a response past its size cap", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(start(), node("fetch", "http-request", { url: `${fake.url}/big?bytes=5000`, maxResponseBytes: 1000 }), end({})),
    );
    const run = await runBlocking(api, t, workflowId);
    expect([run.status, nodeOf(run, "fetch").error]).toEqual([
      "failed",
      { type: "RESPONSE_TOO_LARGE", message: "the response is larger than 1000 bytes" },
    ]);
  });

  it("http-request: refuses loopback addresses in a workspace that has not allowed its private network", async () => {
    const closed = await createWorkflowTenant(api);
    const workflowId = await publishedWorkflow(
      api,
      closed,
      chain(start(), node("fetch", "http-request", { url: `${fake.url}/delay` }), end({})),
    );
    const before = fake.received.length;
    const run = await runBlocking(api, closed, workflowId);
    expect([run.status, nodeOf(run, "fetch").error?.type]).toEqual(["failed", "PRIVATE_NETWORK_REFUSED"]);
    expect(fake.received.length).toBe(before);
  });

  it("iteration: runs its sub-graph per item with bounded parallelism and collects the outputs in order", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [
        start([{ name: "items", type: "array" }]),
        node("loop", "iteration", {
          iteratorSelector: "{{#start.items#}}",
          outputSelector: "{{#double.value#}}",
          parallelism: 2,
          graph: {
            nodes: [
              innerNode("item_start", "start", {}, "item"),
              innerNode("double", "code", {
                code: "function main({ x, i }) { return { value: x * 2 + i / 10 } }",
                variables: [
                  { name: "x", value: "{{#loop.item#}}" },
                  { name: "i", value: "{{#loop.index#}}" },
                ],
              }),
            ],
            connections: [innerEdge("item_start", "double")],
          },
        }),
        end({ doubled: "{{#loop.output#}}" }),
      ],
      connections: [edge("start", "loop"), edge("loop", "end")],
    });
    const run = await runBlocking(api, t, workflowId, { items: [1, 2, 3] });
    expect([run.status, run.outputs, run.totalSteps]).toEqual(["succeeded", { doubled: [2, 4.1, 6.2] }, 3 + 3 * 2]);
    const inner = run.nodes.filter((n) => n.nodeId === "double");
    expect(inner.map((n) => n.iteration).sort((a, b) => a!.index - b!.index)).toEqual(
      [0, 1, 2].map((index) => ({ nodeId: "loop", index })),
    );
  });
});

describe("which version runs", () => {
  it("runs the latest version unless one is named, and refuses a workflow never published with 409", async () => {
    const created = await api.call("createWorkflow", {
      path: t.path,
      body: { name: "Versions", graph: chain(start(), end({ v: "one" })) },
      headers: t.owner.headers,
    });
    const workflowId = dataOf<{ id: string }>(created).id;
    const path = { ...t.path, workflowId };
    const unpublished = await api.call("runWorkflow", { path, body: { inputs: {} }, headers: t.owner.headers });
    expect(unpublished.status).toBe(409);
    expect(unpublished.body).toEqual({
      code: "WORKFLOW_NOT_PUBLISHED",
      message: {
        "en-US": "The workflow has never been published; publish it before running it.",
        "zh-CN": "该工作流尚未发布，请先发布再运行。",
      },
      data: null,
      requestId: anyRequestId,
    });

    await api.call("publishWorkflow", { path, body: {}, headers: t.owner.headers });
    await api.call("updateWorkflow", { path, body: { graph: chain(start(), end({ v: "two" })) }, headers: t.owner.headers });
    const draftOnly = await runBlocking(api, t, workflowId);
    expect([draftOnly.version, draftOnly.outputs]).toEqual([1, { v: "one" }]);
    await api.call("publishWorkflow", { path, body: {}, headers: t.owner.headers });
    const latest = await runBlocking(api, t, workflowId);
    expect([latest.version, latest.outputs]).toEqual([2, { v: "two" }]);
    const named = dataOf<{ version: number; outputs: unknown }>(
      await api.call("runWorkflow", { path, body: { inputs: {}, version: 1 }, headers: t.owner.headers }),
    );
    expect([named.version, named.outputs]).toEqual([1, { v: "one" }]);
    const missing = await api.call("runWorkflow", { path, body: { inputs: {}, version: 7 }, headers: t.owner.headers });
    expect([missing.status, (missing.body as { code: string }).code]).toEqual([404, "NOT_FOUND"]);
  });

  it("lists a workflow's runs newest first, by status, a page at a time", async () => {
    const workflowId = await publishedWorkflow(
      api,
      t,
      chain(
        start([{ name: "fail", type: "boolean" }]),
        node("maybe", "code", {
          code: "function main({ fail }) { if (fail) throw new Error('asked to'); return {} }",
          variables: [{ name: "fail", value: "{{#start.fail#}}" }],
        }),
        end({}),
      ),
    );
    const ids = [];
    for (const fail of [false, true, false]) ids.push((await runBlocking(api, t, workflowId, { fail })).id);
    const path = { ...t.path, workflowId };
    const first = dataOf<{ items: { id: string; status: string }[]; nextCursor: string | null }>(
      await api.call("listWorkflowRuns", { path, query: { limit: 2 }, headers: t.owner.headers }),
    );
    expect(first.items.map((r) => [r.id, r.status])).toEqual([
      [ids[2], "succeeded"],
      [ids[1], "failed"],
    ]);
    const rest = dataOf<{ items: { id: string }[]; nextCursor: string | null }>(
      await api.call("listWorkflowRuns", { path, query: { limit: 2, cursor: first.nextCursor! }, headers: t.owner.headers }),
    );
    expect([rest.items.map((r) => r.id), rest.nextCursor]).toEqual([[ids[0]], null]);
    const failed = dataOf<{ items: { id: string }[] }>(
      await api.call("listWorkflowRuns", { path, query: { status: "failed" }, headers: t.owner.headers }),
    );
    expect(failed.items.map((r) => r.id)).toEqual([ids[1]]);
    expect(failed.items[0]).not.toHaveProperty("nodes");
  });

  it("records one workflow_execution in the usage ledger per run", async () => {
    const metered = await createWorkflowTenant(api);
    const workflowId = await publishedWorkflow(api, metered, chain(start(), end({})));
    for (let i = 0; i < 2; i++) await runBlocking(api, metered, workflowId);
    const rows = await api.db
      .selectFrom("usage_records")
      .select(["resource_type", "quantity", "workspace_id"])
      .where("organization_id", "=", metered.organizationId)
      .execute();
    expect(rows).toEqual([1, 2].map(() => ({ resource_type: "workflow_execution", quantity: 1n, workspace_id: metered.workspaceId })));
  });
});
