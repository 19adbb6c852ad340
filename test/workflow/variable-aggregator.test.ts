import { describe, expect, it } from "vitest";
import { edge, graph, node, resultOf, run, start } from "./support.ts";

describe("variable-aggregator node", () => {
  it("outputs the first variable that is set, per group when grouped", async () => {
    const workflow = graph(
      [
        start([
          { name: "a", type: "text-input" },
          { name: "b", type: "number" },
        ]),
        node("first", "variable-aggregator", { variables: ["{{#start.a#}}", "{{#start.b#}}"] }),
        node("grouped", "variable-aggregator", {
          groups: [
            { name: "text", variables: ["{{#start.a#}}", "{{#first.output#}}"] },
            { name: "nothing", variables: ["{{#start.a#}}"] },
          ],
        }),
      ],
      [edge("start", "first"), edge("first", "grouped")],
    );
    const result = await run(workflow, { inputs: { b: 7 } });
    expect(result.status).toBe("succeeded");
    expect(resultOf(result, "first").outputs).toEqual({ output: 7 });
    expect(resultOf(result, "grouped").outputs).toEqual({ text: { output: 7 }, nothing: { output: null } });
  });
});
