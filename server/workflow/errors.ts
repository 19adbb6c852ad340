/** Why a graph cannot run. Stable: the server maps them to a 422 body and the editor highlights `nodeId`. */
export type GraphValidationCode =
  | "UNKNOWN_NODE_TYPE"
  | "INVALID_NODE_CONFIG"
  | "DANGLING_CONNECTION"
  | "GRAPH_CYCLE"
  | "UNREACHABLE_NODE"
  | "VARIABLE_NOT_UPSTREAM"
  | "MISSING_START_NODE"
  | "MULTIPLE_START_NODES"
  | "DUPLICATE_NODE_ID";

/** A message in each language the product ships. */
export interface LocalizedMessage {
  "en-US": string;
  "zh-CN": string;
}

/** Extra facts about a validation failure, for the editor. */
export interface GraphValidationDetails {
  /** The failing config fields as JSON pointers (`/url`, `/cases/0/conditions`). */
  fields?: string[];
  connectionId?: string;
  /** The `{{#…#}}` reference that points to a node that is not upstream. */
  reference?: string;
}

/**
 * The one error compile throws: a graph that cannot run.
 *
 * @example
 * try { compileWorkflow(graph, registry) } catch (error) {
 *   if (error instanceof GraphValidationError) return { code: error.code, nodeId: error.nodeId, message: error.messages[locale] };
 *   throw error;
 * }
 */
export class GraphValidationError extends Error {
  override readonly name = "GraphValidationError";
  readonly code: GraphValidationCode;
  /** The offending node; null when the graph as a whole is at fault (no start node). */
  readonly nodeId: string | null;
  readonly messages: LocalizedMessage;
  readonly details: GraphValidationDetails;

  constructor(code: GraphValidationCode, nodeId: string | null, messages: LocalizedMessage, details: GraphValidationDetails = {}) {
    super(messages["en-US"]);
    this.code = code;
    this.nodeId = nodeId;
    this.messages = messages;
    this.details = details;
  }
}

/**
 * A node failure with a stable `type`, thrown from a node's `run` to say why it failed
 * (anything else thrown is recorded as `NODE_FAILED`). It never escapes the executor.
 *
 * @example
 * throw new NodeError("RESPONSE_TOO_LARGE", `response exceeded ${cap} bytes`);
 */
export class NodeError extends Error {
  override readonly name = "NodeError";
  readonly type: string;

  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

/** The failure recorded for anything a node threw. */
export function toNodeFailure(error: unknown): { type: string; message: string } {
  if (error instanceof NodeError) return { type: error.type, message: error.message };
  if (error instanceof Error) return { type: "NODE_FAILED", message: error.message };
  return { type: "NODE_FAILED", message: String(error) };
}
