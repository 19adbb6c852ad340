import { describe, expect, it } from "vitest";
import type { NodeStartedEvent } from "../../server/workflow/index.ts";
import { ObserverQueue } from "../../server/workflow/observer-queue.ts";

const started = (nodeId: string): NodeStartedEvent => ({
  runId: "run",
  nodeId,
  nodeType: "probe",
  title: nodeId,
  step: 1,
  startedAt: 0,
  iteration: null,
});

describe("ObserverQueue", () => {
  it("hands events over at once while nothing is pending, and queues them in order behind a handler's promise", async () => {
    const seen: string[] = [];
    let release!: () => void;
    const queue = new ObserverQueue(
      {
        onNodeStarted: (event) => {
          seen.push(`start ${event.nodeId}`);
          if (event.nodeId === "slow") return new Promise<void>((resolve) => (release = resolve));
        },
      },
      () => {},
    );
    void queue.send("onNodeStarted", started("a"));
    expect(seen).toEqual(["start a"]);
    void queue.send("onNodeStarted", started("slow"));
    const afterSlow = queue.send("onNodeStarted", started("b"));
    expect(seen).toEqual(["start a", "start slow"]);
    release();
    await afterSlow;
    expect(seen).toEqual(["start a", "start slow", "start b"]);
    void queue.send("onNodeStarted", started("c"));
    expect(seen).toEqual(["start a", "start slow", "start b", "start c"]);
    await queue.drain();
  });

  it("reports a handler's failure, thrown or rejected, and goes on with the next event", async () => {
    const failures: string[] = [];
    const seen: string[] = [];
    const queue = new ObserverQueue(
      {
        onNodeStarted: (event) => {
          if (event.nodeId === "throws") throw new Error("thrown");
          if (event.nodeId === "rejects") return Promise.reject(new Error("rejected"));
          seen.push(event.nodeId);
        },
      },
      (error) => void failures.push((error as Error).message),
    );
    await queue.send("onNodeStarted", started("throws"));
    await queue.send("onNodeStarted", started("rejects"));
    await queue.send("onNodeStarted", started("after"));
    await queue.drain();
    expect({ failures, seen }).toEqual({ failures: ["thrown", "rejected"], seen: ["after"] });
  });
});
