import { defineNode } from "../define-node.ts";
import { NodeError } from "../errors.ts";
import type { VariableType } from "../types.ts";
import { runInSandbox, sandboxLimitsSchema, type SandboxLimits } from "./quickjs-sandbox.ts";
import { namedValues, toRecord, variableName } from "./schema-parts.ts";

interface CodeConfig extends SandboxLimits {
  /** Defines `function main(inputs)` (or `async function`) returning an object. */
  code: string;
  variables: { name: string; value: unknown }[];
  /** Declared outputs; the returned object must match them. */
  outputs: Record<string, { type: VariableType }>;
}

const VARIABLE_TYPES: VariableType[] = [
  "string",
  "number",
  "boolean",
  "object",
  "array[string]",
  "array[number]",
  "array[boolean]",
  "array[object]",
  "array[any]",
  "any",
];

const ENTRY = `(function () {
  const input = JSON.parse(globalThis.__input);
  delete globalThis.__input;
  if (typeof main !== "function") throw new TypeError("the code must define a function main(inputs)");
  const finish = (value) => { globalThis.__output = JSON.stringify({ value: value === undefined ? null : value }); };
  const fail = (error) => { globalThis.__output = JSON.stringify({ error: String(error && error.stack ? error.name + ": " + error.message : error) }); };
  const result = main(input);
  if (result && typeof result.then === "function") result.then(finish, fail);
  else finish(result);
})();`;

/** Runs the workflow author's JavaScript `main(inputs)` in a QuickJS sandbox and checks what it returns. */
export const codeNode = defineNode<CodeConfig>({
  type: "code",
  version: 1,
  rawConfigKeys: ["code"],
  configSchema: {
    type: "object",
    required: ["code"],
    additionalProperties: false,
    properties: {
      code: { type: "string", minLength: 1, maxLength: 100_000 },
      variables: { ...namedValues, default: [] },
      outputs: {
        type: "object",
        default: {},
        propertyNames: variableName,
        additionalProperties: {
          type: "object",
          required: ["type"],
          properties: { type: { enum: VARIABLE_TYPES } },
        },
      },
      ...sandboxLimitsSchema,
    },
  },
  outputs: (config) => Object.fromEntries(Object.entries(config.outputs).map(([name, output]) => [name, output.type])),
  async run(ctx) {
    const { code, variables, outputs, timeLimitMs, memoryLimitMb } = ctx.config;
    const inputs = toRecord(variables);
    const program = { source: code, entry: ENTRY, input: inputs };
    const returned = await runInSandbox(program, { timeLimitMs, memoryLimitMb }, ctx.signal);
    return { outputs: checkOutputs(returned, outputs), inputs };
  },
});

/** Keeps the declared outputs, each of its declared type (null allowed); all of them when none are declared. */
function checkOutputs(returned: unknown, declared: CodeConfig["outputs"]): Record<string, unknown> {
  if (returned === null || typeof returned !== "object" || Array.isArray(returned)) {
    throw new NodeError("INVALID_OUTPUT", "main() must return an object");
  }
  const values = returned as Record<string, unknown>;
  const names = Object.keys(declared);
  if (names.length === 0) return values;
  const outputs: Record<string, unknown> = {};
  for (const name of names) {
    const value = values[name];
    const type = declared[name]?.type ?? "any";
    if (value === undefined) throw new NodeError("INVALID_OUTPUT", `main() did not return the output "${name}"`);
    if (value !== null && !isOfType(value, type)) throw new NodeError("INVALID_OUTPUT", `output "${name}" must be ${type}`);
    outputs[name] = value;
  }
  return outputs;
}

function isOfType(value: unknown, type: VariableType): boolean {
  if (type === "any") return true;
  if (type === "object") return typeof value === "object" && !Array.isArray(value);
  if (type.startsWith("array[")) {
    const itemType = type.slice("array[".length, -1) as VariableType;
    return Array.isArray(value) && value.every((item) => isOfType(item, itemType));
  }
  return typeof value === type;
}
