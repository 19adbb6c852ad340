import { AbortSwitch } from "./abort-switch.ts";
import { NodeError } from "./errors.ts";
import { ObserverQueue } from "./observer-queue.ts";
import type { ExecutionObserver, IterationScope, NodeFailure, NodeRunResult, NodeServices } from "./types.ts";
import type { VariablePool } from "./variable-pool.ts";

/** What ended a run early, first cause wins: cancellation, a limit, a node under `fail`, the observer. */
export interface RunEnding {
  status: "failed" | "stopped";
  error: NodeFailure;
}

/** Settings of one run shared by its top-level graph and every iteration sub-run. */
export interface RunSettings {
  runId: string;
  services: NodeServices;
  observer: ExecutionObserver | undefined;
  concurrency: number;
  maxSteps: number;
  defaultNodeTimeoutMs: number | null;
}

/** State shared by every graph of one run: the step budget, the results, the one abort switch. */
export class RunState {
  readonly runId: string;
  readonly services: NodeServices;
  readonly concurrency: number;
  readonly maxSteps: number;
  readonly defaultNodeTimeoutMs: number | null;
  readonly queue: ObserverQueue;
  /** Throwing it stops every graph and node of the run. */
  readonly abort = new AbortSwitch();
  readonly results: NodeRunResult[] = [];
  steps = 0;
  tokens = 0;
  ending: RunEnding | null = null;

  constructor(settings: RunSettings) {
    this.runId = settings.runId;
    this.services = settings.services;
    this.concurrency = settings.concurrency;
    this.maxSteps = settings.maxSteps;
    this.defaultNodeTimeoutMs = settings.defaultNodeTimeoutMs;
    this.queue = new ObserverQueue(settings.observer, (error) =>
      this.end("failed", { type: "OBSERVER_FAILED", message: error instanceof Error ? error.message : String(error) }),
    );
  }

  /** Ends the run early and aborts everything still running; later calls keep the first cause. */
  end(status: RunEnding["status"], error: NodeFailure): void {
    if (this.ending) return;
    this.ending = { status, error };
    this.abort.abort(new NodeError(error.type, error.message));
  }

  /** Counts a node start; 0 (and the run failed) once the step limit is spent. */
  takeStep(): number {
    if (this.steps >= this.maxSteps) {
      this.end("failed", { type: "STEP_LIMIT_EXCEEDED", message: `the run exceeded its limit of ${this.maxSteps} steps` });
      return 0;
    }
    return ++this.steps;
  }

  record(result: NodeRunResult): void {
    this.results.push(result);
    this.tokens += result.tokens;
    if (this.queue.wants("onNodeFinished")) void this.queue.send("onNodeFinished", result);
  }
}

/** What one graph (the run's, or one iteration item's) runs with. */
export interface GraphEnv {
  run: RunState;
  pool: VariablePool;
  /** Thrown when this graph must stop: the run ended, the enclosing node was aborted, or a node failed here. */
  abort: AbortSwitch;
  graphInputs: Readonly<Record<string, unknown>>;
  iteration: IterationScope | null;
}
