import { v7 as uuidv7 } from "uuid";
import { AbortSwitch, type AbortListener } from "./abort-switch.ts";
import type { CompiledGraph } from "./compile.ts";
import { RunState } from "./run-state.ts";
import { runGraph } from "./scheduler.ts";
import type { ExecutionObserver, NodeFailure, NodeServices, RunResult, RunStatus } from "./types.ts";
import { VariablePool } from "./variable-pool.ts";

/** How to run a compiled workflow once. */
export interface ExecuteOptions {
  /** The start node's inputs, validated by it against its declared variables. */
  inputs?: Record<string, unknown>;
  /** A v7 UUID when omitted; readable as `{{#sys.run_id#}}`. */
  runId?: string;
  /** More `sys` variables (`user_id`, `app_id`, `workflow_id`, `conversation_id`, `query`, …). */
  systemVariables?: Record<string, unknown>;
  services?: NodeServices;
  observer?: ExecutionObserver;
  /**
   * Aborting it stops the run: running nodes are aborted and the status is `stopped`. An
   * `AbortSwitch` does the same for less than an `AbortController` costs to make.
   */
  signal?: AbortSignal | AbortSwitch;
  /** Nodes running at once in one graph; each iteration item's sub-graph has its own. Default 16. */
  concurrency?: number;
  /** Node starts allowed across the run, iterations included. Default 500. */
  maxSteps?: number;
  /** Wall-clock limit of the run. Default 10 minutes. */
  timeLimitMs?: number;
  /** Timeout for nodes that set none. Default: none (nodes such as http-request bound themselves). */
  defaultNodeTimeoutMs?: number | null;
}

const DEFAULTS = { concurrency: 16, maxSteps: 500, timeLimitMs: 600_000 };

/**
 * Runs a compiled workflow and reports through the observer as it goes. Never throws for a node
 * failure, a limit or a cancellation: they are in the result. Rejects only if `onRunFinished` does.
 *
 * @example
 * const controller = new AbortController();
 * const result = await executeWorkflow(compiled, { inputs: { query }, observer: recorder, signal: controller.signal, services });
 * if (result.status === "failed") log.warn(result.error);
 */
export async function executeWorkflow(graph: CompiledGraph, options: ExecuteOptions = {}): Promise<RunResult> {
  const runId = options.runId ?? uuidv7();
  const inputs = options.inputs ?? {};
  const systemVariables = { ...options.systemVariables, run_id: runId };
  const run = new RunState({
    runId,
    services: options.services ?? {},
    observer: options.observer,
    concurrency: Math.max(1, options.concurrency ?? DEFAULTS.concurrency),
    maxSteps: options.maxSteps ?? DEFAULTS.maxSteps,
    defaultNodeTimeoutMs: options.defaultNodeTimeoutMs ?? null,
  });
  const startedAt = Date.now();
  const clock = performance.now();
  void run.queue.send("onRunStarted", { runId, inputs, systemVariables, startedAt });

  const stop: AbortListener = { onAbort: () => run.end("stopped", { type: "STOPPED", message: "the run was stopped" }) };
  const cancel = options.signal instanceof AbortSignal ? AbortSwitch.following(options.signal) : { abort: options.signal, release: null };
  cancel.abort?.listen(stop);
  const timeLimitMs = options.timeLimitMs ?? DEFAULTS.timeLimitMs;
  const timer = setTimeout(
    () => run.end("failed", { type: "RUN_TIME_LIMIT", message: `the run exceeded its time limit of ${timeLimitMs} ms` }),
    timeLimitMs,
  );

  const pool = new VariablePool(null, systemVariables);
  const outcome = await runGraph(graph, { run, pool, graphInputs: inputs, iteration: null }, run.abort);
  clearTimeout(timer);
  cancel.abort?.unlisten(stop);
  cancel.release?.();
  await run.queue.drain();

  const { status, error } = settleStatus(run, outcome.status === "failed" ? outcome.error : null);
  const result: RunResult = {
    runId,
    status,
    outputs: status === "failed" || status === "stopped" ? {} : collectRunOutputs(graph, pool),
    error,
    startedAt,
    finishedAt: Date.now(),
    elapsedMs: performance.now() - clock,
    totalTokens: run.tokens,
    totalSteps: run.steps,
    nodes: run.results,
  };
  await run.queue.finish(result);
  return result;
}

function settleStatus(run: RunState, graphFailure: NodeFailure | null): { status: RunStatus; error: NodeFailure | null } {
  if (run.ending) return run.ending;
  if (graphFailure) return { status: "failed", error: graphFailure };
  // Any failed node in a run that did not fail was absorbed by an error branch, default value or iteration.
  const absorbed = run.results.some((result) => result.status === "failed");
  return { status: absorbed ? "partial-succeeded" : "succeeded", error: null };
}

/** The outputs of the end/answer nodes that ran, merged in topological order. */
function collectRunOutputs(graph: CompiledGraph, pool: VariablePool): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const index of graph.order) {
    const node = graph.nodes[index];
    if (!node?.definition.producesRunOutputs) continue;
    const produced = pool.get([node.id]);
    if (produced && typeof produced === "object") Object.assign(outputs, produced);
  }
  return outputs;
}
