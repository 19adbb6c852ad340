import { describe, expect, it } from "vitest";
import { compileWorkflow, GraphValidationError, type WorkflowGraph } from "../../server/workflow/index.ts";
import { edge, graph, node, registry, start } from "./support.ts";

function validationError(workflow: WorkflowGraph): GraphValidationError {
  try {
    compileWorkflow(workflow, registry);
  } catch (error) {
    if (error instanceof GraphValidationError) return error;
    throw error;
  }
  throw new Error("the graph compiled");
}

const end = (id = "end", value = "{{#start.x#}}") => node(id, "end", { outputs: [{ name: "x", value }] });

describe("compileWorkflow", () => {
  it("orders a valid graph and freezes it for reuse", () => {
    const compiled = compileWorkflow(
      graph(
        [end(), node("a", "probe"), start(), node("b", "probe")],
        [edge("start", "a"), edge("start", "b"), edge("a", "end"), edge("b", "end")],
      ),
      registry,
    );
    const orderedIds = compiled.order.map((index) => compiled.nodes[index]?.id);
    expect(orderedIds[0]).toBe("start");
    expect(orderedIds.at(-1)).toBe("end");
    expect(new Set(orderedIds)).toEqual(new Set(["start", "a", "b", "end"]));
    expect(compiled.nodes[compiled.entry]?.id).toBe("start");
    expect(Object.isFrozen(compiled)).toBe(true);
    expect(Object.isFrozen(compiled.nodes[0]?.config)).toBe(true);
    expect(compiled.nodes.find((entry) => entry.id === "a")?.config).toEqual({ ms: 0, failTimes: 0, ignoreSignal: false });
  });

  it("does not touch the graph it is given", () => {
    const workflow = graph([start(), node("a", "probe")], [edge("start", "a")]);
    const before = structuredClone(workflow);
    compileWorkflow(workflow, registry);
    expect(workflow).toEqual(before);
  });

  it("UNKNOWN_NODE_TYPE for an unknown type or version", () => {
    const unknownType = validationError(graph([start(), node("x", "teleport")], [edge("start", "x")]));
    expect({ code: unknownType.code, nodeId: unknownType.nodeId }).toEqual({ code: "UNKNOWN_NODE_TYPE", nodeId: "x" });
    expect(unknownType.messages["zh-CN"]).toContain("teleport");

    const unknownVersion = validationError(graph([start(), node("x", "probe", {}, { typeVersion: 9 })], [edge("start", "x")]));
    expect(unknownVersion.code).toBe("UNKNOWN_NODE_TYPE");
    expect(unknownVersion.message).toBe('Node "x" uses version 9 of "probe", which has versions 1.');
  });

  it("INVALID_NODE_CONFIG lists the failing fields", () => {
    const error = validationError(graph([start(), node("h", "http-request", { method: "BREW", timeoutMs: -1 })], [edge("start", "h")]));
    expect(error.code).toBe("INVALID_NODE_CONFIG");
    expect(error.nodeId).toBe("h");
    expect(error.details.fields).toEqual(["/url", "/method", "/timeoutMs"]);
    expect(error.messages["en-US"]).toContain("/method must be equal to one of the allowed values");
    expect(error.messages["zh-CN"]).toContain("节点 “h” 的配置无效");
  });

  it("INVALID_NODE_CONFIG for a template that does not parse, a bad if-else operator and a missing default value", () => {
    const template = validationError(graph([start(), node("t", "template", { template: "{% for x in %}" })], [edge("start", "t")]));
    expect({ code: template.code, fields: template.details.fields }).toEqual({ code: "INVALID_NODE_CONFIG", fields: ["/template"] });

    const ifElse = validationError(
      graph(
        [
          start(),
          node("if", "if-else", {
            cases: [{ id: "big", conditions: [{ variable: "{{#start.x#}}", varType: "number", operator: "contains" }] }],
          }),
        ],
        [edge("start", "if")],
      ),
    );
    expect(ifElse.details.fields).toEqual(["/cases/0/conditions/0/operator"]);

    const defaults = validationError(graph([start(), node("p", "probe", {}, { errorStrategy: "default_value" })], [edge("start", "p")]));
    expect({ code: defaults.code, fields: defaults.details.fields }).toEqual({ code: "INVALID_NODE_CONFIG", fields: ["/defaultValue"] });

    const retry = validationError(
      graph([start(), node("p", "probe", {}, { retry: { maxAttempts: 0, intervalMs: 0 } })], [edge("start", "p")]),
    );
    expect({ code: retry.code, fields: retry.details.fields }).toEqual({ code: "INVALID_NODE_CONFIG", fields: ["/retry/maxAttempts"] });
  });

  it("DANGLING_CONNECTION for a missing node or an unknown handle", () => {
    const missing = validationError(graph([start(), node("a", "probe")], [edge("start", "a"), edge("a", "ghost")]));
    expect({ code: missing.code, nodeId: missing.nodeId, connectionId: missing.details.connectionId }).toEqual({
      code: "DANGLING_CONNECTION",
      nodeId: "a",
      connectionId: "a->ghost",
    });

    const badHandle = validationError(
      graph([start(), node("a", "probe"), node("b", "probe")], [edge("start", "a"), edge("a", "b", "true")]),
    );
    expect({ code: badHandle.code, nodeId: badHandle.nodeId }).toEqual({ code: "DANGLING_CONNECTION", nodeId: "a" });

    // The error handle exists only under the error_branch strategy.
    const errorHandle = validationError(
      graph([start(), node("a", "probe"), node("b", "probe")], [edge("start", "a"), edge("a", "b", "error")]),
    );
    expect(errorHandle.code).toBe("DANGLING_CONNECTION");

    const badTarget = validationError(
      graph([start(), node("a", "probe")], [{ sourceNodeId: "start", sourceHandle: "source", targetNodeId: "a", targetHandle: "input-2" }]),
    );
    expect({ code: badTarget.code, nodeId: badTarget.nodeId }).toEqual({ code: "DANGLING_CONNECTION", nodeId: "a" });
  });

  it("GRAPH_CYCLE names a node on the cycle, not one downstream of it", () => {
    const error = validationError(
      graph(
        [start(), node("a", "probe"), node("b", "probe"), node("c", "probe"), node("after", "probe")],
        [edge("start", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("c", "after")],
      ),
    );
    expect(error.code).toBe("GRAPH_CYCLE");
    expect(["a", "b", "c"]).toContain(error.nodeId);
  });

  it("GRAPH_CYCLE inside an iteration's sub-graph", () => {
    const error = validationError(
      graph(
        [
          start([{ name: "items", type: "array" }]),
          node("loop", "iteration", {
            iteratorSelector: "{{#start.items#}}",
            outputSelector: "{{#in_a.value#}}",
            graph: graph(
              [node("in_start", "start"), node("in_a", "probe"), node("in_b", "probe")],
              [edge("in_start", "in_a"), edge("in_a", "in_b"), edge("in_b", "in_a")],
            ),
          }),
        ],
        [edge("start", "loop")],
      ),
    );
    expect(error.code).toBe("GRAPH_CYCLE");
    expect(["in_a", "in_b"]).toContain(error.nodeId);
  });

  it("UNREACHABLE_NODE for a node the start cannot reach", () => {
    const error = validationError(graph([start(), node("a", "probe"), node("island", "probe")], [edge("start", "a")]));
    expect({ code: error.code, nodeId: error.nodeId }).toEqual({ code: "UNREACHABLE_NODE", nodeId: "island" });
  });

  it("VARIABLE_NOT_UPSTREAM for a reference to a sibling, a downstream node or the node itself", () => {
    const base = [start(), node("a", "probe"), node("b", "probe")];
    const sibling = validationError(
      graph(
        [...base, node("t", "template", { template: "", variables: [{ name: "v", value: "x {{#b.value#}}" }] })],
        [edge("start", "a"), edge("start", "b"), edge("a", "t")],
      ),
    );
    expect({ code: sibling.code, nodeId: sibling.nodeId, reference: sibling.details.reference }).toEqual({
      code: "VARIABLE_NOT_UPSTREAM",
      nodeId: "t",
      reference: "{{#b.value#}}",
    });

    const downstream = validationError(
      graph(
        [start(), node("t", "template", { template: "", variables: [{ name: "v", value: "{{#later.value#}}" }] }), node("later", "probe")],
        [edge("start", "t"), edge("t", "later")],
      ),
    );
    expect({ code: downstream.code, nodeId: downstream.nodeId }).toEqual({ code: "VARIABLE_NOT_UPSTREAM", nodeId: "t" });

    const self = validationError(
      graph([start(), node("e", "end", { outputs: [{ name: "x", value: "{{#e.x#}}" }] })], [edge("start", "e")]),
    );
    expect({ code: self.code, nodeId: self.nodeId }).toEqual({ code: "VARIABLE_NOT_UPSTREAM", nodeId: "e" });

    const unknown = validationError(graph([start(), end("end", "{{#nobody.value#}}")], [edge("start", "end")]));
    expect(unknown.code).toBe("VARIABLE_NOT_UPSTREAM");
  });

  it("allows sys and start references anywhere, and checks references inside an iteration against both scopes", () => {
    const iteration = (outputSelector: string, innerValue: string) =>
      graph(
        [
          node("begin", "start", { variables: [{ name: "items", type: "array" }] }),
          node("side", "probe"),
          node("before", "probe"),
          node("loop", "iteration", {
            iteratorSelector: "{{#start.items#}}",
            outputSelector,
            graph: graph(
              [node("in_start", "start"), node("in_end", "end", { outputs: [{ name: "v", value: innerValue }] })],
              [edge("in_start", "in_end")],
            ),
          }),
        ],
        [edge("begin", "side"), edge("begin", "before"), edge("before", "loop")],
      );
    expect(() =>
      compileWorkflow(iteration("{{#in_end.v#}}", "{{#loop.item#}} {{#before.value#}} {{#sys.user_id#}} {{#start.items#}}"), registry),
    ).not.toThrow();

    const outerSibling = validationError(iteration("{{#in_end.v#}}", "{{#side.value#}}"));
    expect({ code: outerSibling.code, nodeId: outerSibling.nodeId }).toEqual({ code: "VARIABLE_NOT_UPSTREAM", nodeId: "in_end" });

    const innerFromOutside = validationError(
      graph(
        [
          start([{ name: "items", type: "array" }]),
          node("loop", "iteration", {
            iteratorSelector: "{{#start.items#}}",
            outputSelector: "{{#in_end.v#}}",
            graph: graph([node("in_start", "start"), node("in_end", "end")], [edge("in_start", "in_end")]),
          }),
          end("end", "{{#in_end.v#}}"),
        ],
        [edge("start", "loop"), edge("loop", "end")],
      ),
    );
    expect({ code: innerFromOutside.code, nodeId: innerFromOutside.nodeId }).toEqual({ code: "VARIABLE_NOT_UPSTREAM", nodeId: "end" });
  });

  it("MISSING_START_NODE and MULTIPLE_START_NODES", () => {
    const missing = validationError(graph([node("a", "probe")], []));
    expect({ code: missing.code, nodeId: missing.nodeId }).toEqual({ code: "MISSING_START_NODE", nodeId: null });
    expect(missing.messages).toEqual({ "en-US": "The graph has no start node.", "zh-CN": "图中缺少开始节点。" });

    const multiple = validationError(graph([start(), node("again", "start")], []));
    expect({ code: multiple.code, nodeId: multiple.nodeId }).toEqual({ code: "MULTIPLE_START_NODES", nodeId: "again" });
  });

  it("DUPLICATE_NODE_ID, also between a graph and an iteration's sub-graph", () => {
    const flat = validationError(graph([start(), node("a", "probe"), node("a", "probe")], [edge("start", "a")]));
    expect({ code: flat.code, nodeId: flat.nodeId }).toEqual({ code: "DUPLICATE_NODE_ID", nodeId: "a" });

    const nested = validationError(
      graph(
        [
          start([{ name: "items", type: "array" }]),
          node("a", "probe"),
          node("loop", "iteration", {
            iteratorSelector: "{{#start.items#}}",
            outputSelector: "{{#a.value#}}",
            graph: graph([node("in_start", "start"), node("a", "probe")], [edge("in_start", "a")]),
          }),
        ],
        [edge("start", "a"), edge("a", "loop")],
      ),
    );
    expect({ code: nested.code, nodeId: nested.nodeId }).toEqual({ code: "DUPLICATE_NODE_ID", nodeId: "a" });
  });
});
