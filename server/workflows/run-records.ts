import { newId } from "../ids.ts";
import type { NodeFailure, NodeRunResult, RunResult } from "../workflow/index.ts";
import type { ResponseMode, RunStatus } from "./types.ts";

/** A run as this domain keeps it: the `execution_records` row in camelCase, with plain numbers. */
export interface RunRecord {
  id: string;
  workflowId: string;
  version: number;
  status: RunStatus;
  responseMode: ResponseMode;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  error: NodeFailure | null;
  totalTokens: number;
  totalSteps: number;
  elapsedMs: number | null;
  startedAt: Date;
  finishedAt: Date | null;
  createdBy: string | null;
}

/** A node's result as this domain keeps it: the `node_execution_results` row. */
export interface NodeRecord {
  id: string;
  /** Finish order within the run, from 0. */
  sequence: number;
  nodeId: string;
  nodeType: string;
  title: string;
  /** Start order within the run, from 1; null for a skipped node. */
  step: number | null;
  status: NodeRunResult["status"];
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  error: NodeFailure | null;
  recovery: NodeRunResult["recovery"];
  attempt: number;
  tokens: number;
  elapsedMs: number;
  /** ISO 8601, spelled once: the statement that writes the row and the API's answer both take it so. */
  startedAt: string;
  finishedAt: string;
  iterationNodeId: string | null;
  iterationIndex: number | null;
}

/** Whether the node ran (a skipped node has no step): only those have Dify's node events. */
export function hasStarted(node: NodeRecord): node is NodeRecord & { step: number } {
  return node.step !== null;
}

/** The engine's result of one node as the record to write; `start` is what its start gave it (none when skipped). */
export function toNodeRecord(result: NodeRunResult, start: { id: string; step: number } | undefined, sequence: number): NodeRecord {
  return {
    id: start?.id ?? newId(),
    sequence,
    nodeId: result.nodeId,
    nodeType: result.nodeType,
    title: result.title,
    step: start?.step ?? null,
    status: result.status,
    inputs: result.inputs,
    outputs: result.outputs,
    error: result.error,
    recovery: result.recovery,
    attempt: result.attempt,
    tokens: result.tokens,
    elapsedMs: result.elapsedMs,
    startedAt: new Date(result.startedAt).toISOString(),
    finishedAt: new Date(result.finishedAt).toISOString(),
    iterationNodeId: result.iteration?.nodeId ?? null,
    iterationIndex: result.iteration?.index ?? null,
  };
}

/** A run's record as it starts: running, with nothing counted yet. */
export function runningRecord(
  run: Pick<RunRecord, "id" | "workflowId" | "version" | "responseMode" | "inputs" | "startedAt" | "createdBy">,
): RunRecord {
  return {
    id: run.id,
    workflowId: run.workflowId,
    version: run.version,
    status: "running",
    responseMode: run.responseMode,
    inputs: run.inputs,
    outputs: {},
    error: null,
    totalTokens: 0,
    totalSteps: 0,
    elapsedMs: null,
    startedAt: run.startedAt,
    finishedAt: null,
    createdBy: run.createdBy,
  };
}

/** The record of a run once the engine has finished it. */
export function finishedRecord(running: RunRecord, result: RunResult): RunRecord {
  return {
    id: running.id,
    workflowId: running.workflowId,
    version: running.version,
    status: result.status,
    responseMode: running.responseMode,
    inputs: running.inputs,
    outputs: result.outputs,
    error: result.error,
    totalTokens: result.totalTokens,
    totalSteps: result.totalSteps,
    elapsedMs: result.elapsedMs,
    startedAt: running.startedAt,
    finishedAt: new Date(result.finishedAt),
    createdBy: running.createdBy,
  };
}

/** The key that pairs a node's start with its result: the same node runs once per iteration item. */
export function nodeKey(nodeId: string, iteration: { nodeId: string; index: number } | null): string {
  return iteration ? `${iteration.nodeId}\u0000${iteration.index}\u0000${nodeId}` : nodeId;
}

/**
 * JSON text for a jsonb column. Postgres refuses the NUL character in jsonb text, which node
 * outputs (an HTTP body, say) may hold: it becomes U+FFFD rather than failing the run's record.
 */
export function toJsonb(value: unknown): string {
  const text = JSON.stringify(value ?? null);
  return text.includes("\\u0000")
    ? JSON.stringify(value, (_key, v: unknown) => (typeof v === "string" ? v.replaceAll("\u0000", "\uFFFD") : v))
    : text;
}
