import { Ajv, type ErrorObject } from "ajv";
import type { AnyNodeDefinition } from "./define-node.ts";
import type { NodeRegistry } from "./registry.ts";
import { DEFAULT_SOURCE_HANDLE, ERROR_HANDLE, type ErrorStrategy, type RetryPolicy, type WorkflowNode } from "./types.ts";
import { invalidGraph } from "./validation-messages.ts";

/** A node whose envelope, type and config have been checked; `config` is a frozen copy with defaults. */
export interface CheckedNode {
  id: string;
  type: string;
  title: string;
  definition: AnyNodeDefinition;
  config: Readonly<Record<string, unknown>>;
  errorStrategy: ErrorStrategy;
  retry: RetryPolicy;
  timeoutMs: number | null;
  defaultValue: Readonly<Record<string, unknown>>;
}

const NO_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 1, intervalMs: 0 });
const DAY_MS = 86_400_000;

const envelopeAjv = new Ajv({ allErrors: true, strict: true });
const validateEnvelope = envelopeAjv.compile({
  type: "object",
  required: ["id", "type", "typeVersion", "config"],
  properties: {
    id: { type: "string", minLength: 1, maxLength: 128 },
    type: { type: "string", minLength: 1 },
    typeVersion: { type: "integer", minimum: 1 },
    title: { type: "string" },
    config: { type: "object" },
    position: { type: "object", properties: { x: { type: "number" }, y: { type: "number" } } },
    errorStrategy: { enum: ["fail", "error_branch", "default_value"] },
    retry: {
      type: "object",
      required: ["maxAttempts", "intervalMs"],
      properties: {
        maxAttempts: { type: "integer", minimum: 1, maximum: 10 },
        intervalMs: { type: "integer", minimum: 0, maximum: 600_000 },
      },
    },
    timeoutMs: { type: "integer", minimum: 1, maximum: DAY_MS },
    defaultValue: { type: "object" },
  },
});

/** Checks one node: unique id, well-formed envelope, known type, config valid against the type's schema. */
export function checkNode(raw: unknown, registry: NodeRegistry, seenIds: Set<string>): CheckedNode {
  const id = raw !== null && typeof raw === "object" && typeof (raw as { id?: unknown }).id === "string" ? (raw as { id: string }).id : "";
  if (id && seenIds.has(id)) throw invalidGraph.duplicateNodeId(id);
  if (!validateEnvelope(raw)) throw invalidGraph.invalidConfig(id, problemsOf(validateEnvelope.errors));
  seenIds.add(id);
  const node = raw as WorkflowNode;

  const registered = registry.get(node.type, node.typeVersion);
  if (!registered) throw invalidGraph.unknownNodeType(id, node.type, node.typeVersion, registry.versionsOf(node.type));

  const config = structuredClone(node.config);
  if (!registered.validateConfig(config)) throw invalidGraph.invalidConfig(id, problemsOf(registered.validateConfig.errors));
  const problem = registered.definition.check?.(config);
  if (problem) throw invalidGraph.invalidConfig(id, [problem]);

  const errorStrategy = node.errorStrategy ?? "fail";
  if (errorStrategy === "default_value" && !node.defaultValue) {
    throw invalidGraph.invalidConfig(id, [{ field: "/defaultValue", message: "is required by the default_value error strategy" }]);
  }
  return {
    id,
    type: node.type,
    title: node.title ?? id,
    definition: registered.definition,
    config: deepFreeze(config),
    errorStrategy,
    retry: node.retry ? Object.freeze({ ...node.retry }) : NO_RETRY,
    timeoutMs: node.timeoutMs ?? null,
    defaultValue: deepFreeze(structuredClone(node.defaultValue ?? {})),
  };
}

/** The outgoing handles a checked node may have connections from. */
export function handlesOf(node: CheckedNode): readonly string[] {
  const declared = node.definition.handles;
  const handles = typeof declared === "function" ? declared(node.config) : (declared ?? [DEFAULT_SOURCE_HANDLE]);
  return node.errorStrategy === "error_branch" ? [...handles, ERROR_HANDLE] : handles;
}

function problemsOf(errors: ErrorObject[] | null | undefined): { field: string; message: string }[] {
  return (errors ?? []).map((error) => {
    const missing = error.keyword === "required" ? `/${String(error.params["missingProperty"])}` : "";
    return { field: `${error.instancePath}${missing}`, message: error.message ?? error.keyword };
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
