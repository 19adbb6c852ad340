import { defineNode } from "../define-node.ts";
import { parseTemplate, stringifyValue } from "../variable-reference.ts";

/**
 * Streams a `{{#…#}}` template to the caller as `text_chunk` events, a chunk per literal or variable,
 * and outputs the whole text as `answer` (which also becomes a run output).
 */
export const answerNode = defineNode<{ answer: string }>({
  type: "answer",
  version: 1,
  producesRunOutputs: true,
  rawConfigKeys: ["answer"],
  configSchema: {
    type: "object",
    required: ["answer"],
    additionalProperties: false,
    properties: { answer: { type: "string", maxLength: 100_000 } },
  },
  outputs: { answer: "string" },
  async run(ctx) {
    let answer = "";
    for (const segment of parseTemplate(ctx.config.answer)) {
      const text = "text" in segment ? segment.text : stringifyValue(ctx.variables.get(segment.selector));
      if (text === "") continue;
      answer += text;
      await ctx.streamText(text);
    }
    return { outputs: { answer }, inputs: { answer: ctx.config.answer } };
  },
});
