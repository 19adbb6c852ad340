export { AbortSwitch, type AbortListener } from "./abort-switch.ts";
export { compileWorkflow, type CompiledGraph, type CompiledNode } from "./compile.ts";
export { defineNode, type AnyNodeDefinition, type ConfigProblem, type JsonSchema, type NodeDefinition } from "./define-node.ts";
export { GraphValidationError, NodeError, type GraphValidationCode, type GraphValidationDetails, type LocalizedMessage } from "./errors.ts";
export { executeWorkflow, type ExecuteOptions } from "./execute.ts";
export { builtinNodes, isNonPublicAddress, type HttpPolicy, type HostResolver, type ResolvedAddress } from "./nodes/index.ts";
export { createRegistry, type NodeRegistry, type RegisteredNode } from "./registry.ts";
export * from "./types.ts";
