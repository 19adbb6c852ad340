import type { WorkflowGraph, WorkflowNode } from "../workflow/index.ts";
import type { ApiConnection, ApiGraph, ApiNode } from "./types.ts";

/** A node as stored in `nodes`, without its tenant and version columns. */
export interface NodeRow {
  ordinal: number;
  node_id: string;
  type: string;
  type_version: number;
  title: string | null;
  config: Record<string, unknown>;
  position: { x: number; y: number } | null;
  error_strategy: NonNullable<ApiNode["errorStrategy"]>;
  retry: { maxAttempts: number; intervalMs: number } | null;
  timeout_ms: number | null;
  default_value: Record<string, unknown> | null;
}

/** A connection as stored in `connections`, without its tenant and version columns. */
export interface ConnectionRow {
  ordinal: number;
  connection_id: string | null;
  source_node_id: string;
  source_handle: string;
  target_node_id: string;
  target_handle: string;
}

/** A graph as rows, in the order the editor saved it. */
export interface GraphRows {
  nodes: NodeRow[];
  connections: ConnectionRow[];
}

/** The graph a new workflow starts with when none is given: a lone start node. */
export const STARTER_GRAPH: ApiGraph = {
  nodes: [{ id: "start", type: "start", typeVersion: 1, title: "Start", config: { variables: [] }, errorStrategy: "fail" }],
  connections: [],
};

/** The API graph (defaults already filled by request validation) as rows. */
export function toGraphRows(graph: ApiGraph): GraphRows {
  return {
    nodes: graph.nodes.map((node, ordinal) => ({
      ordinal,
      node_id: node.id,
      type: node.type,
      type_version: node.typeVersion ?? 1,
      title: node.title ?? null,
      config: node.config,
      position: node.position ?? null,
      error_strategy: node.errorStrategy ?? "fail",
      retry: node.retry ?? null,
      timeout_ms: node.timeoutMs ?? null,
      default_value: node.defaultValue ?? null,
    })),
    connections: graph.connections.map((connection, ordinal) => ({
      ordinal,
      connection_id: connection.id ?? null,
      source_node_id: connection.sourceNodeId,
      source_handle: connection.sourceHandle ?? "source",
      target_node_id: connection.targetNodeId,
      target_handle: connection.targetHandle ?? "target",
    })),
  };
}

/** Rows as the API graph: fields that were not given are left out, as they were sent. */
export function fromGraphRows(rows: GraphRows): ApiGraph {
  return {
    nodes: rows.nodes.map((row): ApiNode => {
      const node: ApiNode = {
        id: row.node_id,
        type: row.type,
        typeVersion: row.type_version,
        config: row.config,
        errorStrategy: row.error_strategy,
      };
      if (row.title !== null) node.title = row.title;
      if (row.position !== null) node.position = row.position;
      if (row.retry !== null) node.retry = row.retry;
      if (row.timeout_ms !== null) node.timeoutMs = row.timeout_ms;
      if (row.default_value !== null) node.defaultValue = row.default_value;
      return node;
    }),
    connections: rows.connections.map((row): ApiConnection => {
      const connection: ApiConnection = {
        sourceNodeId: row.source_node_id,
        sourceHandle: row.source_handle,
        targetNodeId: row.target_node_id,
        targetHandle: row.target_handle,
      };
      if (row.connection_id !== null) connection.id = row.connection_id;
      return connection;
    }),
  };
}

/** The API graph as the engine compiles it. */
export function toEngineGraph(graph: ApiGraph): WorkflowGraph {
  return {
    nodes: graph.nodes.map((node): WorkflowNode => {
      const engineNode: WorkflowNode = {
        id: node.id,
        type: node.type,
        typeVersion: node.typeVersion ?? 1,
        title: node.title ?? node.id,
        config: node.config,
        position: node.position ?? { x: 0, y: 0 },
        errorStrategy: node.errorStrategy ?? "fail",
      };
      if (node.retry) engineNode.retry = node.retry;
      if (node.timeoutMs !== undefined) engineNode.timeoutMs = node.timeoutMs;
      if (node.defaultValue) engineNode.defaultValue = node.defaultValue;
      return engineNode;
    }),
    connections: graph.connections.map((connection) => ({
      ...(connection.id !== undefined ? { id: connection.id } : {}),
      sourceNodeId: connection.sourceNodeId,
      sourceHandle: connection.sourceHandle ?? "source",
      targetNodeId: connection.targetNodeId,
      targetHandle: connection.targetHandle ?? "target",
    })),
  };
}
