import type { ExecutionObserver } from "./types.ts";

type EventName = Exclude<keyof ExecutionObserver, "onRunFinished">;
type EventOf<K extends keyof ExecutionObserver> = Parameters<NonNullable<ExecutionObserver[K]>>[0];

/**
 * Calls an observer one event at a time, in the order events were sent. Nodes do not wait for
 * their events to be written; the queue keeps the order, and the run waits for it before finishing.
 */
export class ObserverQueue {
  readonly #observer: ExecutionObserver | undefined;
  readonly #onFailure: (error: unknown) => void;
  #tail: Promise<void> = Promise.resolve();

  constructor(observer: ExecutionObserver | undefined, onFailure: (error: unknown) => void) {
    this.#observer = observer;
    this.#onFailure = onFailure;
  }

  /** Whether the observer handles this event, so callers can skip building it. */
  wants(name: keyof ExecutionObserver): boolean {
    return typeof this.#observer?.[name] === "function";
  }

  /** Queues one event; resolves once the observer has handled it. */
  send<K extends EventName>(name: K, event: EventOf<K>): Promise<void> {
    const handler = this.#observer?.[name] as ((event: EventOf<K>) => void | Promise<void>) | undefined;
    if (!handler) return this.#tail;
    const observer = this.#observer;
    this.#tail = this.#tail.then(() => handler.call(observer, event)).catch(this.#onFailure);
    return this.#tail;
  }

  /** Waits for every queued event, then delivers the last one; its failure is the caller's to see. */
  async finish(event: EventOf<"onRunFinished">): Promise<void> {
    await this.#tail;
    await this.#observer?.onRunFinished?.(event);
  }

  /** Resolves once every event sent so far has been handled. */
  drain(): Promise<void> {
    return this.#tail;
  }
}
