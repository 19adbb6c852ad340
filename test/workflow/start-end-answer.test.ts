import { describe, expect, it } from "vitest";
import { edge, graph, node, recordingObserver, resultOf, run, start } from "./support.ts";

const form = [
  { name: "title", type: "text-input", required: true, maxLength: 5 },
  { name: "tone", type: "select", options: ["calm", "loud"], default: "calm" },
  { name: "count", type: "number" },
  { name: "flag", type: "boolean" },
  { name: "meta", type: "object" },
  { name: "tags", type: "array" },
];

const echo = () =>
  graph(
    [start(form), node("end", "end", { outputs: form.map(({ name }) => ({ name, value: `{{#start.${name}#}}` })) })],
    [edge("start", "end")],
  );

describe("start and end nodes", () => {
  it("check and convert the run inputs, fill defaults, and map them to the run outputs", async () => {
    const result = await run(echo(), { inputs: { title: "Hi", count: "4.5", flag: true, meta: { a: 1 }, tags: ["x"], extra: "ignored" } });
    expect({ status: result.status, outputs: result.outputs }).toEqual({
      status: "succeeded",
      outputs: { title: "Hi", tone: "calm", count: 4.5, flag: true, meta: { a: 1 }, tags: ["x"] },
    });
    expect(resultOf(result, "start").outputs).toEqual({ title: "Hi", tone: "calm", count: 4.5, flag: true, meta: { a: 1 }, tags: ["x"] });
  });

  it.each([
    [{}, 'input "title" is required'],
    [{ title: "far too long" }, 'input "title" is longer than 5 characters'],
    [{ title: "ok", tone: "shrill" }, 'input "tone" must be one of calm, loud'],
    [{ title: "ok", count: "many" }, 'input "count" must be a number'],
    [{ title: "ok", flag: "yes" }, 'input "flag" must be true or false'],
    [{ title: "ok", meta: [1] }, 'input "meta" must be an object'],
    [{ title: "ok", tags: "x" }, 'input "tags" must be an array'],
  ])("refuse %j: %s", async (inputs, message) => {
    const result = await run(echo(), { inputs });
    expect({ status: result.status, error: result.error, start: resultOf(result, "start").error }).toEqual({
      status: "failed",
      error: { type: "INVALID_INPUT", message: `node "start" failed: ${message}` },
      start: { type: "INVALID_INPUT", message },
    });
  });
});

describe("answer node", () => {
  it("streams its template a piece at a time and outputs the whole answer", async () => {
    const observer = recordingObserver();
    const workflow = graph(
      [
        start([
          { name: "name", type: "text-input" },
          { name: "items", type: "array" },
        ]),
        node("say", "answer", { answer: "Hello {{#start.name#}}, you have {{#start.items#}}." }),
      ],
      [edge("start", "say")],
    );
    const result = await run(workflow, { inputs: { name: "Ada", items: [1, 2] }, observer });
    expect({ status: result.status, outputs: result.outputs }).toEqual({
      status: "succeeded",
      outputs: { answer: "Hello Ada, you have [1,2]." },
    });
    expect(observer.events.filter((event) => event.startsWith("text_chunk"))).toEqual([
      "text_chunk:Hello ",
      "text_chunk:Ada",
      "text_chunk:, you have ",
      "text_chunk:[1,2]",
      "text_chunk:.",
    ]);
    expect(resultOf(result, "say").inputs).toEqual({ answer: "Hello {{#start.name#}}, you have {{#start.items#}}." });
  });
});
