import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { AnyNodeDefinition } from "./define-node.ts";

/** A node type ready for compile: its definition and its config validator. */
export interface RegisteredNode {
  definition: AnyNodeDefinition;
  /** Validates and fills in defaults in place; errors are on `validateConfig.errors`. */
  validateConfig: ValidateFunction;
}

/** The node types a compile may use, looked up by type and version. */
export interface NodeRegistry {
  get(type: string, version: number): RegisteredNode | undefined;
  /** Every version registered for a type, to tell "no such type" from "no such version". */
  versionsOf(type: string): number[];
  list(): AnyNodeDefinition[];
}

/**
 * Builds a registry from node definitions; schemas are compiled once here, so a bad schema or a
 * duplicate type and version throws at start-up rather than on the first run.
 *
 * @example
 * const registry = createRegistry([...builtinNodes, llmNode]);
 */
export function createRegistry(definitions: readonly AnyNodeDefinition[]): NodeRegistry {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  const byKey = new Map<string, RegisteredNode>();
  const versions = new Map<string, number[]>();
  for (const definition of definitions) {
    const key = registryKey(definition.type, definition.version);
    if (byKey.has(key)) throw new Error(`node type ${definition.type}@${definition.version} is registered twice`);
    byKey.set(key, { definition, validateConfig: ajv.compile(definition.configSchema) });
    versions.set(definition.type, [...(versions.get(definition.type) ?? []), definition.version]);
  }
  return {
    get: (type, version) => byKey.get(registryKey(type, version)),
    versionsOf: (type) => versions.get(type) ?? [],
    list: () => [...definitions],
  };
}

function registryKey(type: string, version: number): string {
  return `${type}@${version}`;
}
