/**
 * A 10-node workflow run over real HTTP, blocking, with its records saved (the run's row, one row
 * per node, the audit entry and the usage record), 60 runs at a time against native Postgres;
 * beside it, rounds interleaved, a bare Hono route that does one insert. Prints p50/p90/p99, the
 * ratios, the status counts (a workflow answer counts as expected only with status 200 and the run
 * `succeeded`), the CPU each request cost the server, Postgres, the load generator and the rest of
 * the machine, and how fast the machine itself ran meanwhile (speed-probe.ts: on this virtual
 * machine the same work can take twice the CPU time from one minute to the next); asserts nothing.
 * Goal: workflow p99 ≤ 50 ms.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm exec tsx scripts/bench/workflow-http.ts
 *   BENCH_CONCURRENCY=1 BENCH_REQUESTS=500 pnpm exec tsx scripts/bench/workflow-http.ts   # one client: cost per request without queueing
 *   BENCH_PROFILE=/tmp/prof pnpm exec tsx scripts/bench/workflow-http.ts                  # also a CPU profile of the server
 *   BENCH_ALLOCATIONS=/tmp/alloc.json pnpm exec tsx scripts/bench/workflow-http.ts         # also what the server allocates
 *   BENCH_PAUSES=1 pnpm exec tsx scripts/bench/workflow-http.ts                          # also the server's GC pauses and event-loop delay
 *   BENCH_QUERIES=1 pnpm exec tsx scripts/bench/workflow-http.ts                          # also the statements the server sent
 *   BENCH_FUNCTIONS=1 pnpm exec tsx scripts/bench/workflow-http.ts                        # also the time Postgres spent in each function, per call
 *   BENCH_SQL='drop index …' pnpm exec tsx scripts/bench/workflow-http.ts                 # runs this SQL after migrating: try a schema change
 *   BENCH_POOL=5 pnpm exec tsx scripts/bench/workflow-http.ts                             # each app's pool size (default 10, the server's)
 *
 * It creates a scratch database on that server (dropped at the end) and serves both apps from a
 * child process run with the Node flags `npm start` gives the server (server-flags.ts); the load
 * comes from another (http-load.ts, one process for the whole bench), so neither shares the
 * server's event loop. Bounded: 3 minutes.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { Server } from "node:http";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { sql } from "kysely";
import { pino } from "pino";
import { v7 } from "uuid";
import { createApp } from "../../server/app.ts";
import { createOutboxMailer } from "../../server/auth/mailer.ts";
import { openPostgres } from "../../server/db/database.ts";
import { migrateToLatest } from "../../server/db/migrate.ts";
import { cpuBetween, cpuSample, type CpuSample } from "./cpu.ts";
import { probeSpeedNow, startSpeedProbe, type SpeedReading } from "./speed-probe.ts";
import { serverNodeFlags } from "./server-flags.ts";
import { countQueries, printFunctionTimes, sampleAllocations, watchPauses } from "./workflow-diagnostics.ts";
import { closeLoadGenerator, runLoad, type LoadResult, type LoadTarget } from "./http-load.ts";
import { benchOutbox } from "./outbox.ts";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 60);
/** Requests before each measurement, and before the first round (the server's code gets optimized). */
const WARM_UP = 300;
const FIRST_WARM_UP = 3_000;
const MEASURED = Number(process.env.BENCH_REQUESTS ?? 6_000);
const ROUNDS = 3;
/** The server's own default (`openPostgres`), for both apps, unless `BENCH_POOL` says otherwise. */
const POOL_SIZE = Number(process.env.BENCH_POOL ?? 10);
const DEADLINE_MS = 180_000;
const AUTH_SECRET = "bench-secret-bench-secret-bench-secret-0123456789";

type Node = { id: string; type: string; config: Record<string, unknown> };
const node = (id: string, type: string, config: Record<string, unknown>): Node => ({ id, type, config });
const edge = (from: string, to: string, handle = "source") => ({ sourceNodeId: from, sourceHandle: handle, targetNodeId: to });

/** A support-desk router: 10 nodes, 7 of them run per request (two reply branches and the fallback are skipped). */
const GRAPH = {
  nodes: [
    node("start", "start", { variables: [{ name: "query", type: "text-input", required: true }] }),
    node("route", "if-else", {
      cases: [
        { id: "refund", conditions: [{ variable: "{{#start.query#}}", operator: "contains", value: "refund" }] },
        { id: "billing", conditions: [{ variable: "{{#start.query#}}", operator: "contains", value: "invoice" }] },
      ],
    }),
    node("refund_reply", "answer", { answer: "We will refund: {{#start.query#}}" }),
    node("billing_reply", "answer", { answer: "Billing will look at: {{#start.query#}}" }),
    node("other_reply", "answer", { answer: "Thanks, we read: {{#start.query#}}" }),
    node("reply", "variable-aggregator", {
      variables: ["{{#refund_reply.answer#}}", "{{#billing_reply.answer#}}", "{{#other_reply.answer#}}"],
    }),
    node("topic", "variable-aggregator", { variables: ["{{#route.selected_case_id#}}"] }),
    node("check", "if-else", { cases: [{ id: "has_reply", conditions: [{ variable: "{{#reply.output#}}", operator: "not empty" }] }] }),
    node("fallback", "variable-aggregator", { variables: ["nothing to say"] }),
    node("end", "end", {
      outputs: [
        { name: "reply", value: "{{#reply.output#}}" },
        { name: "topic", value: "{{#topic.output#}}" },
      ],
    }),
  ],
  connections: [
    edge("start", "route"),
    edge("route", "refund_reply", "refund"),
    edge("route", "billing_reply", "billing"),
    edge("route", "other_reply", "false"),
    edge("refund_reply", "reply"),
    edge("billing_reply", "reply"),
    edge("other_reply", "reply"),
    edge("route", "topic", "refund"),
    edge("route", "topic", "billing"),
    edge("route", "topic", "false"),
    edge("reply", "check"),
    edge("topic", "check"),
    edge("check", "end", "has_reply"),
    edge("check", "fallback", "false"),
    edge("fallback", "end"),
  ],
};

// ---------------------------------------------------------------------------------------------
// The child: both apps on real sockets.

async function serveBoth(databaseUrl: string): Promise<void> {
  if (process.env.BENCH_QUERIES) countQueries();
  const app = createApp({
    db: openPostgres(databaseUrl, POOL_SIZE).db,
    logger: pino({ level: "silent" }),
    authSecret: AUTH_SECRET,
    mailer: createOutboxMailer(benchOutbox(), pino({ level: "silent" })),
  });
  const baselineDb = openPostgres(databaseUrl, POOL_SIZE).db;
  const baseline = new Hono();
  baseline.post("/insert", async (c) => {
    const body = await c.req.json<{ payload: unknown }>();
    const id = v7();
    await sql`insert into bench_baseline (id, payload) values (${id}, ${JSON.stringify(body.payload)})`.execute(baselineDb);
    return c.json({ code: "OK", data: { id } });
  });
  const listen = (fetch: (request: Request) => Response | Promise<Response>) =>
    new Promise<number>((resolve) => {
      const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(info.port));
      (server as Server).keepAliveTimeout = 60_000;
    });
  const ports = { workflow: await listen(app.fetch), baseline: await listen(baseline.fetch) };
  const allocations = process.env.BENCH_ALLOCATIONS ? await sampleAllocations() : null;
  const printPauses = process.env.BENCH_PAUSES ? watchPauses() : null;
  // Exits cleanly when the driver is done, so `--cpu-prof` gets to write its profile.
  process.on("SIGTERM", () => {
    printPauses?.();
    void (allocations ?? (() => Promise.resolve()))().then(() => process.exit(0));
  });
  process.send?.(ports);
}

// ---------------------------------------------------------------------------------------------
// The driver.

async function call(
  url: string,
  init: { body: unknown; headers?: Record<string, string> },
): Promise<{ status: number; body: { data?: Record<string, unknown> } }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown> } };
}

/**
 * A load result with the CPU each request cost the server, Postgres, the generator and the rest of
 * the machine, in µs, and how fast the machine ran meanwhile (speed-probe.ts).
 */
interface Measured extends LoadResult {
  serverUs: number;
  postgresUs: number;
  otherUs: number;
  speed: SpeedReading;
}

async function measure(target: LoadTarget, serverPid: number): Promise<Measured> {
  let before: CpuSample | null = null;
  let after: CpuSample | null = null;
  let probe: ReturnType<typeof startSpeedProbe> | null = null;
  let speed: SpeedReading | null = null;
  const result = await runLoad(
    { targets: [target], concurrency: CONCURRENCY, warmUpRequests: WARM_UP, measureRequests: MEASURED },
    {
      onMeasuring: () => {
        before = cpuSample([serverPid]);
        probe = startSpeedProbe();
      },
      onMeasured: () => {
        after = cpuSample([serverPid]);
        speed = probe!.stop();
      },
    },
  );
  const used = cpuBetween(before!, after!);
  const perRequest = (seconds: number) => (seconds * 1e6) / result.requests;
  const server = used.processes.get(serverPid) ?? 0;
  return {
    ...result,
    serverUs: perRequest(server),
    postgresUs: perRequest(used.postgres),
    otherUs: perRequest(used.machine - server - used.postgres) - result.generatorCpuUs,
    speed: speed!,
  };
}

async function setUpTenant(base: string) {
  const email = `bench-${v7()}@example.com`;
  const registered = await call(`${base}/api/v1/auth/register`, { body: { email, password: "bench-password-1", name: "Bench" } });
  const headers = { authorization: `Bearer ${String(registered.body.data?.accessToken)}` };
  const org = await call(`${base}/api/v1/organizations`, { body: { name: "Bench" }, headers });
  const { id: organizationId, rootTeamId } = org.body.data as { id: string; rootTeamId: string };
  const workspace = await call(`${base}/api/v1/teams/${rootTeamId}/workspaces`, { body: { name: "Bench" }, headers });
  const workspaceId = String(workspace.body.data?.id);
  const created = await call(`${base}/api/v1/workspaces/${workspaceId}/workflows`, {
    body: { name: "Support router", graph: GRAPH },
    headers,
  });
  if (created.status !== 201) throw new Error(`createWorkflow answered ${created.status}: ${JSON.stringify(created.body)}`);
  const workflowId = String(created.body.data?.id);
  const published = await call(`${base}/api/v1/workspaces/${workspaceId}/workflows/${workflowId}/publish`, {
    body: { note: "bench" },
    headers,
  });
  if (published.status !== 201) throw new Error(`publishWorkflow answered ${published.status}`);
  return { organizationId, headers, runUrl: `${base}/api/v1/workspaces/${workspaceId}/workflows/${workflowId}/runs` };
}

async function drive(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `bench_workflow_${process.pid}`;
  const admin = openPostgres(adminUrl, 1);
  await sql.raw(`drop database if exists ${name}`).execute(admin.db);
  await sql.raw(`create database ${name}`).execute(admin.db);
  if (process.env.BENCH_FUNCTIONS) await sql.raw(`alter database ${name} set track_functions = 'pl'`).execute(admin.db);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  let child: ChildProcess | null = null;
  const deadline = setTimeout(() => {
    console.error(`bench: gave up after ${DEADLINE_MS / 1000} s`);
    child?.kill();
    process.exit(1);
  }, DEADLINE_MS);
  try {
    const setup = openPostgres(databaseUrl, 1);
    await migrateToLatest(setup.db);
    if (process.env.BENCH_SQL) await sql.raw(process.env.BENCH_SQL).execute(setup.db);
    await sql`create table bench_baseline (id uuid primary key, payload jsonb not null, created_at timestamptz not null default now())`.execute(
      setup.db,
    );

    const profile = process.env.BENCH_PROFILE;
    const serverFlags = serverNodeFlags();
    const server = fork(fileURLToPath(import.meta.url), ["serve"], {
      execArgv: [...process.execArgv, ...serverFlags, ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [])],
      env: { ...process.env, BENCH_DB_URL: databaseUrl },
    });
    child = server;
    const ports = await new Promise<{ workflow: number; baseline: number }>((resolve, reject) => {
      server.once("message", (message) => resolve(message as { workflow: number; baseline: number }));
      server.once("exit", (code) => reject(new Error(`the server exited (${code})`)));
    });
    const tenant = await setUpTenant(`http://127.0.0.1:${ports.workflow}`);
    const queries = ["I want a refund for order 42", "Where is my invoice?", "Hello there"];
    const workflowTarget: LoadTarget = {
      url: tenant.runUrl,
      method: "POST",
      headers: tenant.headers,
      bodies: queries.map((query) => JSON.stringify({ inputs: { query } })),
      // The run's own status, not a node's: in the answer it is followed by the run's error and tokens.
      expect: { status: 200, bodyIncludes: '"status":"succeeded","error":null,"totalTokens":' },
    };
    const baselineTarget: LoadTarget = {
      url: `http://127.0.0.1:${ports.baseline}/insert`,
      method: "POST",
      bodies: queries.map((query) => JSON.stringify({ payload: { query } })),
      expect: { status: 200 },
    };

    // The machine's speed before any load, for the rounds' probes to be read against.
    const quiet = probeSpeedNow();
    for (const target of [baselineTarget, workflowTarget]) {
      await runLoad({ targets: [target], concurrency: CONCURRENCY, warmUpRequests: 0, measureRequests: FIRST_WARM_UP });
    }
    const loadBefore = loadavg()[0] as number;
    const rounds: { baseline: Measured; workflow: Measured }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const baseline = await measure(baselineTarget, server.pid!);
      const workflow = await measure(workflowTarget, server.pid!);
      rounds.push({ baseline, workflow });
    }
    const loadAfter = loadavg()[0] as number;

    const records = await sql<{ runs: string; nodes: string; running: string }>`
      select (select count(*) from execution_records where status = 'succeeded') as runs,
             (select count(*) from node_execution_results) as nodes,
             (select count(*) from execution_records where status = 'running') as running`.execute(setup.db);
    const counts = records.rows[0]!;
    await setup.close();

    const ms = (value: number) => value.toFixed(1).padStart(6);
    const us = (value: number) => value.toFixed(0).padStart(5);
    const line = (name: string, m: Measured) =>
      `  ${name} p50 ${ms(m.p50Ms)} ms  p90 ${ms(m.p90Ms)} ms  p99 ${ms(m.p99Ms)} ms  max ${ms(m.maxMs)} ms  ${m.perSecond.toFixed(0).padStart(5)} req/s` +
      `  CPU µs/req: server ${us(m.serverUs)} postgres ${us(m.postgresUs)} generator ${us(m.generatorCpuUs)} other ${us(m.otherUs)}` +
      `  speed: loop ${us(m.speed.jsUs)} µs (${(m.speed.jsUs / quiet.jsUs).toFixed(2)}× quiet) write ${m.speed.syscallUs.toFixed(1)} µs` +
      `  statuses ${JSON.stringify(m.statuses)}${m.unexpected > 0 ? ` (${m.unexpected} UNEXPECTED)` : ""}` +
      // CPU of processes outside the bench (another job on the machine) skews a round: discard it.
      (m.otherUs * m.perSecond > 250_000 ? `  FOREIGN CPU ${((m.otherUs * m.perSecond) / 1e6).toFixed(2)} cores: discard` : "");
    console.log(
      `workflow over HTTP — Node ${process.version}; ${GRAPH.nodes.length}-node workflow (7 run, 3 skipped), blocking; ` +
        `${CONCURRENCY} clients in a closed loop (forked generator); server flags ${serverFlags.join(" ") || "none"}; ${MEASURED} requests per measurement after ${WARM_UP} warm-up (${FIRST_WARM_UP} before the first); ` +
        `pool ${POOL_SIZE} per app; 1-min load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)} on ${cpus().length} CPUs; ` +
        `speed probe (CPU time of a fixed loop, and of one write(2) to /dev/null) before the load: loop ${quiet.jsUs.toFixed(0)} µs, write ${quiet.syscallUs.toFixed(1)} µs`,
    );
    for (const [index, { baseline, workflow }] of rounds.entries()) {
      console.log(`round ${index + 1}`);
      console.log(line("bare Hono + 1 insert  ", baseline));
      console.log(
        line("workflow run + records", workflow) +
          `  (p50 ${(workflow.p50Ms / baseline.p50Ms).toFixed(1)}×, p99 ${(workflow.p99Ms / baseline.p99Ms).toFixed(1)}× the baseline; goal p99 ≤ 50 ms)`,
      );
    }
    console.log(
      `records saved: ${counts.runs} succeeded runs, ${counts.nodes} node results (${Number(counts.nodes) / Number(counts.runs)} per run), ${counts.running} left running`,
    );
  } finally {
    clearTimeout(deadline);
    await closeLoadGenerator();
    const exited = child && child.exitCode === null ? new Promise((resolve) => child!.once("exit", resolve)) : null;
    child?.kill();
    // The server writes its profile as it exits.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    // The server's connections flushed their function statistics as they closed.
    if (process.env.BENCH_FUNCTIONS) await printFunctionTimes(databaseUrl);
    await sql.raw(`drop database if exists ${name} with (force)`).execute(admin.db);
    await admin.close();
  }
}

if (process.argv[2] === "serve") await serveBoth(process.env.BENCH_DB_URL as string);
else await drive();
