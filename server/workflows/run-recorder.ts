import { newId } from "../ids.ts";
import type { WorkspaceScope } from "../tenancy/scope.ts";
import type { NodeRunResult, NodeStartedEvent, RunResult } from "../workflow/index.ts";
import { finishedRecord, nodeKey, toNodeRecord, type NodeRecord, type RunRecord } from "./run-records.ts";
import type { RunRecordOpening, RunWrite } from "./run-writes.ts";

/** Writes a run's records (through the batcher that puts the writes of concurrent runs in one statement). */
export type RunWriter = (write: RunWrite) => Promise<void>;

/**
 * Writes a run's records as it goes: each node's result as it finishes, then the run's end.
 *
 * Node results are written behind the run rather than awaited by it: the engine awaits each
 * observer call, so an awaited insert per node would put a database round trip between every two
 * nodes. A result waits one turn of the event loop (`setImmediate`), so the results of nodes that
 * finish together go in one insert, and a run never has more than one insert in flight; they land
 * in finish order. A run whose nodes all finish within that turn (no I/O) writes its results and
 * its end in one statement. `onRunFinished` writes what is left with the run's end, so a finished
 * run always reads back whole; a crash leaves the results written so far, which recovery keeps.
 * The writer may put each of these writes in one statement with other runs' writes.
 *
 * A run started without a statement of its own (`opening`) is recorded by its first write: each
 * write carries the opening until one succeeds.
 */
export class RunRecorder {
  /** Every node record of the run, as written: the blocking answer is built from them. */
  readonly nodes: NodeRecord[] = [];
  /** The run's record; finished once `onRunFinished` has written it. */
  record: RunRecord;
  readonly #write: RunWriter;
  readonly #scope: WorkspaceScope;
  readonly #starts = new Map<string, { id: string; step: number }>();
  #pending: NodeRecord[] = [];
  #scheduled: ReturnType<typeof setImmediate> | null = null;
  #writing: Promise<void> | null = null;
  #failure: unknown = null;
  #opening: RunRecordOpening | null;

  constructor(write: RunWriter, scope: WorkspaceScope, record: RunRecord, opening: RunRecordOpening | null = null) {
    this.#write = write;
    this.#scope = scope;
    this.record = record;
    this.#opening = opening;
  }

  /** Gives a node's execution its id as it starts, so `node_started` and `node_finished` share it; answers it with the step. */
  onNodeStarted(event: NodeStartedEvent): { id: string; step: number } {
    const start = { id: newId(), step: event.step };
    this.#starts.set(nodeKey(event.nodeId, event.iteration), start);
    return start;
  }

  /** The execution id and step given to a node at its start (none for a skipped node). */
  startOf(nodeId: string, iteration: NodeRunResult["iteration"]): { id: string; step: number } | undefined {
    return this.#starts.get(nodeKey(nodeId, iteration));
  }

  /** Records a finished node (written behind the run) and answers its record. */
  onNodeFinished(result: NodeRunResult): NodeRecord {
    // A failed write fails the run (the engine ends it with OBSERVER_FAILED) instead of going on unrecorded.
    if (this.#failure) throw this.#failure;
    const key = nodeKey(result.nodeId, result.iteration);
    const node = toNodeRecord(result, this.#starts.get(key), this.nodes.length);
    this.#starts.delete(key);
    this.nodes.push(node);
    this.#pending.push(node);
    if (!this.#writing && !this.#scheduled) {
      this.#scheduled = setImmediate(() => {
        this.#scheduled = null;
        this.#writing = this.#writeBehind();
      });
    }
    return node;
  }

  async onRunFinished(result: RunResult): Promise<void> {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    await this.#writing;
    const finished = finishedRecord(this.record, result);
    this.record = this.#failure
      ? { ...finished, status: "failed", outputs: {}, error: { type: "RECORDING_FAILED", message: String(this.#failure) } }
      : finished;
    await this.#send(this.#runWrite(this.#failure ? [] : this.#pending.splice(0), this.record));
  }

  async #writeBehind(): Promise<void> {
    while (this.#pending.length > 0 && !this.#failure) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await this.#send(this.#runWrite(batch));
      } catch (error) {
        this.#failure = error;
      }
    }
    this.#writing = null;
  }

  async #send(write: RunWrite): Promise<void> {
    await this.#write(write);
    this.#opening = null;
  }

  #runWrite(nodes: readonly NodeRecord[], finished?: RunRecord): RunWrite {
    const { organizationId, workspaceId } = this.#scope;
    return { organizationId, workspaceId, runId: this.record.id, opening: this.#opening, nodes, finished: finished ?? null };
  }
}
