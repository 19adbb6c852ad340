import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { compileWorkflow, GraphValidationError, type CompiledGraph, type NodeRegistry } from "../workflow/index.ts";
import { toEngineGraph } from "./graph-rows.ts";
import type { ApiGraph } from "./types.ts";

/**
 * Compiles a graph, turning the engine's `GraphValidationError` into the 422 of its code (the
 * engine's codes are error codes of the API too), with `graphError` saying where.
 *
 * @example
 * const compiled = compileOrReject(body.graph, registry); // throws AppError("GRAPH_CYCLE", …)
 */
export function compileOrReject(graph: ApiGraph, registry: NodeRegistry): CompiledGraph {
  try {
    return compileWorkflow(toEngineGraph(graph), registry);
  } catch (error) {
    if (!(error instanceof GraphValidationError)) throw error;
    throw new AppError(error.code, {
      message: message(error.messages["en-US"], error.messages["zh-CN"]),
      details: {
        graphError: {
          nodeId: error.nodeId,
          fields: error.details.fields ?? [],
          connectionId: error.details.connectionId ?? null,
          reference: error.details.reference ?? null,
        },
      },
      cause: error,
    });
  }
}
