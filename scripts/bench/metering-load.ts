/**
 * The load generator of scripts/bench/metering.ts, run in a child process so it does not share the
 * server's event loop: keeps `concurrency` requests in flight over keep-alive connections for a
 * warm-up and then a measured window, and reports throughput and latency percentiles to its parent.
 */
import { Agent, request } from "node:http";

export interface LoadConfig {
  /** The requests' targets, taken in turn (several tenants spread the load). */
  targets: { url: string; headers: Record<string, string> }[];
  /** `record`: a one-record recordUsage body with a fresh idempotency key each time; `bare`: a tiny JSON body; `none`: a GET. */
  body: "record" | "bare" | "none";
  concurrency: number;
  warmUpMs: number;
  measureMs: number;
}

export interface LoadResult {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
}

function bodyOf(kind: LoadConfig["body"], n: number): string {
  if (kind === "none") return "";
  if (kind === "bare") return `{"n":${n}}`;
  return `{"records":[{"idempotencyKey":"load-${process.pid}-${n}","resourceType":"api_call","quantity":1}]}`;
}

async function run(config: LoadConfig): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: config.concurrency });
  const targets = config.targets.map((t) => ({ url: new URL(t.url), headers: t.headers }));
  let n = 0;
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};

  const once = () =>
    new Promise<void>((resolve, reject) => {
      const target = targets[n % targets.length]!;
      const body = bodyOf(config.body, n++);
      const started = performance.now();
      const req = request(
        target.url,
        config.body === "none"
          ? { agent, method: "GET", headers: target.headers }
          : {
              agent,
              method: "POST",
              headers: { ...target.headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
            },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (measuring) {
              latencies.push(performance.now() - started);
              statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            }
            resolve();
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  const workers = Array.from({ length: config.concurrency }, async () => {
    while (!stop) await once();
  });
  await new Promise((r) => setTimeout(r, config.warmUpMs));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, config.measureMs));
  measuring = false;
  const elapsed = performance.now() - started;
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { requests: latencies.length, perSecond: (latencies.length * 1000) / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), statuses };
}

if (process.send) {
  process.once("message", (config: LoadConfig) => {
    void run(config).then((result) => {
      process.send!(result);
      process.disconnect();
    });
  });
}
