import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { OpenApiDocument } from "./openapi-document.ts";

/** The id under which the document's components are registered, so `$ref`s resolve. */
const DOCUMENT_ID = "openapi.json";

/** Points the spec's local `#/components/…` references at the registered document. */
function rebaseRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebaseRefs);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === "$ref" && typeof value === "string" && value.startsWith("#/") ? DOCUMENT_ID + value : rebaseRefs(value);
  }
  return out;
}

/** How a compiler treats input: parameters arrive as strings and are coerced; JSON bodies are not. */
export type SchemaMode = "parameters" | "body" | "response";

/**
 * Compiles JSON Schemas of the OpenAPI 3.1 document (JSON Schema 2020-12) with Ajv. One compiler
 * per mode: `parameters` coerces strings to the declared types and fills defaults, `body` fills
 * defaults but never coerces, `response` only checks.
 */
export class SchemaCompiler {
  readonly #ajv: Ajv2020;

  constructor(document: OpenApiDocument, mode: SchemaMode) {
    this.#ajv = new Ajv2020({
      allErrors: true,
      strict: false,
      coerceTypes: mode === "parameters" ? "array" : false,
      useDefaults: mode !== "response",
      discriminator: false,
    });
    addFormats.default(this.#ajv);
    this.#ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    this.#ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
    this.#ajv.addSchema({ $id: DOCUMENT_ID, components: document.components }, DOCUMENT_ID);
  }

  compile(schema: unknown): ValidateFunction {
    return this.#ajv.compile(rebaseRefs(schema) as object);
  }
}

export type { ErrorObject, ValidateFunction };
