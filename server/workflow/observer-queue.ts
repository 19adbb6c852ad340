import type { ExecutionObserver } from "./types.ts";

type EventName = Exclude<keyof ExecutionObserver, "onRunFinished">;
type EventOf<K extends keyof ExecutionObserver> = Parameters<NonNullable<ExecutionObserver[K]>>[0];

/** What `send` answers for an event handled at once. */
const HANDLED: Promise<void> = Promise.resolve();

/**
 * Calls an observer one event at a time, in the order events were sent. Nodes do not wait for
 * their events to be written; the queue keeps the order, and the run waits for it before finishing.
 *
 * While no handler is pending, an event is handed over at once, inside `send`: a run's observer
 * handles most events synchronously, and a promise and a microtask per event cost more than the
 * handling. Once a handler returns a promise, the events after it wait for it, in order.
 */
export class ObserverQueue {
  readonly #observer: ExecutionObserver | undefined;
  readonly #onFailure: (error: unknown) => void;
  /** Settles once every handler called so far has; null while none is pending. */
  #pending: Promise<void> | null = null;

  constructor(observer: ExecutionObserver | undefined, onFailure: (error: unknown) => void) {
    this.#observer = observer;
    this.#onFailure = onFailure;
  }

  /** Whether the observer handles this event, so callers can skip building it. */
  wants(name: keyof ExecutionObserver): boolean {
    return typeof this.#observer?.[name] === "function";
  }

  /** Hands one event over, or queues it behind a pending handler; resolves once the observer has handled it. */
  send<K extends EventName>(name: K, event: EventOf<K>): Promise<void> {
    const handler = this.#observer?.[name] as ((event: EventOf<K>) => void | Promise<void>) | undefined;
    if (!handler) return this.drain();
    const observer = this.#observer;
    if (this.#pending) return this.#await(this.#pending.then(() => handler.call(observer, event)));
    let returned: void | Promise<void>;
    try {
      returned = handler.call(observer, event);
    } catch (error) {
      this.#onFailure(error);
      return HANDLED;
    }
    return returned instanceof Promise ? this.#await(returned) : HANDLED;
  }

  /** Waits for every queued event, then delivers the last one; its failure is the caller's to see. */
  async finish(event: EventOf<"onRunFinished">): Promise<void> {
    await this.drain();
    await this.#observer?.onRunFinished?.(event);
  }

  /** Resolves once every event sent so far has been handled. */
  drain(): Promise<void> {
    return this.#pending ?? HANDLED;
  }

  /** Makes `handling` the pending handler, until it settles (a failure goes to `onFailure`). */
  #await(handling: Promise<void>): Promise<void> {
    const pending: Promise<void> = handling.catch(this.#onFailure).then(() => {
      if (this.#pending === pending) this.#pending = null;
    });
    this.#pending = pending;
    return pending;
  }
}
