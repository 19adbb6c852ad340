import type { NodeRecord, RunRecord } from "./run-records.ts";
import type { NodeExecution, WorkflowRun, WorkflowRunSummary } from "./types.ts";

export function toRunSummary(run: RunRecord): WorkflowRunSummary {
  return {
    id: run.id,
    workflowId: run.workflowId,
    version: run.version,
    status: run.status,
    error: run.error,
    totalTokens: run.totalTokens,
    totalSteps: run.totalSteps,
    elapsedMs: run.elapsedMs,
    responseMode: run.responseMode,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    createdBy: run.createdBy,
  };
}

export function toNodeExecution(node: NodeRecord): NodeExecution {
  return {
    id: node.id,
    nodeId: node.nodeId,
    nodeType: node.nodeType,
    title: node.title,
    index: node.step,
    status: node.status,
    inputs: node.inputs,
    outputs: node.outputs,
    error: node.error,
    recovery: node.recovery,
    attempt: node.attempt,
    tokens: node.tokens,
    elapsedMs: node.elapsedMs,
    startedAt: node.startedAt,
    finishedAt: node.finishedAt,
    iteration: node.iterationNodeId === null ? null : { nodeId: node.iterationNodeId, index: node.iterationIndex ?? 0 },
  };
}

/**
 * The summary with the run's own fields added to it. Not spread into a new object: a spread's copy
 * of this many properties is slow to make and several times slower for JSON.stringify to read.
 */
export function toWorkflowRun(run: RunRecord, nodes: readonly NodeRecord[]): WorkflowRun {
  return Object.assign(toRunSummary(run), { inputs: run.inputs, outputs: run.outputs, nodes: nodes.map(toNodeExecution) });
}
