import { SSEStreamingApi } from "hono/streaming";
import type { RunEvents, StreamEvent } from "./run-events.ts";
import { PING_EVENT } from "./run-events.ts";

/** Dify's keep-alive period. */
export const PING_INTERVAL_MS = 10_000;

/**
 * A run's Server-Sent Events: one `data:` line of JSON per event, as Dify sends them (no `event:`
 * field, so `EventSource.onmessage` and Dify's line readers both see every event), and a `ping`
 * every 10 seconds until the stream closes.
 *
 * It is Hono's SSE writer (`SSEStreamingApi`, what `streamSSE` uses) over a `Response` of its own:
 * handlers return a `Response` and never see Hono's context. Writes are chained rather than awaited
 * by the run, so a client that reads slowly (or has gone) never holds the workflow back; a client
 * that goes away does not stop the run.
 */
export class RunEventStream {
  readonly response: Response;
  readonly events: RunEvents;
  readonly #stream: SSEStreamingApi;
  readonly #ping: ReturnType<typeof setInterval>;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(events: RunEvents) {
    this.events = events;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.#stream = new SSEStreamingApi(writable, readable);
    this.response = new Response(this.#stream.responseReadable, {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        // Proxies such as nginx would otherwise hold events back until their buffer fills.
        "x-accel-buffering": "no",
      },
    });
    this.#ping = setInterval(() => this.send(PING_EVENT), PING_INTERVAL_MS);
  }

  /** Queues one event behind those already queued. */
  send(event: StreamEvent): void {
    if (this.#closed) return;
    // A write that fails (the client went away) must not stop the ones queued behind it.
    this.#tail = this.#tail.then(() => this.#stream.writeSSE({ data: JSON.stringify(event) })).catch(() => undefined);
  }

  /** Sends the last event and closes the stream once every queued event is written. */
  close(last: StreamEvent): void {
    this.send(last);
    this.#closed = true;
    clearInterval(this.#ping);
    this.#tail = this.#tail.then(() => this.#stream.close());
  }
}
