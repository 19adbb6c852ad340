import { describe, expect, it } from "vitest";
import { loadContract } from "../../server/http/openapi-document.ts";

type Schema = {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  $ref?: string;
};
type Operation = { operationId?: string; description?: string; parameters?: { name?: string; description?: string; $ref?: string }[] };

/** Every place of a schema that should carry a doc comment, with the path to it. */
function undocumented(schema: Schema, at: string, out: string[]) {
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (!property.description && !property.$ref) out.push(`${at}.${name}`);
    undocumentedNested(property, `${at}.${name}`, out);
  }
}

function undocumentedNested(schema: Schema, at: string, out: string[]) {
  if (schema.properties) undocumented(schema, at, out);
  if (schema.items) undocumentedNested(schema.items, `${at}[]`, out);
  for (const part of [...(schema.allOf ?? []), ...(schema.anyOf ?? [])]) undocumentedNested(part, at, out);
}

/** The spec's doc comments become the API reference: none may be missing. */
describe("the API reference", () => {
  const document = loadContract().document as unknown as {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, Schema>; parameters?: Record<string, { description?: string }> };
  };

  it("documents every operation and parameter", () => {
    const missing: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op.description) missing.push(`${method.toUpperCase()} ${path}`);
        for (const p of op.parameters ?? []) if (!p.$ref && !p.description) missing.push(`${op.operationId} parameter ${p.name}`);
      }
    }
    for (const [name, p] of Object.entries(document.components.parameters ?? {})) if (!p.description) missing.push(`parameter ${name}`);
    expect(missing).toEqual([]);
  });

  it("documents every model and every field", () => {
    const missing: string[] = [];
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      if (!schema.description) missing.push(name);
      undocumented(schema, name, missing);
    }
    expect(missing).toEqual([]);
  });
});
