/**
 * A small closed-loop HTTP load generator for the benchmarks, run in a forked process of its own so
 * it shares no event loop with the server it measures: `concurrency` clients over keep-alive
 * connections (node:http), each sending its next request when its last one answered. Targets are
 * taken in turn, each cycling through its bodies. It reports throughput, latency percentiles, the
 * status counts and the CPU the generator itself spent.
 *
 * @example
 * let before: CpuSample;
 * const target = { url, method: "POST", headers, bodies: ['{"n":1}', '{"n":2}'], expect: { status: 200 } };
 * const result = await runLoad(
 *   { targets: [target], concurrency: 60, warmUpRequests: 300, measureRequests: 1200 },
 *   { onMeasuring: () => (before = cpuSample([serverPid])), onMeasured: () => report(cpuBetween(before, cpuSample([serverPid]))) },
 * );
 */
import { fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";

/** Where requests go. */
export interface LoadTarget {
  url: string;
  /** Default `GET` without bodies, `POST` with them. */
  method?: string;
  headers?: Record<string, string>;
  /** Request bodies sent in turn; none sends no body. Sent with `content-type: application/json` unless the headers name one. */
  bodies?: string[];
  /** What counts as a good answer; anything else is counted in `unexpected`. Checking the body makes the generator read it. */
  expect?: { status?: number; bodyIncludes?: string };
}

/**
 * How long to warm up and to measure: by count (the requests issued after the warm-up's are
 * measured, and the clients go on until the last of them answers, so the concurrency holds to the
 * end of the window), or by time (the requests that answer within the window are measured).
 */
export type LoadPhases = { warmUpRequests: number; measureRequests: number } | { warmUpMs: number; measureMs: number };

export type LoadConfig = LoadPhases & { targets: LoadTarget[]; concurrency: number };

export interface LoadResult {
  /** Requests answered in the measured window. */
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Measured answers by status code; `<code> unexpected` for those whose body failed `bodyIncludes`. */
  statuses: Record<string, number>;
  /** Measured answers that did not match their target's `expect` (and transport errors). */
  unexpected: number;
  /** CPU the generator spent in the measured window, per request, in microseconds. */
  generatorCpuUs: number;
}

type Message = { phase: "measuring" | "measured" } | { phase: "done"; result: LoadResult } | { phase: "failed"; error: string };

/**
 * Runs the load from a forked process. `onMeasuring` and `onMeasured` are called when the measured
 * window opens and closes (to read CPU counters, say; see `cpuSample`).
 */
export function runLoad(config: LoadConfig, hooks: { onMeasuring?: () => void; onMeasured?: () => void } = {}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["load"], { execArgv: process.execArgv, stdio: "inherit" });
    child.on("message", (message: Message) => {
      if (message.phase === "measuring") hooks.onMeasuring?.();
      else if (message.phase === "measured") hooks.onMeasured?.();
      else if (message.phase === "done") resolve(message.result);
      else if (message.phase === "failed") reject(new Error(`the load generator failed: ${message.error}`));
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`the load generator exited with ${code}`));
    });
    child.send(config);
  });
}

interface PreparedTarget {
  url: URL;
  method: string;
  headers: Record<string, string>;
  bodies: { text: string; length: number }[];
  expect: LoadTarget["expect"];
  needle: Buffer | null;
  next: number;
}

function prepare(target: LoadTarget): PreparedTarget {
  const bodies = (target.bodies ?? []).map((text) => ({ text, length: Buffer.byteLength(text) }));
  const headers = { ...target.headers };
  if (bodies.length > 0 && !Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) {
    headers["content-type"] = "application/json";
  }
  const needle = target.expect?.bodyIncludes === undefined ? null : Buffer.from(target.expect.bodyIncludes);
  const method = target.method ?? (bodies.length > 0 ? "POST" : "GET");
  return { url: new URL(target.url), method, headers, bodies, expect: target.expect, needle, next: 0 };
}

/** One request; answers its status and whether it matched its target's expectations. */
function send(agent: Agent, target: PreparedTarget): Promise<{ status: number; ok: boolean; bodyOk: boolean }> {
  const body = target.bodies.length > 0 ? target.bodies[target.next++ % target.bodies.length]! : null;
  const headers = body ? { ...target.headers, "content-length": String(body.length) } : target.headers;
  const expected = target.expect;
  return new Promise((resolve) => {
    const req = request(target.url, { agent, method: target.method, headers }, (res) => {
      const status = res.statusCode ?? 0;
      const statusOk = expected?.status === undefined || expected.status === status;
      if (expected?.bodyIncludes === undefined) {
        res.resume();
        res.on("end", () => resolve({ status, ok: statusOk, bodyOk: true }));
        return;
      }
      // Searched chunk by chunk, keeping the end of the last one in case the text straddles two.
      const needle = target.needle as Buffer;
      let found = false;
      let tail: Buffer | null = null;
      res.on("data", (chunk: Buffer) => {
        if (found) return;
        const haystack = tail ? Buffer.concat([tail, chunk]) : chunk;
        found = haystack.includes(needle);
        tail = haystack.subarray(Math.max(0, haystack.length - needle.length + 1));
      });
      res.on("end", () => resolve({ status, ok: statusOk && found, bodyOk: found }));
    });
    req.on("error", () => resolve({ status: 0, ok: false, bodyOk: false }));
    req.end(body?.text);
  });
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;

async function generate(config: LoadConfig, tell: (phase: "measuring" | "measured") => void): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: config.concurrency });
  const targets = config.targets.map(prepare);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let unexpected = 0;
  let issued = 0;
  let measuring = false;
  let stopped = false;
  let windowStarted = 0;
  let windowEnded = 0;
  let cpuStarted: NodeJS.CpuUsage | null = null;
  let cpuUsed: NodeJS.CpuUsage | null = null;

  const openWindow = () => {
    measuring = true;
    windowStarted = performance.now();
    cpuStarted = process.cpuUsage();
    tell("measuring");
  };
  const closeWindow = () => {
    measuring = false;
    stopped = true;
    windowEnded = performance.now();
    cpuUsed = process.cpuUsage(cpuStarted ?? undefined);
    tell("measured");
  };

  const byCount = "measureRequests" in config ? { warmUp: config.warmUpRequests, measure: config.measureRequests } : null;
  let measuredPending = byCount?.measure ?? 0;

  const client = async () => {
    while (!stopped) {
      const index = issued++;
      const target = targets[index % targets.length]!;
      let counted = false;
      if (byCount) {
        if (index === byCount.warmUp) openWindow();
        counted = index >= byCount.warmUp && index < byCount.warmUp + byCount.measure;
      }
      const started = performance.now();
      const answer = await send(agent, target);
      if (!byCount) counted = measuring;
      if (!counted) continue;
      latencies.push(performance.now() - started);
      const key = answer.bodyOk ? String(answer.status) : `${answer.status} unexpected`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (!answer.ok) unexpected++;
      if (byCount && --measuredPending === 0) closeWindow();
    }
  };
  const clients = Array.from({ length: config.concurrency }, client);
  if ("measureMs" in config) {
    await new Promise((resolve) => setTimeout(resolve, config.warmUpMs));
    openWindow();
    await new Promise((resolve) => setTimeout(resolve, config.measureMs));
    closeWindow();
  }
  await Promise.all(clients);
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const seconds = (windowEnded - windowStarted) / 1000;
  const cpu = cpuUsed as NodeJS.CpuUsage | null;
  return {
    requests: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p90Ms: percentile(latencies, 0.9),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
    statuses,
    unexpected,
    generatorCpuUs: cpu ? (cpu.user + cpu.system) / Math.max(1, latencies.length) : 0,
  };
}

/** CPU seconds at one moment: of the given processes, of every `postgres` process, and of the whole machine. */
export interface CpuSample {
  processes: Map<number, number>;
  postgres: Map<number, number>;
  machineBusy: number;
}

const TICK = 100; // USER_HZ on Linux

function processSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return null; // ended meanwhile, or no /proc
  }
}

/** Reads the CPU counters (Linux /proc; empty elsewhere). */
export function cpuSample(pids: readonly number[]): CpuSample {
  const processes = new Map<number, number>();
  for (const pid of pids) processes.set(pid, processSeconds(pid) ?? 0);
  const postgres = new Map<number, number>();
  let machineBusy = 0;
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (!readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("postgres")) continue;
      } catch {
        continue;
      }
      const seconds = processSeconds(Number(entry));
      if (seconds !== null) postgres.set(Number(entry), seconds);
    }
    const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    machineBusy = ticks.slice(0, 8).reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0) / TICK;
  } catch {
    // no /proc
  }
  return { processes, postgres, machineBusy };
}

/** CPU seconds spent between two samples: by each given process, by Postgres (processes that ended are not counted), by the machine. */
export function cpuBetween(before: CpuSample, after: CpuSample) {
  const processes = new Map<number, number>();
  for (const [pid, seconds] of after.processes) processes.set(pid, seconds - (before.processes.get(pid) ?? 0));
  let postgres = 0;
  for (const [pid, seconds] of after.postgres) postgres += seconds - (before.postgres.get(pid) ?? 0);
  return { processes, postgres, machine: after.machineBusy - before.machineBusy };
}

if (process.argv[2] === "load" && process.send) {
  process.once("message", (config: LoadConfig) => {
    const reply = (message: Message) => process.send!(message, () => process.disconnect());
    generate(config, (phase) => process.send!({ phase } satisfies Message)).then(
      (result) => reply({ phase: "done", result }),
      (error: unknown) => reply({ phase: "failed", error: String(error) }),
    );
  });
}
