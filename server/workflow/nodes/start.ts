import { defineNode } from "../define-node.ts";
import { NodeError } from "../errors.ts";
import { variableName } from "./schema-parts.ts";

/** Input types of the start form (Dify's names, plus structured ones for API callers). */
type InputType = "text-input" | "paragraph" | "select" | "number" | "boolean" | "object" | "array";

interface StartVariable {
  name: string;
  type: InputType;
  required: boolean;
  label?: string;
  default?: unknown;
  options?: string[];
  maxLength?: number;
}

/** Where a run begins: declares the inputs it accepts and checks the run's inputs against them. */
export const startNode = defineNode<{ variables: StartVariable[] }>({
  type: "start",
  version: 1,
  entry: true,
  configSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      variables: {
        type: "array",
        default: [],
        maxItems: 100,
        items: {
          type: "object",
          required: ["name", "type"],
          additionalProperties: false,
          properties: {
            name: variableName,
            type: { enum: ["text-input", "paragraph", "select", "number", "boolean", "object", "array"] },
            required: { type: "boolean", default: false },
            label: { type: "string" },
            default: {},
            options: { type: "array", items: { type: "string" } },
            maxLength: { type: "integer", minimum: 1 },
          },
        },
      },
    },
  },
  outputs: (config) => Object.fromEntries(config.variables.map((variable) => [variable.name, outputTypeOf(variable.type)])),
  run(ctx) {
    const outputs: Record<string, unknown> = {};
    for (const variable of ctx.config.variables) outputs[variable.name] = readInput(variable, ctx.graphInputs[variable.name]);
    return { outputs, inputs: { ...ctx.graphInputs } };
  },
});

function readInput(variable: StartVariable, given: unknown): unknown {
  const value = given === undefined || given === null || given === "" ? variable.default : given;
  if (value === undefined || value === null || value === "") {
    if (variable.required) throw invalid(`input "${variable.name}" is required`);
    return null;
  }
  switch (variable.type) {
    case "text-input":
    case "paragraph":
    case "select": {
      if (typeof value !== "string") throw invalid(`input "${variable.name}" must be a string`);
      if (variable.maxLength !== undefined && value.length > variable.maxLength) {
        throw invalid(`input "${variable.name}" is longer than ${variable.maxLength} characters`);
      }
      if (variable.type === "select" && variable.options && !variable.options.includes(value)) {
        throw invalid(`input "${variable.name}" must be one of ${variable.options.join(", ")}`);
      }
      return value;
    }
    case "number": {
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof number !== "number" || !Number.isFinite(number)) throw invalid(`input "${variable.name}" must be a number`);
      return number;
    }
    case "boolean":
      if (typeof value !== "boolean") throw invalid(`input "${variable.name}" must be true or false`);
      return value;
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) throw invalid(`input "${variable.name}" must be an object`);
      return value;
    case "array":
      if (!Array.isArray(value)) throw invalid(`input "${variable.name}" must be an array`);
      return value;
  }
}

function outputTypeOf(type: InputType) {
  if (type === "number" || type === "boolean" || type === "object") return type;
  return type === "array" ? "array[any]" : "string";
}

function invalid(message: string): NodeError {
  return new NodeError("INVALID_INPUT", message);
}
