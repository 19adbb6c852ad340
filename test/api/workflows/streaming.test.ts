import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { EventSource } from "eventsource";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestApp, type TestApp } from "../../harness.ts";
import {
  createWorkflowTenant,
  edge,
  end,
  node,
  publishedWorkflow,
  readRun,
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
let server: ServerType;
let baseUrl: string;
beforeAll(async () => {
  api = await createTestApp();
  t = await createWorkflowTenant(api, { allowPrivateNetwork: true, unlimited: true });
  fake = await startFakeServer();
  // The app on a real socket, so the events travel as a real client reads them.
  await new Promise<void>((resolve) => {
    server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await fake.close();
  await api.close();
});

type Event = { event: string; data?: Record<string, unknown> } & Record<string, unknown>;

/**
 * Starts a streaming run with a real EventSource client (its fetch made a POST with our body, as
 * Dify's clients do) and gathers the events until the stream's last one. `onEvent` sees each as
 * it arrives.
 */
function streamRun(workflowId: string, inputs: Record<string, unknown>, onEvent: (event: Event, all: Event[]) => void = () => {}) {
  const events: Event[] = [];
  let headers: Headers | null = null;
  let calls = 0;
  const url = `${baseUrl}/api/v1/workspaces/${t.workspaceId}/workflows/${workflowId}/runs`;
  const done = new Promise<{ events: Event[]; headers: Headers }>((resolve, reject) => {
    const source = new EventSource(url, {
      fetch: async (input, init) => {
        // EventSource reconnects when a stream ends: a second call would start a second run.
        if (++calls > 1) throw new Error("the client tried to reconnect");
        const res = await fetch(input, {
          ...init,
          method: "POST",
          headers: { ...init.headers, ...t.owner.headers, "content-type": "application/json" },
          body: JSON.stringify({ inputs, responseMode: "streaming" }),
        });
        headers = res.headers;
        return res;
      },
    });
    source.onmessage = (message) => {
      const event = JSON.parse(message.data) as Event;
      events.push(event);
      onEvent(event, events);
      if (event.event === "workflow_finished" || event.event === "error") {
        source.close();
        resolve({ events, headers: headers! });
      }
    };
    source.onerror = (error) => {
      source.close();
      reject(new Error(`stream failed: ${String(error.message)}`));
    };
  });
  return done;
}

describe("a streaming run, read by a real SSE client", () => {
  it("sends Dify's events in order, each with the fields Dify's clients read, matching the run's records", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [
        start([{ name: "name", type: "text-input" }]),
        node("route", "if-else", { cases: [{ id: "named", conditions: [{ variable: "{{#start.name#}}", operator: "not empty" }] }] }),
        node("fetch", "http-request", { url: `${fake.url}/delay?ms=30` }),
        node("reply", "answer", { answer: "Hello {{#start.name#}}, status {{#fetch.status_code#}}." }),
        node("anonymous", "template", { template: "who?" }),
      ],
      connections: [edge("start", "route"), edge("route", "fetch", "named"), edge("route", "anonymous", "false"), edge("fetch", "reply")],
    });
    const { events, headers } = await streamRun(workflowId, { name: "Mo" });
    expect(headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    const runId = events[0]!.workflow_run_id as string;
    const ids = { task_id: runId, workflow_run_id: runId };
    const unix = expect.any(Number);
    expect(events.map((e) => (e.data && "node_id" in e.data ? `${e.event}:${String(e.data.node_id)}` : e.event))).toEqual([
      "workflow_started",
      "node_started:start",
      "node_finished:start",
      "node_started:route",
      "node_finished:route",
      "node_started:fetch",
      "node_finished:fetch",
      "node_started:reply",
      "text_chunk",
      "text_chunk",
      "text_chunk",
      "text_chunk",
      "text_chunk",
      "node_finished:reply",
      "workflow_finished",
    ]);
    expect(events[0]).toEqual({
      event: "workflow_started",
      ...ids,
      data: { id: runId, workflow_id: workflowId, version: 1, inputs: { name: "Mo" }, created_at: unix, reason: "initial" },
    });
    expect(events[5]).toEqual({
      event: "node_started",
      ...ids,
      data: {
        id: uuid,
        node_id: "fetch",
        node_type: "http-request",
        title: "fetch",
        index: 3,
        predecessor_node_id: null,
        inputs: null,
        inputs_truncated: false,
        created_at: unix,
        extras: {},
        iteration_id: null,
        iteration_index: null,
        loop_id: null,
      },
    });
    expect(events[6]).toEqual({
      event: "node_finished",
      ...ids,
      data: {
        id: (events[5]!.data as { id: string }).id,
        node_id: "fetch",
        node_type: "http-request",
        title: "fetch",
        index: 3,
        predecessor_node_id: null,
        inputs: expect.objectContaining({ method: "GET", url: `${fake.url}/delay?ms=30` }),
        inputs_truncated: false,
        process_data: null,
        process_data_truncated: false,
        outputs: expect.objectContaining({ status_code: 200 }),
        outputs_truncated: false,
        status: "succeeded",
        error: null,
        elapsed_time: expect.any(Number),
        execution_metadata: { total_tokens: 0 },
        created_at: unix,
        finished_at: unix,
        files: [],
        iteration_id: null,
        iteration_index: null,
        loop_id: null,
      },
    });
    expect(events.filter((e) => e.event === "text_chunk")).toEqual(
      ["Hello ", "Mo", ", status ", "200", "."].map((text) => ({
        event: "text_chunk",
        ...ids,
        data: { text, from_variable_selector: ["reply", "answer"] },
      })),
    );
    expect(events.at(-1)).toEqual({
      event: "workflow_finished",
      ...ids,
      data: {
        id: runId,
        workflow_id: workflowId,
        status: "succeeded",
        outputs: { answer: "Hello Mo, status 200." },
        error: null,
        elapsed_time: expect.any(Number),
        total_tokens: 0,
        total_steps: 4,
        created_at: unix,
        finished_at: unix,
        exceptions_count: 0,
        files: [],
        created_by: { id: t.owner.id },
      },
    });

    // The stream and the records tell the same story: the same execution ids, and the skipped node kept.
    const run = await readRun(api, t, workflowId, runId);
    expect(run.status).toBe("succeeded");
    const streamed = events.filter((e) => e.event === "node_finished").map((e) => [e.data!.node_id, e.data!.id]);
    expect(run.nodes.filter((n) => n.status !== "skipped").map((n) => [n.nodeId, n.id])).toEqual(streamed);
    expect(run.nodes.find((n) => n.nodeId === "anonymous")?.status).toBe("skipped");
  });

  it("reports an absorbed failure as `exception`, and a node cut short by a stop as `stopped`", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [
        start(),
        node(
          "broken",
          "code",
          { code: "function main() { throw new Error('x') }" },
          { errorStrategy: "default_value", defaultValue: { v: 1 } },
        ),
        node("wait", "http-request", { url: `${fake.url}/hang?stream=1`, timeoutMs: 20000 }),
      ],
      connections: [edge("start", "broken"), edge("broken", "wait")],
    });
    const { events } = await streamRun(workflowId, {}, (event) => {
      if (event.event === "node_started" && event.data?.node_id === "wait") {
        void api.call("stopWorkflowRun", {
          path: { ...t.path, workflowId, runId: event.workflow_run_id as string },
          headers: t.owner.headers,
        });
      }
    });
    const finished = events.filter((e) => e.event === "node_finished").map((e) => [e.data!.node_id, e.data!.status, e.data!.error]);
    expect(finished).toEqual([
      ["start", "succeeded", null],
      ["broken", "exception", "Error: x"],
      ["wait", "stopped", "the run was stopped"],
    ]);
    expect(events.at(-1)!.data).toMatchObject({ status: "stopped", error: "the run was stopped", exceptions_count: 1, outputs: {} });
  });

  it("sends `node_retry` for each failed attempt that another follows, then one `node_finished`", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [
        start(),
        node("fetch", "http-request", { url: `${fake.url}/flaky?key=stream-retry&fail=2` }, { retry: { maxAttempts: 3, intervalMs: 20 } }),
      ],
      connections: [edge("start", "fetch")],
    });
    const { events } = await streamRun(workflowId, {});
    const runId = events[0]!.workflow_run_id as string;
    const ofFetch = events.filter((e) => e.data?.node_id === "fetch");
    expect(ofFetch.map((e) => [e.event, e.data!.status ?? null, e.data!.retry_index ?? null])).toEqual([
      ["node_started", null, null],
      ["node_retry", "retry", 0],
      ["node_retry", "retry", 1],
      ["node_finished", "succeeded", null],
    ]);
    const executionId = ofFetch[0]!.data!.id;
    expect(ofFetch[1]).toEqual({
      event: "node_retry",
      task_id: runId,
      workflow_run_id: runId,
      data: {
        id: executionId,
        node_id: "fetch",
        node_type: "http-request",
        title: "fetch",
        index: 2,
        predecessor_node_id: null,
        inputs: expect.objectContaining({ method: "GET", url: `${fake.url}/flaky?key=stream-retry&fail=2` }),
        inputs_truncated: false,
        process_data: null,
        process_data_truncated: false,
        outputs: null,
        outputs_truncated: false,
        status: "retry",
        error: expect.any(String),
        elapsed_time: expect.any(Number),
        execution_metadata: { total_tokens: 0 },
        created_at: expect.any(Number),
        finished_at: expect.any(Number),
        retry_index: 0,
        files: [],
        iteration_id: null,
        iteration_index: null,
        loop_id: null,
      },
    });
    expect(ofFetch[3]!.data).toMatchObject({ id: executionId, outputs: { body: "ok after 3" } });
    // The records keep the one execution, with the attempt that succeeded.
    const run = await readRun(api, t, workflowId, runId);
    expect(run.nodes.filter((n) => n.nodeId === "fetch").map((n) => [n.id, n.attempt, n.status])).toEqual([[executionId, 3, "succeeded"]]);
  });

  it("wraps an iteration's items in `iteration_started`, `iteration_next` per item and `iteration_completed`", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [
        start([{ name: "items", type: "array" }]),
        node("loop", "iteration", {
          iteratorSelector: "{{#start.items#}}",
          outputSelector: "{{#pick.output#}}",
          graph: {
            nodes: [
              innerNode("item_start", "start", {}, "item"),
              innerNode("pick", "variable-aggregator", { variables: ["{{#loop.item#}}"] }),
            ],
            connections: [innerEdge("item_start", "pick")],
          },
        }),
        end({ picked: "{{#loop.output#}}" }),
      ],
      connections: [edge("start", "loop"), edge("loop", "end")],
    });
    const { events } = await streamRun(workflowId, { items: ["a", "b"] });
    const runId = events[0]!.workflow_run_id as string;
    const ids = { task_id: runId, workflow_run_id: runId };
    const label = (e: Event) => {
      const data = e.data ?? {};
      if (e.event === "iteration_next") return `iteration_next:${String(data.index)}`;
      if (!("node_id" in data)) return e.event;
      return `${e.event}:${String(data.node_id)}${data.iteration_index == null ? "" : `[${String(data.iteration_index)}]`}`;
    };
    expect(events.map(label)).toEqual([
      "workflow_started",
      "node_started:start",
      "node_finished:start",
      "node_started:loop",
      "iteration_started:loop",
      "iteration_next:0",
      "node_started:item_start[0]",
      "node_finished:item_start[0]",
      "node_started:pick[0]",
      "node_finished:pick[0]",
      "iteration_next:1",
      "node_started:item_start[1]",
      "node_finished:item_start[1]",
      "node_started:pick[1]",
      "node_finished:pick[1]",
      "iteration_completed:loop",
      "node_finished:loop",
      "node_started:end",
      "node_finished:end",
      "workflow_finished",
    ]);
    const loopId = events[3]!.data!.id;
    const unix = expect.any(Number);
    const loop = { id: loopId, node_id: "loop", node_type: "iteration", title: "loop" };
    expect(events[4]).toEqual({
      event: "iteration_started",
      ...ids,
      data: { ...loop, created_at: unix, inputs: null, inputs_truncated: false, metadata: {}, extras: {} },
    });
    expect(events[10]).toEqual({ event: "iteration_next", ...ids, data: { ...loop, index: 1, created_at: unix, extras: {} } });
    expect(events[15]).toEqual({
      event: "iteration_completed",
      ...ids,
      data: {
        ...loop,
        outputs: { output: ["a", "b"] },
        outputs_truncated: false,
        inputs: { items: ["a", "b"] },
        inputs_truncated: false,
        status: "succeeded",
        error: null,
        elapsed_time: expect.any(Number),
        total_tokens: 0,
        execution_metadata: { total_tokens: 0 },
        created_at: unix,
        finished_at: unix,
        steps: 2,
        extras: {},
      },
    });
    expect(events[16]!.data).toMatchObject({ id: loopId, status: "succeeded" });
    expect(events.at(-1)!.data).toMatchObject({ status: "succeeded", outputs: { picked: ["a", "b"] } });
  });

  it("pings every 10 seconds while the run goes", async () => {
    const workflowId = await publishedWorkflow(api, t, {
      nodes: [start(), node("wait", "http-request", { url: `${fake.url}/hang?ping=1`, timeoutMs: 60000 })],
      connections: [edge("start", "wait")],
    });
    // Only intervals are faked: the run, the database and the sockets keep real time.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let pings = 0;
    const { events } = await streamRun(workflowId, {}, (event, all) => {
      if (event.event === "node_started" && event.data?.node_id === "wait") {
        vi.advanceTimersByTime(9_999);
        setTimeout(() => {
          pings = all.filter((e) => e.event === "ping").length;
          vi.advanceTimersByTime(1);
        }, 50);
      }
      if (event.event === "ping") {
        void api.call("stopWorkflowRun", {
          path: { ...t.path, workflowId, runId: all[0]!.workflow_run_id as string },
          headers: t.owner.headers,
        });
      }
    });
    expect(pings).toBe(0);
    expect(events.filter((e) => e.event === "ping")).toEqual([{ event: "ping" }]);
    expect(events.at(-1)).toMatchObject({ event: "workflow_finished", data: { status: "stopped" } });
  });
});
