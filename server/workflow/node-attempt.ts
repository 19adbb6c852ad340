import type { CompiledNode } from "./compile.ts";
import { NodeError } from "./errors.ts";
import type { AbortListener } from "./abort-switch.ts";
import type { GraphEnv } from "./run-state.ts";
import type { NodeContext, NodeOutcome, SubgraphRunner, VariableReader } from "./types.ts";

/**
 * One call of a node's `run`. A node that returns synchronously is done at once; one that returns
 * a promise is raced against its timeout and the graph's abort, so a node that ignores its signal
 * still ends on time.
 */
export function attemptNode(
  node: CompiledNode,
  env: GraphEnv,
  config: Record<string, unknown>,
  attempt: number,
  subgraph: SubgraphRunner | null,
): NodeOutcome | Promise<NodeOutcome> {
  if (env.abort.aborted) throw env.abort.reason;
  const ctx = new AttemptContext(node, env, config, attempt, subgraph);
  const returned = node.definition.run(ctx);
  if (!(returned instanceof Promise)) return checkOutcome(returned);
  return ctx.race(returned, node.timeoutMs ?? env.run.defaultNodeTimeoutMs);
}

/**
 * The context `run` sees. Its AbortSignal is made only when the node reads it: creating one costs
 * microseconds, more than all the rest of a no-op node's bookkeeping. Methods live on the class
 * rather than in per-node closures for the same reason.
 */
class AttemptContext implements NodeContext, AbortListener {
  readonly node: NodeContext["node"];
  readonly config: Record<string, unknown>;
  readonly variables: VariableReader;
  readonly graphInputs: Readonly<Record<string, unknown>>;
  readonly runId: string;
  readonly attempt: number;
  readonly services: NodeContext["services"];
  readonly subgraph: SubgraphRunner | null;
  readonly #env: GraphEnv;
  #controller: AbortController | null = null;
  #abortedWith: { reason: unknown } | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settle: ((ok: boolean, value: unknown) => void) | null = null;

  constructor(node: CompiledNode, env: GraphEnv, config: Record<string, unknown>, attempt: number, subgraph: SubgraphRunner | null) {
    this.node = node.info;
    this.config = config;
    this.variables = env.pool;
    this.graphInputs = env.graphInputs;
    this.runId = env.run.runId;
    this.attempt = attempt;
    this.services = env.run.services;
    this.subgraph = subgraph;
    this.#env = env;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortedWith) this.#controller.abort(this.#abortedWith.reason);
    }
    return this.#controller.signal;
  }

  streamText(text: string): Promise<void> {
    const { run, iteration } = this.#env;
    return run.queue.send("onTextChunk", { runId: run.runId, nodeId: this.node.id, text, iteration });
  }

  race(pending: Promise<NodeOutcome>, timeoutMs: number | null): Promise<NodeOutcome> {
    const graphAbort = this.#env.abort;
    return new Promise<NodeOutcome>((resolve, reject) => {
      this.#settle = (ok, value) => {
        this.#settle = null;
        clearTimeout(this.#timer);
        graphAbort.unlisten(this);
        if (ok) resolve(value as NodeOutcome);
        else reject(value);
      };
      graphAbort.listen(this);
      if (timeoutMs !== null) this.#timer = setTimeout(abortOnTimeout, timeoutMs, this, timeoutMs);
      pending.then(
        (outcome) => {
          try {
            this.#settle?.(true, checkOutcome(outcome));
          } catch (error) {
            this.#settle?.(false, error);
          }
        },
        (error: unknown) => this.#settle?.(false, error),
      );
    });
  }

  /** The graph's abort, delivered to this object as its listener. */
  onAbort(reason: unknown): void {
    this.abort(reason);
  }

  abort(reason: unknown): void {
    this.#abortedWith = { reason };
    this.#controller?.abort(reason);
    this.#settle?.(false, reason);
  }
}

function abortOnTimeout(ctx: AttemptContext, timeoutMs: number): void {
  ctx.abort(new NodeError("TIMEOUT", `node timed out after ${timeoutMs} ms`));
}

function checkOutcome(outcome: NodeOutcome): NodeOutcome {
  const outputs = (outcome as { outputs?: unknown } | null | undefined)?.outputs;
  if (outputs === null || typeof outputs !== "object") throw new NodeError("INVALID_OUTPUT", "the node returned no outputs object");
  return outcome;
}
