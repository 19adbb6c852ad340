import { describe, expect, it } from "vitest";
import { createProbe, edge, graph, node, recordingObserver, resultOf, run, start, statuses } from "./support.ts";

describe("node failures", () => {
  it("follows the error branch with error_message and error_type, and ends partial-succeeded", async () => {
    const workflow = graph(
      [
        start(),
        node("flaky", "probe", { failTimes: -1 }, { errorStrategy: "error_branch" }),
        node("ok_path", "probe"),
        node("handler", "end", {
          outputs: [
            { name: "message", value: "{{#flaky.error_message#}}" },
            { name: "type", value: "{{#flaky.error_type#}}" },
          ],
        }),
      ],
      [edge("start", "flaky"), edge("flaky", "ok_path"), edge("flaky", "handler", "error")],
    );
    const result = await run(workflow);
    expect({ status: result.status, outputs: result.outputs, error: result.error, nodes: statuses(result) }).toEqual({
      status: "partial-succeeded",
      outputs: { message: "attempt 1 failed", type: "PROBE_FAILED" },
      error: null,
      nodes: { start: "succeeded", flaky: "failed", ok_path: "skipped", handler: "succeeded" },
    });
    expect(resultOf(result, "flaky")).toMatchObject({
      error: { type: "PROBE_FAILED", message: "attempt 1 failed" },
      recovery: "error_branch",
      outputs: { error_message: "attempt 1 failed", error_type: "PROBE_FAILED" },
    });
  });

  it("uses the default value and goes on down the normal path", async () => {
    const workflow = graph(
      [
        start(),
        node("flaky", "probe", { failTimes: -1 }, { errorStrategy: "default_value", defaultValue: { value: "fallback" } }),
        node("end", "end", { outputs: [{ name: "value", value: "{{#flaky.value#}}" }] }),
      ],
      [edge("start", "flaky"), edge("flaky", "end")],
    );
    const result = await run(workflow);
    expect({ status: result.status, outputs: result.outputs, nodes: statuses(result) }).toEqual({
      status: "partial-succeeded",
      outputs: { value: "fallback" },
      nodes: { start: "succeeded", flaky: "failed", end: "succeeded" },
    });
    expect(resultOf(result, "flaky")).toMatchObject({ recovery: "default_value", outputs: { value: "fallback" } });
  });

  it("fails the run on a node under the fail strategy and aborts the nodes still running", async () => {
    const workflow = graph(
      [start(), node("bad", "probe", { failTimes: -1, ms: 20 }), node("slow", "probe", { ms: 5_000 }), node("after", "probe")],
      [edge("start", "bad"), edge("start", "slow"), edge("bad", "after")],
    );
    const began = performance.now();
    const result = await run(workflow);
    expect(performance.now() - began).toBeLessThan(1_000);
    expect({ status: result.status, error: result.error, outputs: result.outputs, nodes: statuses(result) }).toEqual({
      status: "failed",
      error: { type: "PROBE_FAILED", message: 'node "bad" failed: attempt 1 failed' },
      outputs: {},
      nodes: { start: "succeeded", bad: "failed", slow: "failed" },
    });
    expect(resultOf(result, "slow").error).toEqual({ type: "ABORTED", message: 'aborted because node "bad" failed' });
  });

  it("retries a failing node, counting attempts and waiting between them", async () => {
    const probe = createProbe();
    const workflow = graph(
      [
        start(),
        node("flaky", "probe", { failTimes: 2, value: "finally" }, { retry: { maxAttempts: 3, intervalMs: 30 } }),
        node(
          "hopeless",
          "probe",
          { failTimes: -1 },
          { retry: { maxAttempts: 2, intervalMs: 0 }, errorStrategy: "default_value", defaultValue: {} },
        ),
      ],
      [edge("start", "flaky"), edge("start", "hopeless")],
    );
    const observer = recordingObserver();
    const result = await run(workflow, { services: { probe }, observer });
    expect(Object.fromEntries(probe.attempts)).toEqual({ flaky: 3, hopeless: 2 });
    // Each failed attempt with another to follow is reported, between the node's start and its one finish.
    expect(observer.events.filter((event) => /:flaky/.test(event))).toEqual([
      "node_started:flaky",
      "node_retry:flaky:1:attempt 1 failed",
      "node_retry:flaky:2:attempt 2 failed",
      "node_finished:flaky:succeeded",
    ]);
    expect(observer.events.filter((event) => /:hopeless/.test(event))).toEqual([
      "node_started:hopeless",
      "node_retry:hopeless:1:attempt 1 failed",
      "node_finished:hopeless:failed",
    ]);
    expect(result.status).toBe("partial-succeeded");
    expect(resultOf(result, "flaky")).toMatchObject({ status: "succeeded", attempt: 3, outputs: { value: "finally", attempts: 3 } });
    expect(resultOf(result, "flaky").elapsedMs).toBeGreaterThanOrEqual(55);
    expect(resultOf(result, "hopeless")).toMatchObject({
      status: "failed",
      attempt: 2,
      error: { type: "PROBE_FAILED", message: "attempt 2 failed" },
    });
  });

  it("times a node out, even one that ignores its signal, and retries a timeout", async () => {
    const probe = createProbe();
    const workflow = graph(
      [
        start(),
        node(
          "stubborn",
          "probe",
          { ms: 2_000, ignoreSignal: true },
          { timeoutMs: 50, errorStrategy: "default_value", defaultValue: { value: "late" } },
        ),
        node("polite", "probe", { ms: 2_000 }, { timeoutMs: 40, retry: { maxAttempts: 2, intervalMs: 0 }, errorStrategy: "error_branch" }),
      ],
      [edge("start", "stubborn"), edge("start", "polite")],
    );
    const began = performance.now();
    const result = await run(workflow, { services: { probe } });
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(resultOf(result, "stubborn")).toMatchObject({
      status: "failed",
      recovery: "default_value",
      error: { type: "TIMEOUT", message: "node timed out after 50 ms" },
    });
    expect(resultOf(result, "polite")).toMatchObject({
      status: "failed",
      attempt: 2,
      recovery: "error_branch",
      outputs: { error_type: "TIMEOUT" },
    });
    expect(probe.attempts.get("polite")).toBe(2);
  });
});
