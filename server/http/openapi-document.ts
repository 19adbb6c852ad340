import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** The parts of the compiled OpenAPI document the server reads. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, unknown>;
  components: Record<string, unknown>;
  [key: string]: unknown;
}

/** The compiled contract, as committed in generated/: the YAML text served unchanged, and its parsed form. */
export interface CompiledContract {
  yaml: string;
  document: OpenApiDocument;
}

const CONTRACT_PATH = new URL("../../generated/openapi.yaml", import.meta.url);

let cached: CompiledContract | undefined;

/** Reads generated/openapi.yaml once per process. */
export function loadContract(): CompiledContract {
  if (!cached) {
    const yaml = readFileSync(CONTRACT_PATH, "utf8");
    cached = { yaml, document: parse(yaml) as OpenApiDocument };
  }
  return cached;
}
