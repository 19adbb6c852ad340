import type { components } from "../../generated/api-types.ts";
import type { NodeRetryEvent, NodeStartedEvent, SubgraphRunStartedEvent, TextChunkEvent } from "../workflow/index.ts";
import type { NodeRecord, RunRecord } from "./run-records.ts";

type S = components["schemas"];
export type StreamEvent = S["Workflow.WorkflowStreamEvent"];

/** Failures that mean a node was cut short by the run's end (a stop, a limit, another node's failure), not by itself. */
const INTERRUPTIONS = new Set(["STOPPED", "ABORTED", "RUN_TIME_LIMIT", "STEP_LIMIT_EXCEEDED", "OBSERVER_FAILED"]);

const seconds = (ms: number) => ms / 1000;
const unix = (at: Date | number | string) =>
  Math.floor((typeof at === "number" ? at : typeof at === "string" ? Date.parse(at) : at.getTime()) / 1000);

/**
 * A node's status in Dify's words: a failure its error strategy absorbed is `exception`, one that
 * came from the run ending around it is `stopped`.
 */
export function finishedStatusOf(node: NodeRecord): S["Workflow.NodeFinishedStatus"] {
  if (node.status !== "failed") return "succeeded";
  if (node.recovery) return "exception";
  return node.error && INTERRUPTIONS.has(node.error.type) ? "stopped" : "failed";
}

/** Who a node event is about, as Dify's node events open: a node that has started has an execution id and a step. */
function startedNode(event: Pick<NodeStartedEvent, "nodeId" | "nodeType" | "title" | "step">, executionId: string) {
  const { nodeId: node_id, nodeType: node_type, title, step: index } = event;
  return { id: executionId, node_id, node_type, title, index, predecessor_node_id: null };
}

/** The events of one run in Dify's wire format (its service API's `executeWorkflow`). */
export function runEvents(run: Pick<RunRecord, "id" | "workflowId" | "version">) {
  const ids = { task_id: run.id, workflow_run_id: run.id };
  return {
    workflowStarted(inputs: Record<string, unknown>, startedAt: number): StreamEvent {
      return {
        event: "workflow_started",
        ...ids,
        data: { id: run.id, workflow_id: run.workflowId, version: run.version, inputs, created_at: unix(startedAt), reason: "initial" },
      };
    },

    nodeStarted(event: NodeStartedEvent, executionId: string): StreamEvent {
      return {
        event: "node_started",
        ...ids,
        data: {
          ...startedNode(event, executionId),
          inputs: null,
          inputs_truncated: false,
          created_at: unix(event.startedAt),
          extras: {},
          iteration_id: event.iteration?.nodeId ?? null,
          iteration_index: event.iteration?.index ?? null,
          loop_id: null,
        },
      };
    },

    nodeFinished(node: NodeRecord & { step: number }): StreamEvent {
      return {
        event: "node_finished",
        ...ids,
        data: {
          ...startedNode(node, node.id),
          inputs: node.inputs,
          inputs_truncated: false,
          process_data: null,
          process_data_truncated: false,
          outputs: node.outputs,
          outputs_truncated: false,
          status: finishedStatusOf(node),
          error: node.error?.message ?? null,
          elapsed_time: seconds(node.elapsedMs),
          execution_metadata: { total_tokens: node.tokens },
          created_at: unix(node.startedAt),
          finished_at: unix(node.finishedAt),
          files: [],
          iteration_id: node.iterationNodeId,
          iteration_index: node.iterationIndex,
          loop_id: null,
        },
      };
    },

    nodeRetry(event: NodeRetryEvent, executionId: string): StreamEvent {
      return {
        event: "node_retry",
        ...ids,
        data: {
          ...startedNode(event, executionId),
          inputs: event.inputs,
          inputs_truncated: false,
          process_data: null,
          process_data_truncated: false,
          outputs: null,
          outputs_truncated: false,
          status: "retry",
          error: event.error.message,
          elapsed_time: seconds(event.elapsedMs),
          execution_metadata: { total_tokens: 0 },
          created_at: unix(event.startedAt),
          finished_at: unix(event.finishedAt),
          retry_index: event.attempt - 1,
          files: [],
          iteration_id: event.iteration?.nodeId ?? null,
          iteration_index: event.iteration?.index ?? null,
          loop_id: null,
        },
      };
    },

    iterationStarted(event: NodeStartedEvent, executionId: string): StreamEvent {
      const { nodeId: node_id, nodeType: node_type, title } = event;
      return {
        event: "iteration_started",
        ...ids,
        data: {
          id: executionId,
          node_id,
          node_type,
          title,
          created_at: unix(event.startedAt),
          inputs: null,
          inputs_truncated: false,
          metadata: {},
          extras: {},
        },
      };
    },

    iterationNext(event: SubgraphRunStartedEvent, executionId: string): StreamEvent {
      const { nodeId: node_id, nodeType: node_type, title, index } = event;
      return {
        event: "iteration_next",
        ...ids,
        data: { id: executionId, node_id, node_type, title, index, created_at: unix(event.startedAt), extras: {} },
      };
    },

    /** An iteration node's end; `steps` is how many items it started. Its tokens are its own, as recorded. */
    iterationCompleted(node: NodeRecord, steps: number): StreamEvent {
      return {
        event: "iteration_completed",
        ...ids,
        data: {
          id: node.id,
          node_id: node.nodeId,
          node_type: node.nodeType,
          title: node.title,
          outputs: node.outputs,
          outputs_truncated: false,
          inputs: node.inputs,
          inputs_truncated: false,
          status: finishedStatusOf(node),
          error: node.error?.message ?? null,
          elapsed_time: seconds(node.elapsedMs),
          total_tokens: node.tokens,
          execution_metadata: { total_tokens: node.tokens },
          created_at: unix(node.startedAt),
          finished_at: unix(node.finishedAt),
          steps,
          extras: {},
        },
      };
    },

    textChunk(event: TextChunkEvent): StreamEvent {
      return { event: "text_chunk", ...ids, data: { text: event.text, from_variable_selector: [event.nodeId, "answer"] } };
    },

    workflowFinished(finished: RunRecord, nodes: readonly NodeRecord[]): StreamEvent {
      return {
        event: "workflow_finished",
        ...ids,
        data: {
          id: run.id,
          workflow_id: run.workflowId,
          status: finished.status,
          outputs: finished.outputs,
          error: finished.error?.message ?? null,
          elapsed_time: seconds(finished.elapsedMs ?? 0),
          total_tokens: finished.totalTokens,
          total_steps: finished.totalSteps,
          created_at: unix(finished.startedAt),
          finished_at: unix(finished.finishedAt ?? Date.now()),
          exceptions_count: nodes.filter((node) => node.recovery !== null).length,
          files: [],
          created_by: finished.createdBy === null ? null : { id: finished.createdBy },
        },
      };
    },

    error(code: string, message: string): StreamEvent {
      return { event: "error", ...ids, status: 500, code, message };
    },
  };
}

export type RunEvents = ReturnType<typeof runEvents>;

/** The keep-alive event. */
export const PING_EVENT: StreamEvent = { event: "ping" };
