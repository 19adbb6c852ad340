import openapiTS, { astToString } from "openapi-typescript";
import { banner } from "./banner.ts";
import type { OpenApiDocument } from "./compile-spec.ts";

/**
 * TypeSpec writes `Record<T>` and sealed models as `unevaluatedProperties` (OpenAPI 3.1), which
 * openapi-typescript reads as `Record<string, never>`. For type generation only, a schema that
 * allows extra properties of a type gets them as `additionalProperties`, and `false` is dropped
 * (TypeScript object types are closed to literals anyway). The served document keeps the original.
 */
export function forTypeGeneration(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forTypeGeneration);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "unevaluatedProperties") {
      if (!isSealed(value)) out.additionalProperties = forTypeGeneration(value);
      continue;
    }
    out[key] = forTypeGeneration(value);
  }
  return out;
}

function isSealed(value: unknown): boolean {
  if (value === false) return true;
  if (value === null || typeof value !== "object") return false;
  const not = (value as { not?: unknown }).not;
  return Object.keys(value).length === 1 && typeof not === "object" && not !== null && Object.keys(not).length === 0;
}

/** `paths`, `operations` and `components` types of the document, by openapi-typescript. */
export async function generateApiTypes(document: OpenApiDocument): Promise<string> {
  const ast = await openapiTS(forTypeGeneration(document) as never, {
    exportType: true,
    immutable: false,
    alphabetize: false,
  });
  return banner("//") + "/* eslint-disable */\n" + astToString(ast);
}
