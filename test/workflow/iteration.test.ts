import { describe, expect, it } from "vitest";
import type { WorkflowNode } from "../../server/workflow/index.ts";
import { createProbe, edge, graph, node, recordingObserver, resultOf, run, start, statuses } from "./support.ts";

/** start(items, prefix) → loop over items (its sub-graph: inner start → work) → end(list). */
function iterate(work: WorkflowNode, loopConfig: Record<string, unknown> = {}, loopExtra: Partial<WorkflowNode> = {}) {
  return graph(
    [
      start([
        { name: "items", type: "array" },
        { name: "prefix", type: "text-input", default: "#" },
      ]),
      node(
        "loop",
        "iteration",
        {
          iteratorSelector: "{{#start.items#}}",
          outputSelector: `{{#${work.id}.value#}}`,
          graph: graph([node("item_start", "start"), work], [edge("item_start", work.id)]),
          ...loopConfig,
        },
        loopExtra,
      ),
      node("end", "end", { outputs: [{ name: "list", value: "{{#loop.output#}}" }] }),
    ],
    [edge("start", "loop"), edge("loop", "end")],
  );
}

describe("iteration node", () => {
  it("runs the sub-graph per item, in parallel up to its bound, and collects outputs in item order", async () => {
    const probe = createProbe();
    const work = node("work", "probe", { ms: 30, value: "{{#start.prefix#}}{{#loop.item#}}@{{#loop.index#}}" });
    const result = await run(iterate(work, { parallelism: 2 }), { inputs: { items: ["a", "b", "c", "d", "e"] }, services: { probe } });
    expect({ status: result.status, outputs: result.outputs }).toEqual({
      status: "succeeded",
      outputs: { list: ["#a@0", "#b@1", "#c@2", "#d@3", "#e@4"] },
    });
    expect(probe.peak).toBe(2);
    expect(result.totalSteps).toBe(3 + 5 * 2);
    const inner = result.nodes.filter((entry) => entry.nodeId === "work");
    expect(inner.map((entry) => entry.iteration?.index).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(inner.every((entry) => entry.iteration?.nodeId === "loop" && entry.status === "succeeded")).toBe(true);
    expect(resultOf(result, "loop")).toMatchObject({ status: "succeeded", inputs: { items: ["a", "b", "c", "d", "e"] }, iteration: null });
  });

  it("outputs an empty list for no items", async () => {
    const result = await run(iterate(node("work", "probe", { value: "{{#loop.item#}}" })), { inputs: { items: [] } });
    expect({ status: result.status, outputs: result.outputs }).toEqual({ status: "succeeded", outputs: { list: [] } });
  });

  it("stops at a failing item and fails, or follows its own error strategy", async () => {
    const failingSecond = () =>
      node("work", "code", {
        code: "function main({ item }) { if (item === 'bad') throw new Error('no bad items'); return { value: item } }",
        variables: [{ name: "item", value: "{{#loop.item#}}" }],
      });
    const inputs = { items: ["ok", "bad", "never"] };

    const failed = await run(iterate(failingSecond()), { inputs });
    expect({ status: failed.status, error: failed.error, loop: resultOf(failed, "loop").error }).toEqual({
      status: "failed",
      error: { type: "ITERATION_ITEM_FAILED", message: 'node "loop" failed: item 1 failed: node "work" failed: Error: no bad items' },
      loop: { type: "ITERATION_ITEM_FAILED", message: 'item 1 failed: node "work" failed: Error: no bad items' },
    });
    expect(failed.nodes.filter((entry) => entry.nodeId === "work").map((entry) => [entry.iteration?.index, entry.status])).toEqual([
      [0, "succeeded"],
      [1, "failed"],
    ]);

    const defaulted = await run(iterate(failingSecond(), {}, { errorStrategy: "default_value", defaultValue: { output: [] } }), { inputs });
    expect({ status: defaulted.status, outputs: defaulted.outputs, loop: statuses(defaulted)["loop"] }).toEqual({
      status: "partial-succeeded",
      outputs: { list: [] },
      loop: "failed",
    });
  });

  it("puts null in a failed item's place, or leaves it out, by its item error mode", async () => {
    const work = node("work", "probe", { value: "{{#loop.item#}}", failTimes: -1 });
    const keep = graph(
      [
        start([{ name: "items", type: "array" }]),
        node("loop", "iteration", {
          iteratorSelector: "{{#start.items#}}",
          outputSelector: "{{#pick.output#}}",
          itemErrorMode: "continue-on-error",
          graph: graph(
            [
              node("item_start", "start"),
              node("gate", "if-else", { cases: [{ id: "odd", conditions: [{ variable: "{{#loop.index#}}", operator: "=", value: 1 }] }] }),
              work,
              node("pick", "variable-aggregator", { variables: ["{{#loop.item#}}"] }),
            ],
            [edge("item_start", "gate"), edge("gate", "work", "odd"), edge("gate", "pick", "false"), edge("work", "pick")],
          ),
        }),
      ],
      [edge("start", "loop")],
    );
    const kept = await run(keep, { inputs: { items: ["a", "b", "c"] } });
    expect({ status: kept.status, output: resultOf(kept, "loop").outputs }).toEqual({
      status: "partial-succeeded",
      output: { output: ["a", null, "c"] },
    });

    const loop = keep.nodes[1] as WorkflowNode;
    loop.config = { ...loop.config, itemErrorMode: "remove-abnormal-output" };
    const removed = await run(keep, { inputs: { items: ["a", "b", "c"] } });
    expect(resultOf(removed, "loop").outputs).toEqual({ output: ["a", "c"] });
  });

  it("tells the observer when each item starts, after the iteration's start and before the item's nodes", async () => {
    const observer = recordingObserver();
    await run(iterate(node("work", "probe", { value: "v" })), { inputs: { items: [1, 2] }, observer });
    expect(observer.events.filter((event) => !/:(start|end)\b/.test(event))).toEqual([
      "run_started",
      "node_started:loop",
      "item_started:loop:0",
      "node_started:item_start",
      "node_finished:item_start:succeeded",
      "node_started:work",
      "node_finished:work:succeeded",
      "item_started:loop:1",
      "node_started:item_start",
      "node_finished:item_start:succeeded",
      "node_started:work",
      "node_finished:work:succeeded",
      "node_finished:loop:succeeded",
      "run_finished:succeeded",
    ]);
  });

  it("reports inner nodes to the observer with their item, and is stopped with the run", async () => {
    const observer = recordingObserver();
    const controller = new AbortController();
    const work = node("work", "probe", { ms: 5_000 });
    setTimeout(() => controller.abort(), 50);
    const result = await run(iterate(work, { parallelism: 3 }), { inputs: { items: [1, 2, 3, 4] }, observer, signal: controller.signal });
    expect({ status: result.status, loop: resultOf(result, "loop").error }).toEqual({
      status: "stopped",
      loop: { type: "STOPPED", message: "the run was stopped" },
    });
    expect(
      result.nodes.filter((entry) => entry.nodeId === "work").map((entry) => [entry.iteration?.index, entry.status, entry.error?.type]),
    ).toEqual([
      [0, "failed", "STOPPED"],
      [1, "failed", "STOPPED"],
      [2, "failed", "STOPPED"],
    ]);
    expect(result.elapsedMs).toBeLessThan(1_000);
    expect(observer.events.filter((event) => event.startsWith("node_started:work"))).toHaveLength(3);
  });
});
