/** What a node does when it fails after its last attempt. */
export type ErrorStrategy = "fail" | "error_branch" | "default_value";

/** Total attempts including the first (`maxAttempts: 3` = one run and up to two retries). */
export interface RetryPolicy {
  maxAttempts: number;
  intervalMs: number;
}

/** One node as the editor saves it. `config` is checked against the node type's JSON Schema at compile time. */
export interface WorkflowNode {
  id: string;
  type: string;
  typeVersion: number;
  title: string;
  config: Record<string, unknown>;
  position: { x: number; y: number };
  errorStrategy?: ErrorStrategy;
  retry?: RetryPolicy;
  timeoutMs?: number;
  /** The outputs used in place of the node's own when it fails under the `default_value` strategy. */
  defaultValue?: Record<string, unknown>;
}

/** An edge from one node's outgoing handle (`source`, an if-else case, `error`) to another node's `target`. */
export interface WorkflowConnection {
  id?: string;
  sourceNodeId: string;
  sourceHandle: string;
  targetNodeId: string;
  targetHandle: string;
}

/** A workflow as stored: a DAG of typed nodes and the connections between them. */
export interface WorkflowGraph {
  nodes: WorkflowNode[];
  connections: WorkflowConnection[];
}

/** The handle every node leaves by when it succeeds without choosing a branch. */
export const DEFAULT_SOURCE_HANDLE = "source";
/** The handle a node under the `error_branch` strategy leaves by when it fails. */
export const ERROR_HANDLE = "error";
/** The only incoming handle a node has. */
export const TARGET_HANDLE = "target";

/** Value types a node can declare for its outputs (Dify's names). */
export type VariableType =
  | "string"
  | "number"
  | "boolean"
  | "object"
  | "array[string]"
  | "array[number]"
  | "array[boolean]"
  | "array[object]"
  | "array[any]"
  | "any";

/** Reads the variable pool: `get("node.output.field")` or `get(["node", "output"])`, `render("Hi {{#start.name#}}")`. */
export interface VariableReader {
  get(selector: string | readonly string[]): unknown;
  render(template: string): string;
}

/**
 * Capabilities the caller injects for nodes to reach the world; the engine never imports a domain.
 * Open on purpose: a module that adds node types declares its capability by declaration merging,
 * e.g. `declare module "../workflow/types.ts" { interface NodeServices { llm?: LlmClient } }`.
 */
export interface NodeServices {
  [name: string]: unknown;
}

/** Why a node failed: a stable SCREAMING_SNAKE `type` (`TIMEOUT`, `CODE_TIME_LIMIT`, …) and a message. */
export interface NodeFailure {
  type: string;
  message: string;
}

/** What a node's `run` returns. */
export interface NodeOutcome {
  outputs: Record<string, unknown>;
  /** The outgoing handle to follow; `source` when omitted. */
  handle?: string;
  /** LLM tokens spent, summed into the run's total. */
  tokens?: number;
  /** What to record as the node's inputs; the resolved config when omitted. */
  inputs?: Record<string, unknown>;
}

/** Which iteration item a node ran for, when it ran inside an iteration's sub-graph. */
export interface IterationScope {
  nodeId: string;
  index: number;
}

/** The outcome of running a container node's sub-graph once (see `NodeContext.subgraph`). */
export interface SubgraphRun {
  status: "succeeded" | "failed" | "stopped";
  error: NodeFailure | null;
  /** The sub-run's variables, falling back to the enclosing run's. */
  variables: VariableReader;
}

/** Runs a container node's compiled sub-graph with `scope` as the container's own outputs inside it. */
export interface SubgraphRunner {
  run(scope: Record<string, unknown>, options: { index: number; signal: AbortSignal }): Promise<SubgraphRun>;
}

/** Everything a node's `run` may use. It reaches the world only through this. */
export interface NodeContext<C = Record<string, unknown>> {
  node: { id: string; type: string; title: string };
  /** The config with every `{{#…#}}` reference resolved (except the definition's raw keys). */
  config: C;
  variables: VariableReader;
  /** The inputs the graph started with: the run's inputs, or `{ item, index }` inside an iteration. */
  graphInputs: Readonly<Record<string, unknown>>;
  runId: string;
  /** 1 on the first attempt. */
  attempt: number;
  /** Aborted on timeout, on cancellation and when the run fails elsewhere. */
  signal: AbortSignal;
  services: NodeServices;
  /** Streams a piece of text to the caller (`text_chunk`). */
  streamText(text: string): Promise<void>;
  /** Present for definitions that declare a `subgraph`. */
  subgraph: SubgraphRunner | null;
}

/** How a node ended: `skipped` when none of its incoming branches was taken. */
export type NodeStatus = "succeeded" | "failed" | "skipped";

/** A finished node, as recorded in `node_execution_results` and sent as `node_finished`. Times are epoch ms. */
export interface NodeRunResult {
  runId: string;
  nodeId: string;
  nodeType: string;
  title: string;
  status: NodeStatus;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  error: NodeFailure | null;
  /** How a failure was absorbed so the run could go on; null when it was not (or nothing failed). */
  recovery: "error_branch" | "default_value" | null;
  startedAt: number;
  finishedAt: number;
  elapsedMs: number;
  tokens: number;
  /** The attempt that produced this result; 0 for a skipped node. */
  attempt: number;
  iteration: IterationScope | null;
}

/** A node about to run (`node_started`). */
export interface NodeStartedEvent {
  runId: string;
  nodeId: string;
  nodeType: string;
  title: string;
  /** 1-based order in which nodes started in this run, across iterations. */
  step: number;
  startedAt: number;
  iteration: IterationScope | null;
}

/** An attempt of a node that failed with another to follow (`node_retry`). Times are epoch ms. */
export interface NodeRetryEvent {
  runId: string;
  nodeId: string;
  nodeType: string;
  title: string;
  /** The node's step, as in its `NodeStartedEvent`. */
  step: number;
  /** The resolved config the attempt ran with. */
  inputs: Record<string, unknown>;
  error: NodeFailure;
  /** The attempt that failed, from 1. */
  attempt: number;
  startedAt: number;
  finishedAt: number;
  elapsedMs: number;
  iteration: IterationScope | null;
}

/** A container node (an iteration) starting its sub-graph for one item (`iteration_next`). */
export interface SubgraphRunStartedEvent {
  runId: string;
  /** The container node. */
  nodeId: string;
  nodeType: string;
  title: string;
  /** The container's step, as in its `NodeStartedEvent`. */
  step: number;
  /** The item's index, from 0. */
  index: number;
  startedAt: number;
  /** Where the container itself runs. */
  iteration: IterationScope | null;
}

/** A run about to start (`workflow_started`). */
export interface RunStartedEvent {
  runId: string;
  inputs: Record<string, unknown>;
  systemVariables: Record<string, unknown>;
  startedAt: number;
}

/** A piece of streamed text (`text_chunk`). */
export interface TextChunkEvent {
  runId: string;
  nodeId: string;
  text: string;
  iteration: IterationScope | null;
}

/** `partial-succeeded`: some node failed but an error branch, default value or iteration absorbed it. */
export type RunStatus = "succeeded" | "failed" | "partial-succeeded" | "stopped";

/** A finished run (`workflow_finished`, the `execution_records` row). Times are epoch ms. */
export interface RunResult {
  runId: string;
  status: RunStatus;
  /** The end and answer nodes' outputs; empty when the run failed or was stopped. */
  outputs: Record<string, unknown>;
  error: NodeFailure | null;
  startedAt: number;
  finishedAt: number;
  elapsedMs: number;
  totalTokens: number;
  /** Nodes started, across iterations; what the step limit counts. */
  totalSteps: number;
  /** Every finished node (skipped ones included) in the order they finished. */
  nodes: NodeRunResult[];
}

/**
 * Receives a run's events. Calls are made one at a time, in order, each awaited before the next,
 * so a slow writer never sees `onNodeFinished` before that node's `onNodeStarted`. Skipped nodes get
 * `onNodeFinished` only. A throwing callback fails the run (`OBSERVER_FAILED`); one thrown from
 * `onRunFinished` rejects `executeWorkflow`.
 */
export interface ExecutionObserver {
  onRunStarted?(event: RunStartedEvent): void | Promise<void>;
  onNodeStarted?(event: NodeStartedEvent): void | Promise<void>;
  /** A failed attempt with a retry to follow; the node's one `onNodeFinished` comes after its last attempt. */
  onNodeRetry?(event: NodeRetryEvent): void | Promise<void>;
  /** A container node starting an item, after its `onNodeStarted` and before the item's nodes start. */
  onSubgraphRunStarted?(event: SubgraphRunStartedEvent): void | Promise<void>;
  onNodeFinished?(result: NodeRunResult): void | Promise<void>;
  onTextChunk?(event: TextChunkEvent): void | Promise<void>;
  onRunFinished?(result: RunResult): void | Promise<void>;
}
