import { describe, expect, it } from "vitest";
import { AbortSwitch } from "../../server/workflow/index.ts";

/** A listener that keeps what it was told. */
function told() {
  const reasons: unknown[] = [];
  return { reasons, onAbort: (reason: unknown) => void reasons.push(reason) };
}

describe("AbortSwitch", () => {
  it("tells each listener once, in order, with the first reason; later throws change nothing", () => {
    const abort = new AbortSwitch();
    const order: string[] = [];
    abort.listen({ onAbort: (reason) => void order.push(`a:${String(reason)}`) });
    abort.listen({ onAbort: (reason) => void order.push(`b:${String(reason)}`) });
    abort.abort("first");
    abort.abort("second");
    expect(order).toEqual(["a:first", "b:first"]);
    expect([abort.aborted, abort.reason]).toEqual([true, "first"]);
  });

  it("tells a listener added after the throw at once, and none removed before it", () => {
    const abort = new AbortSwitch();
    const removed = told();
    abort.listen(removed);
    abort.unlisten(removed);
    abort.abort("gone");
    const late = told();
    abort.listen(late);
    expect([removed.reasons, late.reasons]).toEqual([[], ["gone"]]);
  });

  it("follows an AbortSignal until released", () => {
    const controller = new AbortController();
    const followed = AbortSwitch.following(controller.signal);
    controller.abort("stop");
    expect([followed.abort.aborted, followed.abort.reason]).toEqual([true, "stop"]);

    const other = new AbortController();
    const released = AbortSwitch.following(other.signal);
    released.release();
    other.abort("too late");
    expect(released.abort.aborted).toBe(false);

    expect(AbortSwitch.following(AbortSignal.abort("already")).abort.reason).toBe("already");
  });
});
