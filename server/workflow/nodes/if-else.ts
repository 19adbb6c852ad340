import { defineNode } from "../define-node.ts";
import {
  CONDITION_OPERATORS,
  evaluateCondition,
  OPERATORS_BY_TYPE,
  type ConditionOperator,
  type ConditionValueType,
} from "./conditions.ts";

interface Condition {
  /** Usually exactly one `{{#node.output#}}` reference, so the typed value is compared. */
  variable: unknown;
  operator: ConditionOperator;
  value?: unknown;
  varType?: ConditionValueType;
}

interface IfElseCase {
  /** The outgoing handle taken when this case matches. */
  id: string;
  logicalOperator: "and" | "or";
  conditions: Condition[];
}

/** The handle taken when no case matches. */
export const ELSE_HANDLE = "false";

/** Picks the first case whose conditions hold and follows its handle; otherwise the `false` handle. */
export const ifElseNode = defineNode<{ cases: IfElseCase[] }>({
  type: "if-else",
  version: 1,
  configSchema: {
    type: "object",
    required: ["cases"],
    additionalProperties: false,
    properties: {
      cases: {
        type: "array",
        minItems: 1,
        maxItems: 50,
        items: {
          type: "object",
          required: ["id", "conditions"],
          additionalProperties: false,
          properties: {
            id: { type: "string", minLength: 1, maxLength: 64 },
            logicalOperator: { enum: ["and", "or"], default: "and" },
            conditions: {
              type: "array",
              minItems: 1,
              maxItems: 50,
              items: {
                type: "object",
                required: ["variable", "operator"],
                additionalProperties: false,
                properties: {
                  variable: {},
                  operator: { enum: [...CONDITION_OPERATORS] },
                  value: {},
                  varType: { enum: ["string", "number", "boolean", "array"] },
                },
              },
            },
          },
        },
      },
    },
  },
  handles: (config) => [...config.cases.map((branch) => branch.id), ELSE_HANDLE],
  outputs: { result: "boolean", selected_case_id: "string" },
  check(config) {
    const seen = new Set<string>();
    for (const [caseIndex, branch] of config.cases.entries()) {
      if (branch.id === ELSE_HANDLE || branch.id === "error" || seen.has(branch.id)) {
        return { field: `/cases/${caseIndex}/id`, message: `"${branch.id}" is reserved or used by another case` };
      }
      seen.add(branch.id);
      for (const [conditionIndex, condition] of branch.conditions.entries()) {
        if (condition.varType && !OPERATORS_BY_TYPE[condition.varType].includes(condition.operator)) {
          return {
            field: `/cases/${caseIndex}/conditions/${conditionIndex}/operator`,
            message: `"${condition.operator}" does not apply to a ${condition.varType}`,
          };
        }
      }
    }
    return undefined;
  },
  run(ctx) {
    for (const branch of ctx.config.cases) {
      const holds = (condition: Condition) => evaluateCondition(condition.variable, condition.operator, condition.value, condition.varType);
      const matched = branch.logicalOperator === "or" ? branch.conditions.some(holds) : branch.conditions.every(holds);
      if (matched) return { outputs: { result: true, selected_case_id: branch.id }, handle: branch.id };
    }
    return { outputs: { result: false, selected_case_id: ELSE_HANDLE }, handle: ELSE_HANDLE };
  },
});
