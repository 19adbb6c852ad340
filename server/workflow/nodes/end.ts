import { defineNode } from "../define-node.ts";
import { namedValues, toRecord } from "./schema-parts.ts";

/** Where a run ends: names the variables that become the run's outputs. */
export const endNode = defineNode<{ outputs: { name: string; value: unknown }[] }>({
  type: "end",
  version: 1,
  handles: [],
  producesRunOutputs: true,
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: { outputs: { ...namedValues, default: [] } },
  },
  outputs: (config) => Object.fromEntries(config.outputs.map((output) => [output.name, "any"])),
  run(ctx) {
    return { outputs: toRecord(ctx.config.outputs) };
  },
});
