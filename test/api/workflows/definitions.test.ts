import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { dataOf } from "../../fixtures.ts";
import { chain, createWorkflowTenant, edge, end, iso, node, start, uuid, type WorkflowTenant } from "./support.ts";

let api: TestApp;
let t: WorkflowTenant;
beforeAll(async () => {
  api = await createTestApp();
  t = await createWorkflowTenant(api, { roles: true, unlimited: true });
});
afterAll(() => api.close());

const OK = { "en-US": "OK", "zh-CN": "成功" };
const echoGraph = () =>
  chain(
    start([{ name: "text", type: "text-input", required: true }]),
    node(
      "shout",
      "template",
      { template: "{{ text | upper }}!", variables: [{ name: "text", value: "{{#start.text#}}" }] },
      { title: "Shout" },
    ),
    end({ result: "{{#shout.output#}}" }),
  );

async function create(body: Record<string, unknown>, headers = t.editor.headers) {
  return api.call("createWorkflow", { path: t.path, body, headers });
}

describe("workflow definitions", () => {
  it("creates a workflow with its draft graph, read back exactly as saved with the defaults filled in", async () => {
    const res = await create({ name: " Echo ", description: "Shouts back", graph: echoGraph() });
    expect(res.status).toBe(201);
    const summary = {
      id: uuid,
      workspaceId: t.workspaceId,
      name: "Echo",
      description: "Shouts back",
      latestVersion: null,
      archivedAt: null,
      createdBy: t.editor.id,
      createdAt: iso,
      updatedAt: iso,
    };
    const graph = {
      nodes: [
        {
          id: "start",
          type: "start",
          typeVersion: 1,
          errorStrategy: "fail",
          config: { variables: [{ name: "text", type: "text-input", required: true }] },
        },
        {
          id: "shout",
          type: "template",
          typeVersion: 1,
          title: "Shout",
          errorStrategy: "fail",
          config: { template: "{{ text | upper }}!", variables: [{ name: "text", value: "{{#start.text#}}" }] },
        },
        {
          id: "end",
          type: "end",
          typeVersion: 1,
          errorStrategy: "fail",
          config: { outputs: [{ name: "result", value: "{{#shout.output#}}" }] },
        },
      ],
      connections: [
        { id: "start-source-shout", sourceNodeId: "start", sourceHandle: "source", targetNodeId: "shout", targetHandle: "target" },
        { id: "shout-source-end", sourceNodeId: "shout", sourceHandle: "source", targetNodeId: "end", targetHandle: "target" },
      ],
    };
    expect(res.body).toEqual({ code: "OK", message: OK, data: { ...summary, graph }, requestId: anyRequestId });
    const id = dataOf<{ id: string }>(res).id;
    const read = await api.call("getWorkflow", { path: { ...t.path, workflowId: id }, headers: t.member.headers });
    expect(read.body).toEqual({ code: "OK", message: OK, data: { ...summary, id, graph }, requestId: anyRequestId });
  });

  it("starts a workflow created without a graph from a lone start node", async () => {
    const res = await create({ name: "Blank" });
    expect(dataOf<{ graph: unknown }>(res).graph).toEqual({
      nodes: [{ id: "start", type: "start", typeVersion: 1, title: "Start", errorStrategy: "fail", config: { variables: [] } }],
      connections: [],
    });
  });

  it("keeps the optional node fields it was given: position, retry, timeout, error strategy and default value", async () => {
    const shaped = node(
      "fetch",
      "http-request",
      { url: "https://example.com" },
      {
        position: { x: 10.5, y: -3 },
        retry: { maxAttempts: 3, intervalMs: 100 },
        timeoutMs: 5000,
        errorStrategy: "default_value",
        defaultValue: { body: "" },
      },
    );
    const res = await create({ name: "Shaped", graph: chain(start(), shaped) });
    expect(res.status).toBe(201);
    expect(dataOf<{ graph: { nodes: unknown[] } }>(res).graph.nodes[1]).toEqual({ ...shaped, typeVersion: 1 });
  });

  it("replaces the draft on update, and renames", async () => {
    const id = dataOf<{ id: string }>(await create({ name: "Before", graph: echoGraph() })).id;
    const graph = chain(start(), end({ constant: "fixed" }));
    const res = await api.call("updateWorkflow", {
      path: { ...t.path, workflowId: id },
      body: { name: "After", graph },
      headers: t.editor.headers,
    });
    expect(res.status).toBe(200);
    expect(dataOf(res)).toMatchObject({ id, name: "After", description: "", graph: { connections: [graph.connections[0]] } });
    const renamed = await api.call("updateWorkflow", {
      path: { ...t.path, workflowId: id },
      body: { description: "d" },
      headers: t.editor.headers,
    });
    expect(dataOf(renamed)).toMatchObject({ name: "After", description: "d", graph: { nodes: [{ id: "start" }, { id: "end" }] } });
  });

  it("publishes immutable, numbered versions with notes, and lists them newest first", async () => {
    const created = dataOf<{ id: string; graph: unknown }>(await create({ name: "Versioned", graph: echoGraph() }));
    const id = created.id;
    const path = { ...t.path, workflowId: id };
    const first = await api.call("publishWorkflow", { path, body: { note: "first" }, headers: t.editor.headers });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      code: "OK",
      message: OK,
      data: { id: uuid, workflowId: id, version: 1, note: "first", publishedBy: t.editor.id, publishedAt: iso, graph: created.graph },
      requestId: anyRequestId,
    });
    const v1 = dataOf<{ id: string; graph: unknown }>(first);

    await api.call("updateWorkflow", { path, body: { graph: chain(start(), end({ changed: "yes" })) }, headers: t.editor.headers });
    const second = dataOf<{ id: string; version: number; note: string }>(
      await api.call("publishWorkflow", { path, body: {}, headers: t.editor.headers }),
    );
    expect([second.version, second.note]).toEqual([2, ""]);

    const again = dataOf<{ graph: unknown }>(
      await api.call("getWorkflowVersion", { path: { ...path, versionId: v1.id }, headers: t.member.headers }),
    );
    expect(again.graph).toEqual(v1.graph);
    expect(JSON.stringify(again.graph)).toContain("shout");

    const list = dataOf<{ items: { version: number }[]; nextCursor: string | null }>(
      await api.call("listWorkflowVersions", { path, query: { limit: 1 }, headers: t.member.headers }),
    );
    expect(list.items.map((v) => v.version)).toEqual([2]);
    const next = dataOf<{ items: { version: number }[]; nextCursor: string | null }>(
      await api.call("listWorkflowVersions", { path, query: { limit: 1, cursor: list.nextCursor! }, headers: t.member.headers }),
    );
    expect(next).toEqual({ items: [expect.objectContaining({ version: 1, note: "first" })], nextCursor: null });
    expect(dataOf(await api.call("getWorkflow", { path, headers: t.member.headers }))).toMatchObject({ latestVersion: 2 });
  });

  it("archives a workflow: it leaves the list and refuses changes, publishing and runs", async () => {
    const id = dataOf<{ id: string }>(await create({ name: "Old", graph: echoGraph() })).id;
    const path = { ...t.path, workflowId: id };
    const archived = await api.call("archiveWorkflow", { path, headers: t.editor.headers });
    expect(dataOf(archived)).toMatchObject({ id, archivedAt: iso });
    expect((await api.call("archiveWorkflow", { path, headers: t.editor.headers })).status).toBe(200);

    const live = dataOf<{ items: { id: string }[] }>(await api.call("listWorkflows", { path: t.path, headers: t.member.headers }));
    expect(live.items.map((w) => w.id)).not.toContain(id);
    const all = dataOf<{ items: { id: string }[] }>(
      await api.call("listWorkflows", { path: t.path, query: { includeArchived: true, limit: 100 }, headers: t.member.headers }),
    );
    expect(all.items.map((w) => w.id)).toContain(id);

    for (const res of [
      await api.call("updateWorkflow", { path, body: { name: "x" }, headers: t.editor.headers }),
      await api.call("publishWorkflow", { path, body: {}, headers: t.editor.headers }),
      await api.call("runWorkflow", { path, body: { inputs: {} }, headers: t.editor.headers }),
    ]) {
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        code: "ARCHIVED",
        message: { "en-US": "This workflow is archived.", "zh-CN": "该工作流已归档。" },
        data: null,
        requestId: anyRequestId,
      });
    }
  });

  it("lets members read and refuses them changes with 403; editors change", async () => {
    const refused = await create({ name: "Nope" }, t.member.headers);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "FORBIDDEN", data: null });
    expect((await api.call("listWorkflows", { path: t.path, headers: t.member.headers })).status).toBe(200);
    const settings = await api.call("updateWorkflowSettings", {
      path: t.path,
      body: { allowPrivateNetwork: true },
      headers: t.editor.headers,
    });
    expect(settings.status).toBe(403);
  });

  it("answers 404 for a workflow of another workspace and for unknown ids", async () => {
    const other = await createWorkflowTenant(api);
    const theirs = dataOf<{ id: string }>(
      await api.call("createWorkflow", { path: other.path, body: { name: "Theirs" }, headers: other.owner.headers }),
    ).id;
    const res = await api.call("getWorkflow", { path: { ...t.path, workflowId: theirs }, headers: t.owner.headers });
    expect(res.body).toEqual({
      code: "NOT_FOUND",
      message: { "en-US": "No such workflow.", "zh-CN": "工作流不存在。" },
      data: null,
      requestId: anyRequestId,
    });
    expect(res.status).toBe(404);
  });

  it("writes an audit entry for each change", async () => {
    const id = dataOf<{ id: string }>(await create({ name: "Audited", graph: echoGraph() })).id;
    const path = { ...t.path, workflowId: id };
    await api.call("updateWorkflow", { path, body: { name: "Audited 2" }, headers: t.editor.headers });
    const version = dataOf<{ id: string }>(await api.call("publishWorkflow", { path, body: { note: "n" }, headers: t.editor.headers }));
    await api.call("archiveWorkflow", { path, headers: t.editor.headers });
    const rows = await api.db
      .selectFrom("audit_logs")
      .select(["action", "target_id", "actor_user_id", "workspace_id"])
      .where("target_id", "in", [id, version.id])
      .orderBy("id")
      .execute();
    expect(rows).toEqual(
      ["workflow.create", "workflow.update", "workflow_version.publish", "workflow.archive"].map((action) => ({
        action,
        target_id: action.startsWith("workflow_version") ? version.id : id,
        actor_user_id: t.editor.id,
        workspace_id: t.workspaceId,
      })),
    );
  });

  it("stores the workspace's workflow settings, private network off by default", async () => {
    const fresh = await createWorkflowTenant(api);
    const read = await api.call("getWorkflowSettings", { path: fresh.path, headers: fresh.owner.headers });
    expect(read.body).toEqual({ code: "OK", message: OK, data: { allowPrivateNetwork: false, updatedAt: null }, requestId: anyRequestId });
    const changed = await api.call("updateWorkflowSettings", {
      path: fresh.path,
      body: { allowPrivateNetwork: true },
      headers: fresh.owner.headers,
    });
    expect(dataOf(changed)).toEqual({ allowPrivateNetwork: true, updatedAt: iso });
    expect(dataOf(await api.call("getWorkflowSettings", { path: fresh.path, headers: fresh.owner.headers }))).toEqual({
      allowPrivateNetwork: true,
      updatedAt: iso,
    });
  });
});

describe("the workflows quota", () => {
  const graph = () => ({ nodes: [start()], connections: [] as ReturnType<typeof edge>[] });

  it("allows the free plan's 5 live workflows, refuses the 6th with 429, and counts archived ones out", async () => {
    const q = await createWorkflowTenant(api);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api.call("createWorkflow", { path: q.path, body: { name: `W${i}`, graph: graph() }, headers: q.owner.headers });
      expect(res.status).toBe(201);
      ids.push(dataOf<{ id: string }>(res).id);
    }
    const refused = await api.call("createWorkflow", { path: q.path, body: { name: "W5" }, headers: q.owner.headers });
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      code: "QUOTA_EXCEEDED",
      message: {
        "en-US": "This would exceed the workflows quota: 5 of 5 workflows used, 1 more asked.",
        "zh-CN": "超出配额 workflows：已用 5 / 5 workflows，本次请求 1。",
      },
      data: null,
      requestId: expect.any(String),
      quota: { metric: "workflows", unit: "workflows", limit: 5, used: 5, requested: 1, resetsAt: null },
    });
    await api.call("archiveWorkflow", { path: { ...q.path, workflowId: ids[0]! }, headers: q.owner.headers });
    expect((await api.call("createWorkflow", { path: q.path, body: { name: "W5" }, headers: q.owner.headers })).status).toBe(201);
  });

  it.runIf(inject("testDatabase").kind === "postgres")("lets exactly 5 of 12 concurrent creates through on native Postgres", async () => {
    const q = await createWorkflowTenant(api);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api.call("createWorkflow", { path: q.path, body: { name: `Race ${i}`, graph: graph() }, headers: q.owner.headers }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([...Array(5).fill(201), ...Array(7).fill(429)]);
    const live = await api.db
      .selectFrom("workflows")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("organization_id", "=", q.organizationId)
      .where("archived_at", "is", null)
      .executeTakeFirstOrThrow();
    expect(Number(live.n)).toBe(5);
  });
});
