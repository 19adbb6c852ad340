import { defineNode } from "../define-node.ts";
import { variableName } from "./schema-parts.ts";

interface AggregatorConfig {
  /** Candidates in order, usually one per branch; the first that is set wins. */
  variables?: unknown[];
  /** Several named aggregations at once; each group outputs `{ output }`. */
  groups?: { name: string; variables: unknown[] }[];
}

const candidates = { type: "array", minItems: 1, maxItems: 50 };

/** Joins branches: outputs the first variable that is not null (per group, when grouped). */
export const variableAggregatorNode = defineNode<AggregatorConfig>({
  type: "variable-aggregator",
  version: 1,
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      variables: candidates,
      groups: {
        type: "array",
        minItems: 1,
        maxItems: 20,
        items: {
          type: "object",
          required: ["name", "variables"],
          additionalProperties: false,
          properties: { name: variableName, variables: candidates },
        },
      },
    },
    oneOf: [{ required: ["variables"] }, { required: ["groups"] }],
  },
  outputs: (config) => (config.groups ? Object.fromEntries(config.groups.map((group) => [group.name, "object"])) : { output: "any" }),
  run(ctx) {
    const { variables, groups } = ctx.config;
    if (groups) {
      const outputs: Record<string, unknown> = {};
      for (const group of groups) outputs[group.name] = { output: firstSet(group.variables) };
      return { outputs };
    }
    return { outputs: { output: firstSet(variables ?? []) } };
  },
});

function firstSet(values: readonly unknown[]): unknown {
  return values.find((value) => value !== null && value !== undefined) ?? null;
}
