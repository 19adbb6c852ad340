import { describe, expect, it } from "vitest";
import { AbortSwitch } from "../../server/workflow/index.ts";
import { createProbe, edge, graph, node, recordingObserver, resultOf, run, start, statuses } from "./support.ts";

describe("run limits, cancellation and concurrency", () => {
  it("stops at the step limit", async () => {
    const workflow = graph(
      [start(), node("a", "probe"), node("b", "probe"), node("c", "probe"), node("d", "probe")],
      [edge("start", "a"), edge("a", "b"), edge("b", "c"), edge("c", "d")],
    );
    const result = await run(workflow, { maxSteps: 3 });
    expect({ status: result.status, error: result.error, steps: result.totalSteps, nodes: statuses(result) }).toEqual({
      status: "failed",
      error: { type: "STEP_LIMIT_EXCEEDED", message: "the run exceeded its limit of 3 steps" },
      steps: 3,
      nodes: { start: "succeeded", a: "succeeded", b: "succeeded" },
    });
  });

  it("stops at the run's time limit", async () => {
    const result = await run(graph([start(), node("slow", "probe", { ms: 5_000 })], [edge("start", "slow")]), { timeLimitMs: 60 });
    expect({ status: result.status, error: result.error, nodes: statuses(result) }).toEqual({
      status: "failed",
      error: { type: "RUN_TIME_LIMIT", message: "the run exceeded its time limit of 60 ms" },
      nodes: { start: "succeeded", slow: "failed" },
    });
    expect(result.elapsedMs).toBeLessThan(1_000);
  });

  it("is stopped mid-run by its signal: running nodes are aborted and nothing after them starts", async () => {
    const observer = recordingObserver();
    const controller = new AbortController();
    const workflow = graph(
      [start(), node("a", "probe", { ms: 5_000 }), node("b", "probe", { ms: 5_000, ignoreSignal: true }), node("after", "probe")],
      [edge("start", "a"), edge("start", "b"), edge("a", "after"), edge("b", "after")],
    );
    setTimeout(() => controller.abort(), 50);
    const result = await run(workflow, { signal: controller.signal, observer });
    expect({ status: result.status, error: result.error, outputs: result.outputs, nodes: statuses(result) }).toEqual({
      status: "stopped",
      error: { type: "STOPPED", message: "the run was stopped" },
      outputs: {},
      nodes: { start: "succeeded", a: "failed", b: "failed" },
    });
    expect(resultOf(result, "b").error).toEqual({ type: "STOPPED", message: "the run was stopped" });
    expect(result.elapsedMs).toBeLessThan(1_000);
    expect(observer.events.at(-1)).toBe("run_finished:stopped");

    const already = await run(workflow, { signal: AbortSignal.abort() });
    expect({ status: already.status, nodes: already.nodes }).toEqual({ status: "stopped", nodes: [] });
  });

  it("is stopped by an AbortSwitch too, also while a node waits between attempts", async () => {
    const probe = createProbe();
    const cancel = new AbortSwitch();
    const workflow = graph(
      [start(), node("flaky", "probe", { failTimes: -1 }, { retry: { maxAttempts: 3, intervalMs: 5_000 } }), node("after", "probe")],
      [edge("start", "flaky"), edge("flaky", "after")],
    );
    setTimeout(() => cancel.abort(), 50);
    const result = await run(workflow, { signal: cancel, services: { probe } });
    expect({ status: result.status, error: result.error, nodes: statuses(result), attempts: Object.fromEntries(probe.attempts) }).toEqual({
      status: "stopped",
      error: { type: "STOPPED", message: "the run was stopped" },
      nodes: { start: "succeeded", flaky: "failed" },
      attempts: { flaky: 1 },
    });
    expect(resultOf(result, "flaky")).toMatchObject({ attempt: 1, error: { type: "STOPPED", message: "the run was stopped" } });
    expect(result.elapsedMs).toBeLessThan(1_000);

    const thrown = new AbortSwitch();
    thrown.abort();
    const already = await run(workflow, { signal: thrown });
    expect({ status: already.status, nodes: already.nodes }).toEqual({ status: "stopped", nodes: [] });
  });

  it("runs ready nodes at once, up to the concurrency", async () => {
    const branches = ["a", "b", "c", "d", "e", "f"];
    const workflow = graph(
      [start(), ...branches.map((id) => node(id, "probe", { ms: 40 }))],
      branches.map((id) => edge("start", id)),
    );
    const bounded = createProbe();
    const boundedResult = await run(workflow, { services: { probe: bounded }, concurrency: 2 });
    expect(bounded.peak).toBe(2);
    expect(boundedResult.elapsedMs).toBeGreaterThanOrEqual(115);

    const open = createProbe();
    const openResult = await run(workflow, { services: { probe: open } });
    expect(open.peak).toBe(6);
    expect(openResult.elapsedMs).toBeLessThan(boundedResult.elapsedMs);
    expect(openResult.status).toBe("succeeded");
  });
});
