import { describe, expect, it } from "vitest";
import { edge, graph, node, resultOf, run, start } from "./support.ts";

function templateRun(template: string, inputs: Record<string, unknown> = {}, limits: Record<string, number> = {}) {
  return run(
    graph(
      [
        start([
          { name: "name", type: "text-input" },
          { name: "items", type: "array" },
        ]),
        node("t", "template", {
          template,
          variables: [
            { name: "name", value: "{{#start.name#}}" },
            { name: "items", value: "{{#start.items#}}" },
          ],
          ...limits,
        }),
      ],
      [edge("start", "t")],
    ),
    { inputs },
  ).then((result) => resultOf(result, "t"));
}

describe("template node", () => {
  it("renders nunjucks with loops, filters and no escaping", async () => {
    const result = await templateRun("<b>{{ name | upper }}</b>{% for i in items %} {{ loop.index }}:{{ i.label }}{% endfor %}", {
      name: "ada & co",
      items: [{ label: "x" }, { label: "y" }],
    });
    expect({ status: result.status, outputs: result.outputs, inputs: result.inputs }).toEqual({
      status: "succeeded",
      outputs: { output: "<b>ADA & CO</b> 1:x 2:y" },
      inputs: { name: "ada & co", items: [{ label: "x" }, { label: "y" }] },
    });
  });

  it("keeps the template inside the sandbox: the constructor trick reaches no host", async () => {
    const result = await templateRun('{{ "".constructor.constructor("return typeof process + typeof require + typeof fetch")() }}');
    expect({ status: result.status, outputs: result.outputs }).toEqual({
      status: "succeeded",
      outputs: { output: "undefinedundefinedundefined" },
    });
  });

  it("stops a template that allocates past its memory limit", async () => {
    const result = await templateRun("{{ range(50000000) | length }}", {}, { memoryLimitMb: 16 });
    expect({ status: result.status, error: result.error }).toEqual({
      status: "failed",
      error: { type: "CODE_MEMORY_LIMIT", message: "the code ran past its memory limit of 16 MB" },
    });
  });

  it("loads no other templates", async () => {
    const result = await templateRun('{% include "/etc/passwd" %}');
    expect(result.status).toBe("failed");
    expect(result.error?.type).toBe("CODE_ERROR");
    expect(result.error?.message).toContain("template not found");
  });

  it("stops a runaway loop at its time limit", async () => {
    const began = performance.now();
    const loop = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}";
    const result = await templateRun(loop, {}, { timeLimitMs: 200 });
    expect({ status: result.status, error: result.error }).toEqual({
      status: "failed",
      error: { type: "CODE_TIME_LIMIT", message: "the code ran past its time limit of 200 ms" },
    });
    expect(performance.now() - began).toBeLessThan(2_000);
  });
});
