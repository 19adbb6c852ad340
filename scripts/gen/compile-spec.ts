import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { banner } from "./banner.ts";

/** The compiled OpenAPI 3.1 document, as the YAML text TypeSpec wrote and as a parsed object. */
export interface CompiledSpec {
  yaml: string;
  document: OpenApiDocument;
}

/** The parts of an OpenAPI document the generator reads. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas?: Record<string, unknown>; parameters?: Record<string, unknown> };
  [key: string]: unknown;
}

/** One operation of the document, with the fields the route table needs. */
export interface OpenApiOperation {
  operationId: string;
  description?: string;
  tags?: string[];
  parameters?: unknown[];
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }>;
  security?: Record<string, string[]>[];
  "x-metered"?: string;
  "x-api-key-scope"?: string;
}

/** Compiles spec/main.tsp with tspconfig.yaml and returns the document with our banner on top. */
export function compileSpec(root: string): CompiledSpec {
  const out = mkdtempSync(join(tmpdir(), "tsp-"));
  try {
    execFileSync(join(root, "node_modules/.bin/tsp"), ["compile", "spec/main.tsp", "--output-dir", out, "--warn-as-error"], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const emitted = readFileSync(join(out, "openapi.yaml"), "utf8");
    return { yaml: banner("#") + emitted, document: parse(emitted) as OpenApiDocument };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
