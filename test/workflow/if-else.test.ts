import { describe, expect, it } from "vitest";
import { evaluateCondition, type ConditionOperator } from "../../server/workflow/nodes/conditions.ts";
import { edge, graph, node, resultOf, run, start, statuses } from "./support.ts";

describe("if-else conditions", () => {
  it.each<[unknown, ConditionOperator, unknown, boolean]>([
    ["hello world", "contains", "world", true],
    ["hello world", "not contains", "world", false],
    ["hello", "start with", "he", true],
    ["hello", "end with", "lo", true],
    ["hello", "end with", "he", false],
    ["hello", "is", "hello", true],
    ["hello", "is not", "hello", false],
    ["", "empty", undefined, true],
    [null, "empty", undefined, true],
    ["x", "not empty", undefined, true],
    [undefined, "null", undefined, true],
    [5, "=", "5", true],
    [5, "≠", 5, false],
    [5, "!=", 6, true],
    [5, ">", "4", true],
    [5, "<", 4, false],
    [5, "≥", 5, true],
    [5, ">=", 6, false],
    [5, "≤", 5, true],
    [5, "<=", 4, false],
    ["7", ">", 3, true],
    ["not a number", ">", 3, false],
    [true, "is", "true", true],
    [false, "is", true, false],
    [false, "is not", "true", true],
    [["a", 2], "contains", "2", true],
    [["a", 2], "not contains", "b", true],
    [[], "empty", undefined, true],
    [[1, 2, 3], "length =", 3, true],
    [[1, 2, 3], "length >", "2", true],
    [[1, 2, 3], "length ≤", 2, false],
    ["abc", "length =", 3, false],
  ])("%j %s %j is %s", (actual, operator, expected, holds) => {
    expect(evaluateCondition(actual, operator, expected)).toBe(holds);
  });

  it("compares as the declared type", () => {
    expect(evaluateCondition("10", "is", "10.0", "number")).toBe(true);
    expect(evaluateCondition("10", "is", "10.0", "string")).toBe(false);
  });
});

describe("if-else node", () => {
  const workflow = graph(
    [
      start([
        { name: "score", type: "number" },
        { name: "tags", type: "array" },
        { name: "name", type: "text-input" },
      ]),
      node("if", "if-else", {
        cases: [
          {
            id: "vip",
            logicalOperator: "and",
            conditions: [
              { variable: "{{#start.score#}}", operator: "≥", value: "90" },
              { variable: "{{#start.tags#}}", varType: "array", operator: "contains", value: "vip" },
            ],
          },
          {
            id: "named",
            logicalOperator: "or",
            conditions: [
              { variable: "{{#start.name#}}", operator: "start with", value: "Dr" },
              { variable: "{{#start.score#}}", operator: ">", value: "{{#start.score#}}" },
            ],
          },
        ],
      }),
      node("vip", "probe"),
      node("named", "probe"),
      node("other", "probe"),
    ],
    [edge("start", "if"), edge("if", "vip", "vip"), edge("if", "named", "named"), edge("if", "other", "false")],
  );

  it.each([
    [{ score: 95, tags: ["vip"], name: "Dr Who" }, "vip", { vip: "succeeded", named: "skipped", other: "skipped" }],
    [{ score: 95, tags: [], name: "Dr Who" }, "named", { vip: "skipped", named: "succeeded", other: "skipped" }],
    [{ score: 10, tags: ["vip"], name: "Ann" }, "false", { vip: "skipped", named: "skipped", other: "succeeded" }],
  ])("takes the first matching case for %j", async (inputs, selected, branches) => {
    const result = await run(workflow, { inputs });
    expect({ status: result.status, nodes: statuses(result), outputs: resultOf(result, "if").outputs }).toEqual({
      status: "succeeded",
      nodes: { start: "succeeded", if: "succeeded", ...branches },
      outputs: { result: selected !== "false", selected_case_id: selected },
    });
  });
});
