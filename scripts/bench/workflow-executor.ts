/**
 * Executor overhead on no-op nodes, and real overlap on sleeping ones, each beside a baseline
 * measured in the same process so the figures read as ratios. Prints; asserts nothing.
 *
 *   pnpm exec tsx scripts/bench/workflow-executor.ts
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  builtinNodes,
  compileWorkflow,
  createRegistry,
  defineNode,
  executeWorkflow,
  type CompiledGraph,
  type ExecutionObserver,
  type WorkflowGraph,
  type WorkflowNode,
} from "../../server/workflow/index.ts";

const NODES = 1_000;
const WARM_UP_RUNS = 30;
const MEASURED_RUNS = 21;

const noopNode = defineNode({ type: "noop", version: 1, configSchema: { type: "object" }, run: () => ({ outputs: {} }) });
const asyncNoopNode = defineNode({ type: "noop-async", version: 1, configSchema: { type: "object" }, run: async () => ({ outputs: {} }) });
const sleepNode = defineNode<{ ms: number }>({
  type: "sleep",
  version: 1,
  configSchema: { type: "object", required: ["ms"], properties: { ms: { type: "integer", minimum: 0 } } },
  async run(ctx) {
    await sleep(ctx.config.ms, undefined, { signal: ctx.signal });
    return { outputs: {} };
  },
});
const registry = createRegistry([...builtinNodes, noopNode, asyncNoopNode, sleepNode]);

const node = (id: string, type: string, config: Record<string, unknown> = {}): WorkflowNode => ({
  id,
  type,
  typeVersion: 1,
  title: id,
  config,
  position: { x: 0, y: 0 },
});
const edge = (from: string, to: string) => ({ sourceNodeId: from, sourceHandle: "source", targetNodeId: to, targetHandle: "target" });

function chain(count: number, type: string): WorkflowGraph {
  const ids = Array.from({ length: count }, (_, i) => `n${i}`);
  return {
    nodes: [node("start", "start"), ...ids.map((id) => node(id, type))],
    connections: ids.map((id, i) => edge(i === 0 ? "start" : (ids[i - 1] as string), id)),
  };
}

function fanOut(count: number, type: string, config: Record<string, unknown> = {}): WorkflowGraph {
  const ids = Array.from({ length: count }, (_, i) => `n${i}`);
  return { nodes: [node("start", "start"), ...ids.map((id) => node(id, type, config))], connections: ids.map((id) => edge("start", id)) };
}

/** What the server's recorder costs the engine, minus the database: every callback awaited, in order. */
const quietObserver: ExecutionObserver = {
  onRunStarted: async () => {},
  onNodeStarted: async () => {},
  onNodeFinished: async () => {},
  onRunFinished: async () => {},
};

async function median(runs: number, measure: () => Promise<number>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measure());
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

async function timeRun(graph: CompiledGraph, observer?: ExecutionObserver): Promise<number> {
  const started = performance.now();
  const result = await executeWorkflow(graph, { maxSteps: NODES * 2, ...(observer ? { observer } : {}) });
  const elapsed = performance.now() - started;
  if (result.status !== "succeeded") throw new Error(`bench run ${result.status}: ${result.error?.message}`);
  return elapsed;
}

/** The floor: the same number of awaited no-op promises in a plain loop. */
async function timeAwaitLoop(count: number): Promise<number> {
  const noop = async () => ({ outputs: {} });
  const started = performance.now();
  for (let i = 0; i < count; i++) await noop();
  return performance.now() - started;
}

const perNode = (ms: number) => (ms * 1000) / (NODES + 1);
const fmt = (value: number, digits = 2) => value.toFixed(digits);

const compileStarted = performance.now();
const chainSync = compileWorkflow(chain(NODES, "noop"), registry);
const compileMs = performance.now() - compileStarted;
const cases: [string, CompiledGraph, ExecutionObserver | undefined][] = [
  ["chain, sync no-op", chainSync, undefined],
  ["chain, async no-op", compileWorkflow(chain(NODES, "noop-async"), registry), undefined],
  ["chain, sync + observer", chainSync, quietObserver],
  ["fan-out, sync no-op", compileWorkflow(fanOut(NODES, "noop"), registry), undefined],
  ["fan-out, async no-op", compileWorkflow(fanOut(NODES, "noop-async"), registry), undefined],
];
cases.push(["fan-out, sync + observer", cases[3]?.[1] as CompiledGraph, quietObserver]);

// Warm every path up before measuring any, so the first row is not the one paying for the JIT.
for (let i = 0; i < WARM_UP_RUNS; i++) {
  await timeAwaitLoop(NODES + 1);
  for (const [, graph, observer] of cases) await timeRun(graph, observer);
}
const baselineUs = perNode(await median(MEASURED_RUNS, () => timeAwaitLoop(NODES + 1)));
const measured: [string, number][] = [];
for (const [name, graph, observer] of cases) measured.push([name, perNode(await median(MEASURED_RUNS, () => timeRun(graph, observer)))]);

console.log(
  `workflow executor — Node ${process.version}; ${NODES} no-op nodes + start; median of ${MEASURED_RUNS} runs after ${WARM_UP_RUNS} warm-up`,
);
console.log(`compile of the ${NODES}-node chain (once, reused by every run): ${fmt(compileMs, 1)} ms; concurrency: default (16)`);
console.log(`baseline (awaited no-op promise in a loop): ${fmt(baselineUs, 3)} µs/node`);
for (const [name, us] of measured) {
  console.log(`${name.padEnd(26)} ${fmt(us).padStart(6)} µs/node  (${fmt(us / baselineUs, 0)}× baseline; goal ≤ 20 µs)`);
}

const sleepGraph = compileWorkflow(fanOut(10, "sleep", { ms: 50 }), registry);
const sleepBaseline = await median(5, async () => {
  const started = performance.now();
  await Promise.all(Array.from({ length: 10 }, () => sleep(50)));
  return performance.now() - started;
});
const sleepRun = await median(5, () => timeRun(sleepGraph));
console.log(
  `10-branch fan-out of 50 ms sleeps: ${fmt(sleepRun, 1)} ms total (Promise.all of the same sleeps: ${fmt(sleepBaseline, 1)} ms, ${fmt(sleepRun / sleepBaseline)}×; goal < 100 ms)`,
);

// The sandboxed nodes: each run gets a fresh QuickJS instance (its own memory, the compiled module
// shared); the template node also loads nunjucks' runtime into it. Baseline: a no-op node's run.
const sandboxed = {
  "no-op node (baseline)": compileWorkflow(fanOut(1, "noop"), registry),
  "code node": compileWorkflow(
    fanOut(1, "code", { code: "function main({ x }) { return { y: x + 1 } }", variables: [{ name: "x", value: 1 }] }),
    registry,
  ),
  "template node": compileWorkflow(
    fanOut(1, "template", {
      template: "Hello {{ name | upper }}{% for i in items %} {{ i }}{% endfor %}",
      variables: [
        { name: "name", value: "ada" },
        { name: "items", value: [1, 2, 3] },
      ],
    }),
    registry,
  ),
};
for (const [name, graph] of Object.entries(sandboxed)) {
  for (let i = 0; i < 5; i++) await timeRun(graph);
  const cpu = process.cpuUsage();
  const runs = 30;
  const wall = await median(runs, () => timeRun(graph));
  const used = process.cpuUsage(cpu);
  console.log(`${name.padEnd(22)} ${fmt(wall)} ms/run (median), ${fmt((used.user + used.system) / 1000 / runs)} ms CPU/run`);
}
