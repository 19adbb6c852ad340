import type { NodeContext, NodeOutcome, VariableType } from "./types.ts";

/** A JSON Schema (draft-07, as Ajv 8 reads it). */
export type JsonSchema = Record<string, unknown>;

/** A config problem that JSON Schema cannot express (a template that does not parse). */
export interface ConfigProblem {
  /** JSON pointer to the field, e.g. `/template`. */
  field: string;
  message: string;
}

/** A node type: its config's shape, its outgoing handles and what it does. */
export interface NodeDefinition<C = Record<string, unknown>> {
  type: string;
  version: number;
  /** Checked by Ajv at compile time, with `default`s filled in; `run` sees the checked config. */
  configSchema: JsonSchema;
  /** What the node produces, for the editor's variable picker; not enforced. */
  outputs?: Record<string, VariableType> | ((config: C) => Record<string, VariableType>);
  /** Outgoing handles besides `error`; `["source"]` when omitted. */
  handles?: readonly string[] | ((config: C) => readonly string[]);
  /** Marks the type a graph starts from; a graph has exactly one node of an entry type. */
  entry?: boolean;
  /** When true, the node's outputs become the run's outputs (merged in topological order). */
  producesRunOutputs?: boolean;
  /** Config keys passed to `run` as written: templates the node renders itself, or code that must not be spliced into. */
  rawConfigKeys?: readonly string[];
  /**
   * Makes the node a container: `config[graphKey]` is a nested graph, compiled with the outer one and run
   * through `ctx.subgraph`. References in `innerKeys` are read inside that sub-graph (raw to `run`).
   */
  subgraph?: { graphKey: string; innerKeys?: readonly string[] };
  /** Semantic checks after the schema passes; a problem becomes `INVALID_NODE_CONFIG`. */
  check?(config: C): ConfigProblem | undefined;
  run(ctx: NodeContext<C>): NodeOutcome | Promise<NodeOutcome>;
}

/**
 * Declares a node type. This is the one door for every node type, built-in or not: a later module
 * (LLM, knowledge retrieval, tool/plugin) defines its types the same way, declares the capability it
 * needs on `NodeServices`, and passes them to `createRegistry` next to `builtinNodes`.
 *
 * @example
 * declare module "../workflow/types.ts" {
 *   interface NodeServices { llm?: { complete(prompt: string, signal: AbortSignal): Promise<{ text: string; tokens: number }> } }
 * }
 *
 * export const llmNode = defineNode<{ prompt: string }>({
 *   type: "llm",
 *   version: 1,
 *   configSchema: { type: "object", required: ["prompt"], properties: { prompt: { type: "string" } } },
 *   outputs: { text: "string" },
 *   async run(ctx) {
 *     const llm = ctx.services.llm;
 *     if (!llm) throw new NodeError("SERVICE_UNAVAILABLE", "no LLM client configured");
 *     const { text, tokens } = await llm.complete(ctx.config.prompt, ctx.signal);
 *     return { outputs: { text }, tokens };
 *   },
 * });
 *
 * const registry = createRegistry([...builtinNodes, llmNode]);
 */
export function defineNode<C = Record<string, unknown>>(definition: NodeDefinition<C>): NodeDefinition<C> {
  return Object.freeze(definition);
}

/** A definition whose config type has been forgotten, as the registry holds it. */
// `any` here lets definitions with different config types share one list; `run` still checks its own.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNodeDefinition = NodeDefinition<any>;
