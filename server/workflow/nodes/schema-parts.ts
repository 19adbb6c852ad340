import type { JsonSchema } from "../define-node.ts";

/** A name usable as an output or template variable. */
export const variableName: JsonSchema = { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$", maxLength: 64 };

/** `[{ name, value }]` whose names follow `nameSchema`; values are usually `{{#node.output#}}` references. */
export function namedValuesWith(nameSchema: JsonSchema): JsonSchema {
  return {
    type: "array",
    maxItems: 100,
    items: {
      type: "object",
      required: ["name", "value"],
      additionalProperties: false,
      properties: { name: nameSchema, value: {} },
    },
  };
}

/** `[{ name, value }]` naming variables, resolved to typed values. */
export const namedValues: JsonSchema = namedValuesWith(variableName);

/** A `[{ name, value }]` list as a record, the shape nodes hand to templates and code. */
export function toRecord(entries: readonly { name: string; value: unknown }[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const { name, value } of entries) record[name] = value ?? null;
  return record;
}
