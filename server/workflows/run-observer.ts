import type { ExecutionObserver } from "../workflow/index.ts";
import type { RunRecorder } from "./run-recorder.ts";
import { hasStarted } from "./run-records.ts";
import type { RunEventStream } from "./run-stream.ts";

/** Nodes of this type are containers whose items Dify reports with `iteration_*` events. */
const ITERATION = "iteration";

/**
 * The engine's observer of one run: the recorder writes the records, and the stream (streaming
 * runs only) sends the same facts as Dify's events. Neither waits on the database or the client
 * between nodes; the run's end waits for the records, then closes the stream. Retries and
 * iteration items are only streamed: the records keep each node's last attempt, and each item's
 * nodes with their item's index.
 */
export function observeRun(recorder: RunRecorder, stream: RunEventStream | null): ExecutionObserver {
  /** Items started per iteration node execution, for `iteration_completed`'s `steps`. */
  const items = new Map<string, number>();
  const observer: ExecutionObserver = {
    onNodeStarted(event) {
      const start = recorder.onNodeStarted(event);
      if (!stream) return;
      stream.send(stream.events.nodeStarted(event, start.id));
      if (event.nodeType === ITERATION) stream.send(stream.events.iterationStarted(event, start.id));
    },
    onNodeFinished(result) {
      const node = recorder.onNodeFinished(result);
      // Skipped nodes never started: Dify sends nothing for them; the records keep them.
      if (!stream || !hasStarted(node)) return;
      if (node.nodeType === ITERATION) {
        stream.send(stream.events.iterationCompleted(node, items.get(node.id) ?? 0));
        items.delete(node.id);
      }
      stream.send(stream.events.nodeFinished(node));
    },
    async onRunFinished(result) {
      await recorder.onRunFinished(result);
      stream?.close(stream.events.workflowFinished(recorder.record, recorder.nodes));
    },
  };
  if (stream) {
    observer.onRunStarted = (event) => stream.send(stream.events.workflowStarted(event.inputs, event.startedAt));
    observer.onTextChunk = (event) => stream.send(stream.events.textChunk(event));
    observer.onNodeRetry = (event) => {
      const start = recorder.startOf(event.nodeId, event.iteration);
      if (start) stream.send(stream.events.nodeRetry(event, start.id));
    };
    observer.onSubgraphRunStarted = (event) => {
      const start = recorder.startOf(event.nodeId, event.iteration);
      if (!start || event.nodeType !== ITERATION) return;
      items.set(start.id, (items.get(start.id) ?? 0) + 1);
      stream.send(stream.events.iterationNext(event, start.id));
    };
  }
  return observer;
}
