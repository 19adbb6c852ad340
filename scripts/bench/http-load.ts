/**
 * A small closed-loop HTTP load generator for the benchmarks, run in a forked process of its own so
 * it shares no event loop with the server it measures: `concurrency` clients, each on its own
 * keep-alive connection, each sending its next request when its last one answered. Targets are
 * taken in turn, each cycling through its bodies. It reports throughput, latency percentiles, the
 * status counts and the CPU the generator itself spent.
 *
 * Like wrk, it writes requests serialized once and reads answers with a minimal HTTP/1.1 parser
 * (status line, `content-length` or chunked body), so the generator costs the 2-core machine as
 * little as it can: node:http's client spent more CPU per request than the server under test did
 * for a bare route. One generator process serves every `runLoad` of a bench, so its code is as
 * warm in the last measurement as in the first; `closeLoadGenerator()` ends it.
 *
 * @example
 * let before: CpuSample; // cpu.ts
 * const target = { url, method: "POST", headers, bodies: ['{"n":1}', '{"n":2}'], expect: { status: 200 } };
 * const result = await runLoad(
 *   { targets: [target], concurrency: 60, warmUpRequests: 300, measureRequests: 1200 },
 *   { onMeasuring: () => (before = cpuSample([serverPid])), onMeasured: () => report(cpuBetween(before, cpuSample([serverPid]))) },
 * );
 */
import { fork, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";

/** Where requests go. */
export interface LoadTarget {
  url: string;
  /** Default `GET` without bodies, `POST` with them. */
  method?: string;
  headers?: Record<string, string>;
  /**
   * Request bodies sent in turn; none sends no body. Sent with `content-type: application/json` unless
   * the headers name one. `{seq}` in a body is replaced by the request's number (unique within the
   * generator's life), for bodies that must differ, such as idempotency keys.
   */
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

let generator: ChildProcess | null = null;

/**
 * Runs the load from the forked generator process (forked on first use). `onMeasuring` and
 * `onMeasured` are called when the measured window opens and closes (to read CPU counters, say;
 * see cpu.ts). One load at a time.
 */
export function runLoad(config: LoadConfig, hooks: { onMeasuring?: () => void; onMeasured?: () => void } = {}): Promise<LoadResult> {
  generator ??= fork(fileURLToPath(import.meta.url), ["load"], { execArgv: process.execArgv, stdio: "inherit" });
  const child = generator;
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      generator = null;
      reject(new Error(`the load generator exited with ${code}`));
    };
    const onMessage = (message: Message) => {
      if (message.phase === "measuring") return hooks.onMeasuring?.();
      if (message.phase === "measured") return hooks.onMeasured?.();
      child.off("message", onMessage);
      child.off("exit", onExit);
      if (message.phase === "done") resolve(message.result);
      if (message.phase === "failed") reject(new Error(`the load generator failed: ${message.error}`));
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(config);
  });
}

/** Ends the generator process, if one was started. */
export function closeLoadGenerator(): Promise<void> {
  const child = generator;
  generator = null;
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.disconnect();
  });
}

interface PreparedTarget {
  host: string;
  port: number;
  /** Each request, serialized once; or, for a body with `{seq}`, the request around the number. */
  requests: (Buffer | { head: string; before: string; after: string })[];
  expect: LoadTarget["expect"];
  needle: Buffer | null;
  next: number;
}

const SEQ = "{seq}";
let sequence = 0;

function prepare(target: LoadTarget): PreparedTarget {
  const url = new URL(target.url);
  const bodies = target.bodies ?? [];
  const headers: Record<string, string> = { host: url.host, ...target.headers };
  if (bodies.length > 0 && !Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) {
    headers["content-type"] = "application/json";
  }
  const method = target.method ?? (bodies.length > 0 ? "POST" : "GET");
  const head = [
    `${method} ${url.pathname}${url.search} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join("\r\n");
  const serialize = (body: string | null) => {
    if (body === null) return Buffer.from(`${head}\r\n\r\n`);
    const at = body.indexOf(SEQ);
    if (at >= 0) return { head, before: body.slice(0, at), after: body.slice(at + SEQ.length) };
    return Buffer.from(`${head}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };
  const requests = bodies.length > 0 ? bodies.map(serialize) : [serialize(null)];
  const needle = target.expect?.bodyIncludes === undefined ? null : Buffer.from(target.expect.bodyIncludes);
  return { host: url.hostname, port: Number(url.port || 80), requests, expect: target.expect, needle, next: 0 };
}

/** The next request of a target, in turn. */
function nextRequest(target: PreparedTarget): Buffer {
  const request = target.requests[target.next++ % target.requests.length]!;
  if (Buffer.isBuffer(request)) return request;
  const body = `${request.before}${sequence++}${request.after}`;
  return Buffer.from(`${request.head}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

type Answer = { status: number; ok: boolean; bodyOk: boolean };

const HEADERS_END = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");

/**
 * One keep-alive connection sending one request at a time and reading its answer: the status line,
 * then a body framed by `content-length` or chunked. A connection the server closed is opened again
 * for the next request.
 */
class Connection {
  #socket: Socket | null = null;
  #received: Buffer = Buffer.alloc(0);
  #pending: { target: PreparedTarget; resolve: (answer: Answer) => void } | null = null;

  send(target: PreparedTarget): Promise<Answer> {
    const request = nextRequest(target);
    return new Promise((resolve) => {
      this.#pending = { target, resolve };
      this.#received = Buffer.alloc(0);
      this.#open(target).write(request);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  #open(target: PreparedTarget): Socket {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    const socket = connect(target.port, target.host);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
      this.#tryAnswer();
    });
    const fail = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      const pending = this.#pending;
      this.#pending = null;
      pending?.resolve({ status: 0, ok: false, bodyOk: false });
    };
    socket.on("error", fail);
    socket.on("close", fail);
    this.#socket = socket;
    return socket;
  }

  #tryAnswer(): void {
    const pending = this.#pending;
    if (!pending) return;
    const data = this.#received;
    const headersEnd = data.indexOf(HEADERS_END);
    if (headersEnd < 0) return;
    const head = data.toString("latin1", 0, headersEnd);
    const status = Number(head.slice(9, 12));
    const bodyStart = headersEnd + 4;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: Buffer | null;
    if (length) {
      const end = bodyStart + Number(length[1]);
      body = data.length >= end ? data.subarray(bodyStart, end) : null;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      body = dechunk(data.subarray(bodyStart));
    } else {
      body = Buffer.alloc(0);
    }
    if (!body) return;
    this.#pending = null;
    const { expect, needle } = pending.target;
    const statusOk = expect?.status === undefined || expect.status === status;
    const bodyOk = needle === null || body.includes(needle);
    pending.resolve({ status, ok: statusOk && bodyOk, bodyOk });
  }
}

/** The body of a complete chunked message, or null while it is incomplete. */
function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf(CRLF, at);
    if (lineEnd < 0) return null;
    const size = parseInt(data.toString("latin1", at, lineEnd), 16);
    // The last chunk, then (trailers and) an empty line.
    if (size === 0) return data.indexOf(HEADERS_END, lineEnd) >= 0 ? Buffer.concat(parts) : null;
    const chunkEnd = lineEnd + 2 + size;
    if (data.length < chunkEnd + 2) return null;
    parts.push(data.subarray(lineEnd + 2, chunkEnd));
    at = chunkEnd + 2;
  }
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;

async function generate(config: LoadConfig, tell: (phase: "measuring" | "measured") => void): Promise<LoadResult> {
  const targets = config.targets.map(prepare);
  const connections = Array.from({ length: config.concurrency }, () => new Connection());
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

  const client = async (connection: Connection) => {
    while (!stopped) {
      const index = issued++;
      const target = targets[index % targets.length]!;
      let counted = false;
      if (byCount) {
        if (index === byCount.warmUp) openWindow();
        counted = index >= byCount.warmUp && index < byCount.warmUp + byCount.measure;
      }
      const started = performance.now();
      const answer = await connection.send(target);
      if (!byCount) counted = measuring;
      if (!counted) continue;
      latencies.push(performance.now() - started);
      const key = answer.bodyOk ? String(answer.status) : `${answer.status} unexpected`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (!answer.ok) unexpected++;
      if (byCount && --measuredPending === 0) closeWindow();
    }
  };
  const clients = connections.map(client);
  if ("measureMs" in config) {
    await new Promise((resolve) => setTimeout(resolve, config.warmUpMs));
    openWindow();
    await new Promise((resolve) => setTimeout(resolve, config.measureMs));
    closeWindow();
  }
  await Promise.all(clients);
  for (const connection of connections) connection.close();

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

if (process.argv[2] === "load" && process.send) {
  // One load after another, until the parent disconnects.
  process.on("message", (config: LoadConfig) => {
    generate(config, (phase) => process.send!({ phase } satisfies Message)).then(
      (result) => process.send!({ phase: "done", result } satisfies Message),
      (error: unknown) => process.send!({ phase: "failed", error: String(error) } satisfies Message),
    );
  });
}
