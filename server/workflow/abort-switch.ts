/** Told once when a switch is thrown: an object rather than a closure, so a node's attempt needs none. */
export interface AbortListener {
  onAbort(reason: unknown): void;
}

/**
 * The engine's own abort flag, shared by a run, its graphs and their nodes' attempts. It does what
 * they need of an `AbortSignal` (a flag, a reason, listeners) at a fraction of the cost: Node's
 * signal is an EventTarget, whose creation alone takes microseconds, and a run made three of them
 * before any node ran. Nodes still get a real `AbortSignal` (see node-attempt.ts), made only when one
 * reads it.
 */
export class AbortSwitch {
  aborted = false;
  reason: unknown = undefined;
  #listeners: AbortListener[] = [];

  /** Throws the switch: every listener is told once, in the order it was added. Later calls do nothing. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener.onAbort(reason);
  }

  /** Tells `listener` when the switch is thrown (at once if it already was), until removed. */
  listen(listener: AbortListener): void {
    if (this.aborted) listener.onAbort(this.reason);
    else this.#listeners.push(listener);
  }

  unlisten(listener: AbortListener): void {
    const at = this.#listeners.lastIndexOf(listener);
    if (at >= 0) this.#listeners.splice(at, 1);
  }

  /**
   * A switch thrown when `signal` aborts (a node's signal, say, for the sub-graph it runs); call
   * `release` once the switch is no longer needed, so the signal does not keep it.
   */
  static following(signal: AbortSignal): { abort: AbortSwitch; release: () => void } {
    const abort = new AbortSwitch();
    if (signal.aborted) {
      abort.abort(signal.reason);
      return { abort, release: () => {} };
    }
    const follow = () => abort.abort(signal.reason);
    signal.addEventListener("abort", follow, { once: true });
    return { abort, release: () => signal.removeEventListener("abort", follow) };
  }
}
