import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { dataOf } from "../../fixtures.ts";
import { chain, createWorkflowTenant, edge, end, node, start, type ApiConnection, type ApiNode, type WorkflowTenant } from "./support.ts";

let api: TestApp;
let t: WorkflowTenant;
beforeAll(async () => {
  api = await createTestApp();
  t = await createWorkflowTenant(api, { unlimited: true });
});
afterAll(() => api.close());

type Graph = { nodes: ApiNode[]; connections: ApiConnection[] };
const graphError = (nodeId: string | null, extra: Partial<Record<"fields" | "connectionId" | "reference", unknown>> = {}) => ({
  nodeId,
  fields: [],
  connectionId: null,
  reference: null,
  ...extra,
});

/** Every way a graph can be invalid, the 422 it answers, and where it says the problem is. */
const cases: [string, Graph, string, ReturnType<typeof graphError>, string][] = [
  [
    "an unknown node type",
    chain(start(), node("mystery", "teleport"), end({})),
    "UNKNOWN_NODE_TYPE",
    graphError("mystery"),
    'Node "mystery" has the unknown type "teleport".',
  ],
  [
    "a config that does not fit its type",
    chain(start(), node("fetch", "http-request", { method: "FETCH" }), end({})),
    "INVALID_NODE_CONFIG",
    graphError("fetch", { fields: ["/url", "/method"] }),
    "Node \"fetch\" has an invalid config: /url must have required property 'url'; /method must be equal to one of the allowed values.",
  ],
  [
    "a connection to a node that does not exist",
    { nodes: [start(), end({})], connections: [edge("start", "end"), edge("start", "ghost")] },
    "DANGLING_CONNECTION",
    graphError("start", { connectionId: "start-source-ghost" }),
    'Connection "start-source-ghost" is dangling: node "ghost" does not exist.',
  ],
  [
    "a cycle",
    {
      nodes: [start(), node("a", "template", { template: "a" }), node("b", "template", { template: "b" }), end({})],
      connections: [edge("start", "a"), edge("a", "b"), edge("b", "a"), edge("b", "end")],
    },
    "GRAPH_CYCLE",
    graphError("a"),
    'Node "a" is part of a cycle; use an iteration node to repeat steps.',
  ],
  [
    "a node nothing leads to",
    { nodes: [start(), end({}), node("island", "template", { template: "alone" })], connections: [edge("start", "end")] },
    "UNREACHABLE_NODE",
    graphError("island"),
    'Node "island" cannot be reached from the start node.',
  ],
  [
    "a reference to a node that is not upstream",
    {
      nodes: [
        start(),
        node("left", "template", { template: "l" }),
        node("right", "template", { template: "{{ x }}", variables: [{ name: "x", value: "{{#left.output#}}" }] }),
        end({}),
      ],
      connections: [edge("start", "left"), edge("start", "right"), edge("left", "end"), edge("right", "end")],
    },
    "VARIABLE_NOT_UPSTREAM",
    graphError("right", { reference: "{{#left.output#}}" }),
    'Node "right" refers to {{#left.output#}}, which is not produced by a node upstream of it.',
  ],
  ["no start node", { nodes: [end({})], connections: [] }, "MISSING_START_NODE", graphError(null), "The graph has no start node."],
  [
    "two start nodes",
    { nodes: [start(), node("again", "start", { variables: [] })], connections: [] },
    "MULTIPLE_START_NODES",
    graphError("again"),
    'Node "again" is a second start node; a graph has exactly one.',
  ],
  [
    "two nodes with one id",
    { nodes: [start(), end({}), end({}, "end")], connections: [edge("start", "end")] },
    "DUPLICATE_NODE_ID",
    graphError("end"),
    'Node id "end" is used more than once.',
  ],
];

describe("graph validation through the API", () => {
  const named = cases.map(([name, graph, code, detail, text]) => [name, code, graph, detail, text] as const);
  it.each(named)("refuses %s with 422 %s naming the node, on create and on update", async (_name, code, graph, detail, text) => {
    const created = await api.call("createWorkflow", { path: t.path, body: { name: "Invalid", graph }, headers: t.owner.headers });
    expect(created.status).toBe(422);
    expect(created.body).toEqual({
      code,
      message: { "en-US": text, "zh-CN": expect.any(String) },
      data: null,
      requestId: anyRequestId,
      graphError: detail,
    });

    const valid = await api.call("createWorkflow", { path: t.path, body: { name: "Valid" }, headers: t.owner.headers });
    const path = { ...t.path, workflowId: dataOf<{ id: string }>(valid).id };
    const updated = await api.call("updateWorkflow", { path, body: { name: "Renamed", graph }, headers: t.owner.headers });
    expect(updated.status).toBe(422);
    expect(updated.body).toMatchObject({ code, graphError: detail });
    const unchanged = dataOf<{ name: string; graph: { nodes: { id: string }[] } }>(
      await api.call("getWorkflow", { path, headers: t.owner.headers }),
    );
    expect([unchanged.name, unchanged.graph.nodes.map((n) => n.id)]).toEqual(["Valid", ["start"]]);
    await api.call("archiveWorkflow", { path, headers: t.owner.headers });
  });

  it("answers in Chinese for zh-CN", async () => {
    const res = await api.call("createWorkflow", {
      path: t.path,
      body: { name: "Invalid", graph: { nodes: [end({})], connections: [] } },
      headers: { ...t.owner.headers, "accept-language": "zh-CN" },
    });
    expect(res.body).toMatchObject({ code: "MISSING_START_NODE", message: { "zh-CN": "图中缺少开始节点。" } });
  });

  it("validates the draft again on publish (a node type can change between releases)", async () => {
    const created = await api.call("createWorkflow", {
      path: t.path,
      body: { name: "Drifted", graph: chain(start(), node("shout", "template", { template: "hi" }), end({ out: "{{#shout.output#}}" })) },
      headers: t.owner.headers,
    });
    const workflowId = dataOf<{ id: string }>(created).id;
    // As if the template node had been withdrawn since the draft was saved.
    await api.db
      .updateTable("nodes")
      .set({ type_version: 9 })
      .where("workflow_id", "=", workflowId)
      .where("node_id", "=", "shout")
      .execute();
    const res = await api.call("publishWorkflow", { path: { ...t.path, workflowId }, body: {}, headers: t.owner.headers });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      code: "UNKNOWN_NODE_TYPE",
      message: { "en-US": 'Node "shout" uses version 9 of "template", which has versions 1.', "zh-CN": expect.any(String) },
      data: null,
      requestId: anyRequestId,
      graphError: graphError("shout"),
    });
    await api.call("archiveWorkflow", { path: { ...t.path, workflowId }, headers: t.owner.headers });
  });
});
