import { AbortSwitch, type AbortListener } from "./abort-switch.ts";
import type { CompiledGraph, CompiledNode } from "./compile.ts";
import { NodeError } from "./errors.ts";
import { runNode, type NodeRunEnd } from "./node-runner.ts";
import type { GraphEnv } from "./run-state.ts";
import type { NodeFailure, SubgraphRun, SubgraphRunner } from "./types.ts";

/** How one graph ended; `stopped` when it was aborted from outside (the run or the enclosing node). */
export interface GraphOutcome {
  status: "succeeded" | "failed" | "stopped";
  error: NodeFailure | null;
}

/**
 * Runs a compiled graph: every node whose incoming edges are all settled starts at once, up to the
 * run's concurrency. A node with at least one taken incoming edge runs; one whose incoming edges
 * were all not taken is skipped, and its outgoing edges are not taken either (as in Dify).
 */
export function runGraph(graph: CompiledGraph, env: Omit<GraphEnv, "abort">, outer: AbortSwitch): Promise<GraphOutcome> {
  return new GraphScheduler(graph, env, outer).start();
}

/** Listens to the enclosing switch (the run's, or the enclosing node's) and throws its own with it. */
class GraphScheduler implements AbortListener {
  readonly #graph: CompiledGraph;
  readonly #env: GraphEnv;
  readonly #outer: AbortSwitch;
  /** This graph's own switch: thrown with the outer one, or when a node fails here. */
  readonly #abort = new AbortSwitch();
  readonly #unsettledEdges: Int32Array;
  readonly #takenEdges: Int32Array;
  readonly #ready: number[] = [];
  #head = 0;
  #running = 0;
  #failure: NodeFailure | null = null;
  #done: ((outcome: GraphOutcome) => void) | null = null;

  constructor(graph: CompiledGraph, env: Omit<GraphEnv, "abort">, outer: AbortSwitch) {
    this.#graph = graph;
    const { run, pool, graphInputs, iteration } = env;
    this.#env = { run, pool, abort: this.#abort, graphInputs, iteration };
    this.#outer = outer;
    this.#unsettledEdges = Int32Array.from(graph.nodes, (node) => node.inDegree);
    this.#takenEdges = new Int32Array(graph.nodes.length);
  }

  start(): Promise<GraphOutcome> {
    if (this.#outer.aborted) return Promise.resolve({ status: "stopped", error: null });
    this.#outer.listen(this);
    const outcome = new Promise<GraphOutcome>((resolve) => (this.#done = resolve));
    this.#ready.push(this.#graph.entry);
    this.#pump();
    return outcome;
  }

  onAbort(reason: unknown): void {
    this.#abort.abort(reason);
  }

  #pump(): void {
    const { run } = this.#env;
    const abort = this.#abort;
    while (this.#running < run.concurrency && this.#head < this.#ready.length && !abort.aborted) {
      const node = this.#graph.nodes[this.#ready[this.#head++] as number] as CompiledNode;
      const step = run.takeStep();
      if (step === 0) break;
      this.#running++;
      const subgraph = node.subgraph ? this.#subgraphRunner(node, step) : null;
      void runNode(node, this.#env, step, subgraph).then(this.#finished);
    }
    if (this.#running === 0 && (abort.aborted || this.#head >= this.#ready.length)) this.#complete();
  }

  readonly #finished = (end: NodeRunEnd): void => {
    const { node } = end;
    this.#running--;
    this.#env.run.record(end.result);
    if (end.fatal && !this.#failure) {
      const error = end.result.error as NodeFailure;
      this.#failure = { type: error.type, message: `node "${node.title}" failed: ${error.message}` };
      this.#abort.abort(new NodeError("ABORTED", `aborted because node "${node.id}" failed`));
    }
    if (end.stored) {
      this.#env.pool.setOutputs(node.id, end.result.outputs);
      if (node.index === this.#graph.entry && this.#graph.entryAlias) this.#env.pool.setOutputs(this.#graph.entryAlias, end.result.outputs);
    }
    if (!this.#abort.aborted) this.#settleEdges(node, end.handle);
    this.#pump();
  };

  /** Settles a finished node's outgoing edges, skipping (transitively) the nodes left with no taken edge. */
  #settleEdges(from: CompiledNode, handle: string | null): void {
    const nodes = this.#graph.nodes;
    const skipped: CompiledNode[] = [];
    let current: CompiledNode | undefined = from;
    let takenHandle = handle;
    while (current) {
      for (const { target, handle: edgeHandle } of current.outgoing) {
        const taken = (this.#takenEdges[target] as number) + (edgeHandle === takenHandle ? 1 : 0);
        const unsettled = (this.#unsettledEdges[target] as number) - 1;
        this.#takenEdges[target] = taken;
        this.#unsettledEdges[target] = unsettled;
        if (unsettled !== 0) continue;
        if (taken > 0) this.#ready.push(target);
        else skipped.push(nodes[target] as CompiledNode);
      }
      current = skipped.pop();
      if (current) this.#recordSkipped(current);
      takenHandle = null;
    }
  }

  #recordSkipped(node: CompiledNode): void {
    const { run, iteration } = this.#env;
    const now = Date.now();
    run.record({
      runId: run.runId,
      nodeId: node.id,
      nodeType: node.type,
      title: node.title,
      status: "skipped",
      inputs: {},
      outputs: {},
      error: null,
      recovery: null,
      startedAt: now,
      finishedAt: now,
      elapsedMs: 0,
      tokens: 0,
      attempt: 0,
      iteration,
    });
  }

  #complete(): void {
    const done = this.#done;
    if (!done) return;
    this.#done = null;
    this.#outer.unlisten(this);
    if (this.#failure) done({ status: "failed", error: this.#failure });
    else if (this.#abort.aborted) done({ status: "stopped", error: null });
    else done({ status: "succeeded", error: null });
  }

  /** Lets a container node run its sub-graph once per item, in a child pool that reads through to this one. */
  #subgraphRunner(node: CompiledNode, step: number): SubgraphRunner {
    const graph = node.subgraph as CompiledGraph;
    return {
      run: async (scope, { index, signal }): Promise<SubgraphRun> => {
        const { run, iteration } = this.#env;
        if (run.queue.wants("onSubgraphRunStarted")) {
          const { id: nodeId, type: nodeType, title } = node;
          void run.queue.send("onSubgraphRunStarted", {
            runId: run.runId,
            nodeId,
            nodeType,
            title,
            step,
            index,
            startedAt: Date.now(),
            iteration,
          });
        }
        const pool = this.#env.pool.child();
        pool.setOutputs(node.id, scope);
        const env = { run: this.#env.run, pool, graphInputs: scope, iteration: { nodeId: node.id, index } };
        // The item's graph stops with the enclosing node's signal.
        const { abort, release } = AbortSwitch.following(signal);
        try {
          const outcome = await runGraph(graph, env, abort);
          return { status: outcome.status, error: outcome.error, variables: pool };
        } finally {
          release();
        }
      },
    };
  }
}
