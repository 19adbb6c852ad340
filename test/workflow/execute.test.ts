import { describe, expect, it } from "vitest";
import { compileWorkflow, executeWorkflow } from "../../server/workflow/index.ts";
import { edge, graph, node, recordingObserver, registry, resultOf, run, start, statuses } from "./support.ts";

describe("executeWorkflow", () => {
  it("passes values through the pool: start inputs, the start alias, sys variables, node outputs", async () => {
    const workflow = graph(
      [
        node("begin", "start", {
          variables: [
            { name: "name", type: "text-input", required: true },
            { name: "count", type: "number" },
          ],
        }),
        node("p", "probe", { value: "{{#start.name#}}" }),
        node("end", "end", {
          outputs: [
            { name: "greeting", value: "hi {{#p.value#}} x{{#begin.count#}}" },
            { name: "count", value: "{{#start.count#}}" },
            { name: "user", value: "{{#sys.user_id#}}" },
            { name: "run", value: "{{#sys.run_id#}}" },
          ],
        }),
      ],
      [edge("begin", "p"), edge("p", "end")],
    );
    const result = await run(workflow, { inputs: { name: "Ada", count: "3" }, systemVariables: { user_id: "u-1" }, runId: "run-1" });
    expect({
      status: result.status,
      outputs: result.outputs,
      error: result.error,
      steps: result.totalSteps,
      tokens: result.totalTokens,
    }).toEqual({
      status: "succeeded",
      outputs: { greeting: "hi Ada x3", count: 3, user: "u-1", run: "run-1" },
      error: null,
      steps: 3,
      tokens: 1,
    });
    expect(result.nodes.map(({ nodeId, status, attempt, error, recovery }) => ({ nodeId, status, attempt, error, recovery }))).toEqual([
      { nodeId: "begin", status: "succeeded", attempt: 1, error: null, recovery: null },
      { nodeId: "p", status: "succeeded", attempt: 1, error: null, recovery: null },
      { nodeId: "end", status: "succeeded", attempt: 1, error: null, recovery: null },
    ]);
    expect(resultOf(result, "p")).toMatchObject({
      inputs: { value: "Ada", ms: 0 },
      outputs: { value: "Ada", attempts: 1 },
      tokens: 1,
      iteration: null,
    });
    expect(resultOf(result, "begin").inputs).toEqual({ name: "Ada", count: "3" });
  });

  it("fails the run when the start inputs are invalid", async () => {
    const result = await run(
      graph([start([{ name: "name", type: "text-input", required: true }]), node("end", "end")], [edge("start", "end")]),
    );
    expect({ status: result.status, error: result.error, nodes: statuses(result), outputs: result.outputs }).toEqual({
      status: "failed",
      error: { type: "INVALID_INPUT", message: 'node "start" failed: input "name" is required' },
      nodes: { start: "failed" },
      outputs: {},
    });
  });

  it("skips the branches not taken, transitively, and joins with a variable aggregator", async () => {
    const workflow = graph(
      [
        start([{ name: "n", type: "number" }]),
        node("if", "if-else", {
          cases: [{ id: "big", conditions: [{ variable: "{{#start.n#}}", operator: ">", value: "10" }] }],
        }),
        node("big", "probe", { value: "large" }),
        node("big_after", "probe", { value: "after" }),
        node("small", "probe", { value: "small" }),
        node("join", "variable-aggregator", { variables: ["{{#big_after.value#}}", "{{#small.value#}}"] }),
        node("end", "end", { outputs: [{ name: "size", value: "{{#join.output#}}" }] }),
      ],
      [
        edge("start", "if"),
        edge("if", "big", "big"),
        edge("big", "big_after"),
        edge("if", "small", "false"),
        edge("big_after", "join"),
        edge("small", "join"),
        edge("join", "end"),
      ],
    );
    const compiled = compileWorkflow(workflow, registry);

    const small = await executeWorkflow(compiled, { inputs: { n: 3 } });
    expect({ status: small.status, outputs: small.outputs, nodes: statuses(small) }).toEqual({
      status: "succeeded",
      outputs: { size: "small" },
      nodes: {
        start: "succeeded",
        if: "succeeded",
        big: "skipped",
        big_after: "skipped",
        small: "succeeded",
        join: "succeeded",
        end: "succeeded",
      },
    });
    expect(resultOf(small, "if").outputs).toEqual({ result: false, selected_case_id: "false" });

    const big = await executeWorkflow(compiled, { inputs: { n: 30 } });
    expect({ status: big.status, outputs: big.outputs, nodes: statuses(big) }).toEqual({
      status: "succeeded",
      outputs: { size: "after" },
      nodes: {
        start: "succeeded",
        if: "succeeded",
        big: "succeeded",
        big_after: "succeeded",
        small: "skipped",
        join: "succeeded",
        end: "succeeded",
      },
    });
  });

  it("tells the observer everything in order, one call at a time, before returning", async () => {
    const observer = recordingObserver(3);
    const workflow = graph(
      [
        start(),
        node("a", "probe", { ms: 10 }),
        node("b", "probe"),
        node("say", "answer", { answer: "a={{#a.value#}}!" }),
        node("end", "end"),
      ],
      [edge("start", "a"), edge("start", "b"), edge("a", "say"), edge("b", "say"), edge("say", "end")],
    );
    const result = await run(workflow, { observer });
    const events = observer.events;
    expect(events[0]).toBe("run_started");
    expect(events.at(-1)).toBe("run_finished:succeeded");
    for (const id of ["start", "a", "b", "say", "end"]) {
      expect(events.indexOf(`node_started:${id}`)).toBeLessThan(events.indexOf(`node_finished:${id}:succeeded`));
    }
    expect(events.indexOf("node_finished:a:succeeded")).toBeLessThan(events.indexOf("node_started:say"));
    expect(events.indexOf("node_finished:b:succeeded")).toBeLessThan(events.indexOf("node_started:say"));
    expect(events.filter((event) => event.startsWith("text_chunk") || event.includes(":say"))).toEqual([
      "node_started:say",
      "text_chunk:a=",
      "text_chunk:!",
      "node_finished:say:succeeded",
    ]);
    expect(events).toHaveLength(14);
    expect(result.outputs).toEqual({ answer: "a=!" });
  });

  it("fails the run when the observer throws, and rejects when onRunFinished does", async () => {
    const workflow = graph([start(), node("a", "probe"), node("b", "probe")], [edge("start", "a"), edge("a", "b")]);
    const failing = await run(workflow, {
      observer: {
        onNodeFinished: (result) => {
          if (result.nodeId === "start") throw new Error("database is down");
        },
      },
    });
    expect({ status: failing.status, error: failing.error }).toEqual({
      status: "failed",
      error: { type: "OBSERVER_FAILED", message: "database is down" },
    });

    await expect(run(workflow, { observer: { onRunFinished: () => Promise.reject(new Error("cannot write")) } })).rejects.toThrow(
      "cannot write",
    );
  });

  it("reuses one compiled graph for concurrent runs", async () => {
    const compiled = compileWorkflow(
      graph(
        [
          start([{ name: "v", type: "text-input" }]),
          node("p", "probe", { ms: 20, value: "{{#start.v#}}" }),
          node("end", "end", { outputs: [{ name: "v", value: "{{#p.value#}}" }] }),
        ],
        [edge("start", "p"), edge("p", "end")],
      ),
      registry,
    );
    const results = await Promise.all(["x", "y", "z"].map((v) => executeWorkflow(compiled, { inputs: { v } })));
    expect(results.map((result) => result.outputs)).toEqual([{ v: "x" }, { v: "y" }, { v: "z" }]);
    expect(new Set(results.map((result) => result.runId)).size).toBe(3);
  });
});
