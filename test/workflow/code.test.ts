import { describe, expect, it } from "vitest";
import { edge, graph, node, resultOf, run, start } from "./support.ts";

function codeRun(code: string, config: Record<string, unknown> = {}, inputs: Record<string, unknown> = { n: 4, word: "hi" }) {
  return run(
    graph(
      [
        start([
          { name: "n", type: "number" },
          { name: "word", type: "text-input" },
        ]),
        node("code", "code", {
          code,
          variables: [
            { name: "n", value: "{{#start.n#}}" },
            { name: "word", value: "{{#start.word#}}" },
          ],
          ...config,
        }),
      ],
      [edge("start", "code")],
    ),
    { inputs },
  ).then((result) => resultOf(result, "code"));
}

describe("code node", () => {
  it("runs main(inputs) and keeps the declared outputs", async () => {
    const result = await codeRun(
      "function main({ n, word }) { return { doubled: n * 2, shout: word.toUpperCase(), list: [word], extra: 1 } }",
      {
        outputs: { doubled: { type: "number" }, shout: { type: "string" }, list: { type: "array[string]" } },
      },
    );
    expect({ status: result.status, outputs: result.outputs, inputs: result.inputs, error: result.error }).toEqual({
      status: "succeeded",
      outputs: { doubled: 8, shout: "HI", list: ["hi"] },
      inputs: { n: 4, word: "hi" },
      error: null,
    });
  });

  it("awaits an async main", async () => {
    const result = await codeRun("async function main({ n }) { const v = await Promise.resolve(n + 1); return { v } }", {
      outputs: { v: { type: "number" } },
    });
    expect({ status: result.status, outputs: result.outputs }).toEqual({ status: "succeeded", outputs: { v: 5 } });
  });

  it("fails on outputs that do not match their declared types", async () => {
    const wrongType = await codeRun("function main() { return { count: 'three' } }", { outputs: { count: { type: "number" } } });
    expect({ status: wrongType.status, error: wrongType.error }).toEqual({
      status: "failed",
      error: { type: "INVALID_OUTPUT", message: 'output "count" must be number' },
    });

    const missing = await codeRun("function main() { return {} }", { outputs: { count: { type: "number" } } });
    expect(missing.error).toEqual({ type: "INVALID_OUTPUT", message: 'main() did not return the output "count"' });

    const notObject = await codeRun("function main() { return [1] }");
    expect(notObject.error).toEqual({ type: "INVALID_OUTPUT", message: "main() must return an object" });
  });

  it("reports the code's own errors", async () => {
    const thrown = await codeRun("function main() { throw new TypeError('bad input') }");
    expect({ status: thrown.status, error: thrown.error }).toEqual({
      status: "failed",
      error: { type: "CODE_ERROR", message: "TypeError: bad input" },
    });

    const rejected = await codeRun("async function main() { throw new RangeError('later') }");
    expect(rejected.error).toEqual({ type: "CODE_ERROR", message: "RangeError: later" });

    const noMain = await codeRun("const x = 1;");
    expect(noMain.error).toEqual({ type: "CODE_ERROR", message: "TypeError: the code must define a function main(inputs)" });

    const syntax = await codeRun("function main( {");
    expect(syntax.error?.type).toBe("CODE_ERROR");
    expect(syntax.error?.message).toContain("SyntaxError");
  });

  it("has no host access", async () => {
    const result = await codeRun(
      `function main() {
        return { kinds: [typeof require, typeof process, typeof fetch, typeof setTimeout, typeof XMLHttpRequest, typeof globalThis.Deno, typeof module].join(",") }
      }`,
    );
    expect(result.outputs).toEqual({ kinds: "undefined,undefined,undefined,undefined,undefined,undefined,undefined" });
  });

  it("stops at its time limit", async () => {
    const began = performance.now();
    const result = await codeRun("function main() { while (true) {} }", { timeLimitMs: 100 });
    expect({ status: result.status, error: result.error }).toEqual({
      status: "failed",
      error: { type: "CODE_TIME_LIMIT", message: "the code ran past its time limit of 100 ms" },
    });
    expect(performance.now() - began).toBeLessThan(2_000);
  });

  it("stops at its memory limit, and the sandbox still works afterwards", async () => {
    const hog = await codeRun("function main() { const a = []; while (true) a.push(new Array(100000).fill(1)); }", {
      memoryLimitMb: 8,
      timeLimitMs: 5_000,
    });
    expect({ status: hog.status, error: hog.error }).toEqual({
      status: "failed",
      error: { type: "CODE_MEMORY_LIMIT", message: "the code ran past its memory limit of 8 MB" },
    });

    // One large block: the case QuickJS's own malloc accounting does not see.
    const block = await codeRun("function main() { return { n: new Array(50000000).fill(1).length } }", { memoryLimitMb: 16 });
    expect(block.error).toEqual({ type: "CODE_MEMORY_LIMIT", message: "the code ran past its memory limit of 16 MB" });

    const deep = await codeRun("function main() { const f = (n) => f(n + 1) + 1; return { v: f(0) } }");
    expect(deep.status).toBe("failed");
    expect(deep.error?.type).toBe("CODE_ERROR");

    const after = await codeRun("function main({ n }) { return { n } }");
    expect({ status: after.status, outputs: after.outputs }).toEqual({ status: "succeeded", outputs: { n: 4 } });
  });
});
