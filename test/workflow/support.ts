import { setTimeout as sleep } from "node:timers/promises";
import {
  builtinNodes,
  compileWorkflow,
  createRegistry,
  defineNode,
  executeWorkflow,
  NodeError,
  type ExecuteOptions,
  type ExecutionObserver,
  type RunResult,
  type WorkflowConnection,
  type WorkflowGraph,
  type WorkflowNode,
} from "../../server/workflow/index.ts";

/** Counts attempts per node id and the peak of nodes running at once; passed as `services.probe`. */
export interface Probe {
  attempts: Map<string, number>;
  running: number;
  peak: number;
}

export function createProbe(): Probe {
  return { attempts: new Map(), running: 0, peak: 0 };
}

/**
 * A test node type: waits `ms` (honouring its signal unless `ignoreSignal`), fails its first
 * `failTimes` attempts (all of them when `failTimes` is -1), then outputs `value`.
 */
export const probeNode = defineNode<{ ms: number; failTimes: number; value?: unknown; ignoreSignal: boolean }>({
  type: "probe",
  version: 1,
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      ms: { type: "integer", minimum: 0, default: 0 },
      failTimes: { type: "integer", minimum: -1, default: 0 },
      value: {},
      ignoreSignal: { type: "boolean", default: false },
    },
  },
  async run(ctx) {
    const probe = ctx.services["probe"] as Probe | undefined;
    const attempts = (probe?.attempts.get(ctx.node.id) ?? 0) + 1;
    probe?.attempts.set(ctx.node.id, attempts);
    if (probe) probe.peak = Math.max(probe.peak, ++probe.running);
    try {
      if (ctx.config.ms > 0) await sleep(ctx.config.ms, undefined, ctx.config.ignoreSignal ? {} : { signal: ctx.signal });
      if (ctx.config.failTimes === -1 || attempts <= ctx.config.failTimes)
        throw new NodeError("PROBE_FAILED", `attempt ${attempts} failed`);
      return { outputs: { value: ctx.config.value ?? null, attempts }, tokens: 1 };
    } finally {
      if (probe) probe.running--;
    }
  },
});

export const registry = createRegistry([...builtinNodes, probeNode]);

/** A node with the envelope filled in. */
export function node(id: string, type: string, config: Record<string, unknown> = {}, extra: Partial<WorkflowNode> = {}): WorkflowNode {
  return { id, type, typeVersion: 1, title: id, config, position: { x: 0, y: 0 }, ...extra };
}

/** A connection from `from`'s `handle` to `to`. */
export function edge(from: string, to: string, handle = "source"): WorkflowConnection {
  return { id: `${from}->${to}`, sourceNodeId: from, sourceHandle: handle, targetNodeId: to, targetHandle: "target" };
}

export function graph(nodes: WorkflowNode[], connections: WorkflowConnection[]): WorkflowGraph {
  return { nodes, connections };
}

/** Compiles with the test registry and runs once. */
export function run(workflow: WorkflowGraph, options: ExecuteOptions = {}): Promise<RunResult> {
  return executeWorkflow(compileWorkflow(workflow, registry), options);
}

/** Each node's status by id (the last result when a node ran more than once). */
export function statuses(result: RunResult): Record<string, string> {
  return Object.fromEntries(result.nodes.map((entry) => [entry.nodeId, entry.status]));
}

/** The result of one node by id. */
export function resultOf(result: RunResult, nodeId: string) {
  const found = result.nodes.find((entry) => entry.nodeId === nodeId);
  if (!found) throw new Error(`no result for ${nodeId}`);
  return found;
}

/** An observer that writes each event's name and key into a list, taking `delayMs` per write. */
export function recordingObserver(delayMs = 0): ExecutionObserver & { events: string[] } {
  const events: string[] = [];
  const write = async (entry: string) => {
    if (delayMs > 0) await sleep(delayMs);
    events.push(entry);
  };
  return {
    events,
    onRunStarted: () => write("run_started"),
    onNodeStarted: (event) => write(`node_started:${event.nodeId}`),
    onNodeRetry: (event) => write(`node_retry:${event.nodeId}:${event.attempt}:${event.error.message}`),
    onSubgraphRunStarted: (event) => write(`item_started:${event.nodeId}:${event.index}`),
    onNodeFinished: (result) => write(`node_finished:${result.nodeId}:${result.status}`),
    onTextChunk: (event) => write(`text_chunk:${event.text}`),
    onRunFinished: (result) => write(`run_finished:${result.status}`),
  };
}

/** The usual start node. */
export const start = (variables: Record<string, unknown>[] = []) => node("start", "start", { variables });
