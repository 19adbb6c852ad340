import type { ExecutionObserver } from "../workflow/index.ts";
import type { RunRecorder } from "./run-recorder.ts";
import type { RunEventStream } from "./run-stream.ts";

/**
 * The engine's observer of one run: the recorder writes the records, and the stream (streaming
 * runs only) sends the same facts as Dify's events. Neither waits on the database or the client
 * between nodes; the run's end waits for the records, then closes the stream.
 */
export function observeRun(recorder: RunRecorder, stream: RunEventStream | null): ExecutionObserver {
  const observer: ExecutionObserver = {
    onNodeStarted(event) {
      recorder.onNodeStarted(event);
      const start = recorder.startOf(event.nodeId, event.iteration);
      if (stream && start) stream.send(stream.events.nodeStarted(event, start.id));
    },
    onNodeFinished(result) {
      const node = recorder.onNodeFinished(result);
      // Skipped nodes never started: Dify sends nothing for them; the records keep them.
      if (stream && node.step !== null) stream.send(stream.events.nodeFinished({ ...node, step: node.step }));
    },
    async onRunFinished(result) {
      await recorder.onRunFinished(result);
      stream?.close(stream.events.workflowFinished(recorder.record, recorder.nodes));
    },
  };
  if (stream) {
    observer.onRunStarted = (event) => stream.send(stream.events.workflowStarted(event.inputs, event.startedAt));
    observer.onTextChunk = (event) => stream.send(stream.events.textChunk(event));
  }
  return observer;
}
