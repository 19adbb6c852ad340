import { setMaxListeners } from "node:events";
import { defineNode } from "../define-node.ts";
import { NodeError } from "../errors.ts";
import type { NodeFailure, SubgraphRunner, WorkflowGraph } from "../types.ts";
import { parseTemplate, resolveTemplateValue } from "../variable-reference.ts";

/** What a failing item does to the iteration (Dify's modes). */
type ItemErrorMode = "terminated" | "continue-on-error" | "remove-abnormal-output";

interface IterationConfig {
  /** A reference to the array to iterate over. */
  iteratorSelector: unknown;
  /** A reference, read inside each item's sub-run, to the value collected for that item. */
  outputSelector: string;
  parallelism: number;
  itemErrorMode: ItemErrorMode;
  /** The sub-graph run per item; it has its own start node and reads `{{#<iteration id>.item#}}` and `.index`. */
  graph: WorkflowGraph;
}

/**
 * Runs its sub-graph once per item of an array, up to `parallelism` items at once, and outputs the
 * collected values in item order. Loops are expressed this way; the sub-graph itself stays acyclic.
 * With `terminated`, a failing item stops the others and fails the iteration, whose own error
 * strategy then applies; the other modes put null in its place or leave it out.
 */
export const iterationNode = defineNode<IterationConfig>({
  type: "iteration",
  version: 1,
  subgraph: { graphKey: "graph", innerKeys: ["outputSelector"] },
  configSchema: {
    type: "object",
    required: ["iteratorSelector", "outputSelector", "graph"],
    additionalProperties: false,
    properties: {
      iteratorSelector: { type: "string" },
      outputSelector: { type: "string" },
      parallelism: { type: "integer", minimum: 1, maximum: 50, default: 1 },
      itemErrorMode: { enum: ["terminated", "continue-on-error", "remove-abnormal-output"], default: "terminated" },
      graph: {
        type: "object",
        required: ["nodes", "connections"],
        properties: { nodes: { type: "array" }, connections: { type: "array" } },
      },
    },
  },
  outputs: { output: "array[any]" },
  check(config) {
    for (const key of ["iteratorSelector", "outputSelector"] as const) {
      const segments = parseTemplate(String(config[key]));
      if (segments.length !== 1 || !("selector" in (segments[0] ?? {}))) {
        return { field: `/${key}`, message: "must be exactly one {{#node.output#}} reference" };
      }
    }
    return undefined;
  },
  async run(ctx) {
    const items = ctx.config.iteratorSelector;
    if (!Array.isArray(items)) throw new NodeError("INVALID_INPUT", "the iterator variable is not an array");
    const runner = ctx.subgraph as SubgraphRunner;
    const { values, removed, failure } = await runItems(items, runner, ctx.config, ctx.signal);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (failure) throw new NodeError("ITERATION_ITEM_FAILED", `item ${failure.index} failed: ${failure.error.message}`);
    return { outputs: { output: values.filter((_, index) => !removed.has(index)) }, inputs: { items } };
  },
});

interface ItemsOutcome {
  values: unknown[];
  /** Failed items left out under `remove-abnormal-output`. */
  removed: Set<number>;
  /** The first failure under `terminated`. */
  failure: { index: number; error: NodeFailure } | null;
}

async function runItems(items: unknown[], runner: SubgraphRunner, config: IterationConfig, signal: AbortSignal): Promise<ItemsOutcome> {
  const values = new Array<unknown>(items.length).fill(null);
  const removed = new Set<number>();
  const controller = new AbortController();
  // Each item running at once listens on it: up to `parallelism` listeners is expected, not a leak.
  setMaxListeners(0, controller.signal);
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let failure: { index: number; error: NodeFailure } | null = null;
  let next = 0;
  const worker = async () => {
    while (next < items.length && !controller.signal.aborted) {
      const index = next++;
      const item = await runner.run({ item: items[index], index }, { index, signal: controller.signal });
      if (item.status === "succeeded") {
        values[index] = resolveTemplateValue(item.variables, config.outputSelector) ?? null;
      } else if (item.status === "failed") {
        if (config.itemErrorMode === "terminated") {
          failure ??= { index, error: item.error ?? { type: "NODE_FAILED", message: "failed" } };
          controller.abort(new NodeError("ABORTED", `aborted because item ${index} failed`));
        } else if (config.itemErrorMode === "remove-abnormal-output") {
          removed.add(index);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(config.parallelism, items.length) }, worker));
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  return { values, removed, failure };
}
