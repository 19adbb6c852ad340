import type { AbortSwitch } from "./abort-switch.ts";
import type { CompiledNode } from "./compile.ts";
import { toNodeFailure } from "./errors.ts";
import { attemptNode } from "./node-attempt.ts";
import type { GraphEnv } from "./run-state.ts";
import {
  DEFAULT_SOURCE_HANDLE,
  ERROR_HANDLE,
  type NodeFailure,
  type NodeOutcome,
  type NodeRunResult,
  type SubgraphRunner,
} from "./types.ts";

/** How a node ended, for the scheduler: the result to record and the handle whose edges are taken. */
export interface NodeRunEnd {
  node: CompiledNode;
  result: NodeRunResult;
  /** null: no outgoing edge is taken. */
  handle: string | null;
  /** Whether the outputs go into the pool (success, or a failure absorbed by error branch / default value). */
  stored: boolean;
  /** A failure under the `fail` strategy: the graph must stop. */
  fatal: boolean;
}

/** Runs one node through its attempts, timeout and error strategy. Never throws: failures are data. */
export async function runNode(node: CompiledNode, env: GraphEnv, step: number, subgraph: SubgraphRunner | null): Promise<NodeRunEnd> {
  const execution = new NodeExecution(node, env, step);
  let failure: NodeFailure;
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      const outcome = await attemptNode(node, env, execution.config, attempt, subgraph);
      const result = execution.result("succeeded", outcome.outputs, null, null, attempt, outcome);
      return execution.end(outcome.handle ?? DEFAULT_SOURCE_HANDLE, true, false, result);
    } catch (error) {
      if (env.abort.aborted) return execution.interrupted(attempt);
      failure = toNodeFailure(error);
    }
    if (attempt >= node.retry.maxAttempts) break;
    execution.retrying(failure, attempt);
    if (!(await pause(node.retry.intervalMs, env.abort))) return execution.interrupted(attempt);
    execution.nextAttempt();
  }
  if (node.errorStrategy === "error_branch") {
    const outputs = { error_message: failure.message, error_type: failure.type };
    return execution.end(ERROR_HANDLE, true, false, execution.result("failed", outputs, failure, "error_branch", attempt));
  }
  if (node.errorStrategy === "default_value") {
    const outputs = node.defaultValue as Record<string, unknown>;
    return execution.end(DEFAULT_SOURCE_HANDLE, true, false, execution.result("failed", outputs, failure, "default_value", attempt));
  }
  return execution.end(null, false, true, execution.result("failed", {}, failure, null, attempt));
}

/** One node's run from start to result: its timing, its resolved config, the result it records. */
class NodeExecution {
  readonly config: Record<string, unknown>;
  readonly #node: CompiledNode;
  readonly #env: GraphEnv;
  readonly #step: number;
  readonly #startedAt = Date.now();
  readonly #clock = performance.now();
  /** When the current attempt started: the node's start, then each retry's. */
  #attemptStartedAt = this.#startedAt;
  #attemptClock = this.#clock;

  constructor(node: CompiledNode, env: GraphEnv, step: number) {
    this.#node = node;
    this.#env = env;
    this.#step = step;
    const { run, iteration } = env;
    if (run.queue.wants("onNodeStarted")) {
      const { id: nodeId, type: nodeType, title } = node;
      void run.queue.send("onNodeStarted", { runId: run.runId, nodeId, nodeType, title, step, startedAt: this.#startedAt, iteration });
    }
    this.config = node.resolveConfig(env.pool);
  }

  result(
    status: NodeRunResult["status"],
    outputs: Record<string, unknown>,
    error: NodeFailure | null,
    recovery: NodeRunResult["recovery"],
    attempt: number,
    outcome?: NodeOutcome,
  ): NodeRunResult {
    const node = this.#node;
    return {
      runId: this.#env.run.runId,
      nodeId: node.id,
      nodeType: node.type,
      title: node.title,
      status,
      inputs: outcome?.inputs ?? this.config,
      outputs,
      error,
      recovery,
      startedAt: this.#startedAt,
      finishedAt: Date.now(),
      elapsedMs: performance.now() - this.#clock,
      tokens: outcome?.tokens ?? 0,
      attempt,
      iteration: this.#env.iteration,
    };
  }

  /** Reports a failed attempt that another will follow. */
  retrying(error: NodeFailure, attempt: number): void {
    const { run, iteration } = this.#env;
    if (!run.queue.wants("onNodeRetry")) return;
    const node = this.#node;
    void run.queue.send("onNodeRetry", {
      runId: run.runId,
      nodeId: node.id,
      nodeType: node.type,
      title: node.title,
      step: this.#step,
      inputs: this.config,
      error,
      attempt,
      startedAt: this.#attemptStartedAt,
      finishedAt: Date.now(),
      elapsedMs: performance.now() - this.#attemptClock,
      iteration,
    });
  }

  /** Marks the start of the next attempt (after the pause between attempts). */
  nextAttempt(): void {
    this.#attemptStartedAt = Date.now();
    this.#attemptClock = performance.now();
  }

  end(handle: string | null, stored: boolean, fatal: boolean, result: NodeRunResult): NodeRunEnd {
    return { node: this.#node, result, handle, stored, fatal };
  }

  /** Ended because its graph was aborted: recorded as failed with the abort's reason, nothing taken. */
  interrupted(attempt: number): NodeRunEnd {
    return this.end(null, false, false, this.result("failed", {}, toNodeFailure(this.#env.abort.reason), null, attempt));
  }
}

/** Waits between attempts; false when the graph was aborted meanwhile. */
function pause(ms: number, abort: AbortSwitch): Promise<boolean> {
  if (abort.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const listener = {
      onAbort() {
        clearTimeout(timer);
        resolve(false);
      },
    };
    const timer = setTimeout(() => {
      abort.unlisten(listener);
      resolve(true);
    }, ms);
    abort.listen(listener);
  });
}
