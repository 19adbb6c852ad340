import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import type { TestApp } from "../../harness.ts";
import { addMember, createTenant, dataOf, type TestTenant, type TestUser } from "../../fixtures.ts";

/** A node as the API takes it. */
export interface ApiNode {
  id: string;
  type: string;
  config: Record<string, unknown>;
  title?: string;
  typeVersion?: number;
  errorStrategy?: "fail" | "error_branch" | "default_value";
  retry?: { maxAttempts: number; intervalMs: number };
  timeoutMs?: number;
  defaultValue?: Record<string, unknown>;
  position?: { x: number; y: number };
}

/** A connection as the API takes it. */
export interface ApiConnection {
  id?: string;
  sourceNodeId: string;
  sourceHandle?: string;
  targetNodeId: string;
  targetHandle?: string;
}

export const node = (id: string, type: string, config: Record<string, unknown> = {}, extra: Partial<ApiNode> = {}): ApiNode => ({
  id,
  type,
  config,
  ...extra,
});

export const edge = (from: string, to: string, handle = "source"): ApiConnection => ({
  id: `${from}-${handle}-${to}`,
  sourceNodeId: from,
  sourceHandle: handle,
  targetNodeId: to,
  targetHandle: "target",
});

/** A node of an iteration's sub-graph (`config.graph`), which the engine takes whole: every field given. */
export const innerNode = (id: string, type: string, config: Record<string, unknown> = {}, title = id) => ({
  id,
  type,
  typeVersion: 1,
  title,
  config,
  position: { x: 0, y: 0 },
});

/** A connection of an iteration's sub-graph. */
export const innerEdge = (from: string, to: string) => ({
  sourceNodeId: from,
  sourceHandle: "source",
  targetNodeId: to,
  targetHandle: "target",
});

/** The usual start node. */
export const start = (variables: Record<string, unknown>[] = []) => node("start", "start", { variables });

/** An end node whose outputs are `{ name: reference }`. */
export const end = (outputs: Record<string, string>, id = "end") =>
  node(id, "end", { outputs: Object.entries(outputs).map(([name, value]) => ({ name, value })) });

/** A graph of nodes chained in order (each to the next). */
export function chain(...nodes: ApiNode[]) {
  return { nodes, connections: nodes.slice(1).map((n, i) => edge(nodes[i]!.id, n.id)) };
}

/** A workspace whose owner (an admin of its root team) builds workflows; `editor` and `member` are team members. */
export interface WorkflowTenant extends TestTenant {
  editor: TestUser;
  member: TestUser;
  path: { workspaceId: string };
}

/** The enterprise plan of the default catalogue: no limit on workflows or runs. */
const ENTERPRISE_MONTHLY = "0190b6a0-0000-7000-8000-000000000006";

/**
 * A tenant for workflow tests. `unlimited` moves it to the enterprise plan (set in the database: the
 * plan is not what these tests are about), so suites that build many workflows are not stopped by
 * the free plan's 5.
 */
export async function createWorkflowTenant(
  api: TestApp,
  options: { allowPrivateNetwork?: boolean; roles?: boolean; unlimited?: boolean } = {},
) {
  const tenant = await createTenant(api);
  if (options.unlimited) {
    await api.db
      .updateTable("subscriptions")
      .set({ plan_id: ENTERPRISE_MONTHLY })
      .where("organization_id", "=", tenant.organizationId)
      .execute();
  }
  const editor = options.roles ? await addMember(api, tenant.owner, tenant.rootTeamId, "editor") : tenant.owner;
  const member = options.roles ? await addMember(api, tenant.owner, tenant.rootTeamId, "member") : tenant.owner;
  const path = { workspaceId: tenant.workspaceId };
  if (options.allowPrivateNetwork) {
    const res = await api.call("updateWorkflowSettings", { path, body: { allowPrivateNetwork: true }, headers: tenant.owner.headers });
    expect(res.status).toBe(200);
  }
  return { ...tenant, editor, member, path } satisfies WorkflowTenant;
}

/** Creates a workflow with `graph` and publishes it; answers its id. */
export async function publishedWorkflow(api: TestApp, t: WorkflowTenant, graph: { nodes: ApiNode[]; connections: ApiConnection[] }) {
  const created = await api.call("createWorkflow", { path: t.path, body: { name: "Flow", graph }, headers: t.owner.headers });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const workflowId = dataOf<{ id: string }>(created).id;
  const published = await api.call("publishWorkflow", { path: { ...t.path, workflowId }, body: { note: "v1" }, headers: t.owner.headers });
  expect(published.status, JSON.stringify(published.body)).toBe(201);
  return workflowId;
}

/** A node run as `getWorkflowRun` answers it. */
export interface RunNode {
  id: string;
  nodeId: string;
  nodeType: string;
  title: string;
  index: number | null;
  status: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  error: { type: string; message: string } | null;
  recovery: string | null;
  attempt: number;
  tokens: number;
  elapsedMs: number;
  startedAt: string;
  finishedAt: string;
  iteration: { nodeId: string; index: number } | null;
}

/** A run as `getWorkflowRun` answers it. */
export interface Run {
  id: string;
  workflowId: string;
  version: number;
  status: string;
  error: { type: string; message: string } | null;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  totalSteps: number;
  totalTokens: number;
  elapsedMs: number | null;
  responseMode: string;
  startedAt: string;
  finishedAt: string | null;
  createdBy: string | null;
  nodes: RunNode[];
}

/** Runs the latest version, blocking; answers the run. */
export async function runBlocking(api: TestApp, t: WorkflowTenant, workflowId: string, inputs: Record<string, unknown> = {}) {
  const res = await api.call("runWorkflow", { path: { ...t.path, workflowId }, body: { inputs }, headers: t.owner.headers });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return dataOf<Run>(res);
}

/** The run as `getWorkflowRun` reads it back. */
export async function readRun(api: TestApp, t: WorkflowTenant, workflowId: string, runId: string) {
  const res = await api.call("getWorkflowRun", { path: { ...t.path, workflowId, runId }, headers: t.owner.headers });
  expect(res.status).toBe(200);
  return dataOf<Run>(res);
}

/** One node's record of a run. */
export function nodeOf(run: Run, nodeId: string): RunNode {
  const found = run.nodes.find((n) => n.nodeId === nodeId);
  if (!found) throw new Error(`no record of node ${nodeId} in ${JSON.stringify(run.nodes.map((n) => n.nodeId))}`);
  return found;
}

/**
 * A real HTTP server on 127.0.0.1 (a fake of the world outside, which we do not own):
 * `/delay?ms=N` answers `{ ok: true, path }` after N ms; `/flaky?key=K&fail=N` drops the
 * connection for the first N requests of key K; `/hang` never answers; `/big?bytes=N` sends N bytes.
 */
export async function startFakeServer() {
  const hits = new Map<string, number>();
  const received: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    received.push(url.pathname + url.search);
    if (url.pathname === "/delay") {
      setTimeout(
        () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, path: url.search })),
        Number(url.searchParams.get("ms") ?? 0),
      );
    } else if (url.pathname === "/flaky") {
      const key = url.searchParams.get("key") ?? "";
      const count = (hits.get(key) ?? 0) + 1;
      hits.set(key, count);
      if (count <= Number(url.searchParams.get("fail") ?? 0)) req.socket.destroy();
      else res.writeHead(200, { "content-type": "text/plain" }).end(`ok after ${count}`);
    } else if (url.pathname === "/hang") {
      // Never answers; the client's timeout or abort ends it.
    } else if (url.pathname === "/big") {
      res.writeHead(200, { "content-type": "text/plain" }).end("x".repeat(Number(url.searchParams.get("bytes") ?? 0)));
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeServer = Awaited<ReturnType<typeof startFakeServer>>;

/** Matches an RFC 3339 instant with milliseconds. */
export const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
export const uuid = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
