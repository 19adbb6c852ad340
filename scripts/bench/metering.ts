/**
 * Metering on native Postgres, each figure beside a baseline measured in the same run. Prints;
 * asserts nothing. Creates the databases `metering_bench` and `metering_bench_large` on the server
 * and drops them at the end.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm exec tsx scripts/bench/metering.ts
 *
 * 1. Throughput over real HTTP from a child process, with the CPU each request costs the server and
 *    Postgres, against a bare Hono route doing one primary-key insert:
 *    - a metered call: an operation marked `@metered("api_call")` with an organization API key and a
 *      handler that does nothing, so the call costs what the metering hook adds to any operation of
 *      the service API (authentication, the key's cached lookup, one check-and-record) — all for one
 *      organization, and spread over 64. The operation is the one the hook's tests bind
 *      (test/metering/metered-route.ts), through the real bindRoutes, authenticator and meter;
 *    - `recordUsage` with one record, which records the call's unit and its record in one step: two
 *      ledger rows a call, for scale.
 *    The apps are served from this process, run with the server's Node flags (server-flags.ts).
 * 2. Quota-check latency (one check-and-record, in process) with 10 k and with 10 M ledger rows.
 * 3. A year of daily history for one organization over those 10 M rows.
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { pino } from "pino";
import { createApp } from "../../server/app.ts";
import { createOutboxMailer } from "../../server/auth/mailer.ts";
import { openPostgres } from "../../server/db/database.ts";
import { migrateToLatest } from "../../server/db/migrate.ts";
import { newId } from "../../server/ids.ts";
import { createMeteringServices } from "../../server/metering/services.ts";
import { meteredTestApp } from "../../test/metering/metered-route.ts";
import { cpuBetween, cpuSample } from "./cpu.ts";
import { closeLoadGenerator, runLoad, type LoadResult, type LoadTarget } from "./http-load.ts";
import { benchOutbox } from "./outbox.ts";
import { createTenant, databaseUrl, dropDatabase, growLedger, recreateDatabase } from "./metering-setup.ts";
import { serverNodeFlags, withServerFlags } from "./server-flags.ts";

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
/** As in the ceilings the issue's figures come from (../shared/notes/performance-ceilings.md: `wrk -c50`). */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const POOL = Number(process.env.BENCH_POOL ?? 16);
const WARM_UP_MS = 3_000;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** How many organizations the spread metered load takes in turn (the other metered load uses one). */
const TENANTS = Number(process.env.BENCH_TENANTS ?? 64);
const LATENCY_CALLS = 3_000;
const LATENCY_BLOCKS = 10;
const SMALL_LEDGER = 10_000;
const LARGE_LEDGER = Number(process.env.BENCH_LARGE_LEDGER ?? 10_000_000);
const SECRET = "bench-secret-bench-secret-bench-secret-0123456789";

const fmt = (n: number, digits = 0) => n.toFixed(digits);

/** Where the load sends the metered operation's calls for tenant `t`. */
function pingTarget(port: number, t: { organizationId: string; key: string }) {
  return { url: `http://127.0.0.1:${port}/test/organizations/${t.organizationId}/ping`, headers: { authorization: `Bearer ${t.key}` } };
}

/** Where the load sends one-record `recordUsage` calls for tenant `t`. */
function recordTarget(port: number, t: { organizationId: string; key: string }) {
  return {
    url: `http://127.0.0.1:${port}/api/v1/organizations/${t.organizationId}/usage/records`,
    headers: { authorization: `Bearer ${t.key}` },
  };
}

function listen(fetch: (req: Request) => Response | Promise<Response>): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve({ server, port: info.port }));
  });
}

interface Measured extends LoadResult {
  /** CPU of this process (the servers) and of Postgres per request, in microseconds. */
  serverCpuUs: number;
  /** Null when no Postgres process of this machine was seen (no /proc, or a remote server). */
  postgresCpuUs: number | null;
}

/**
 * What a request sends: a one-record recordUsage body with a fresh idempotency key each time, a tiny
 * JSON body, an empty one (a POST without content), or nothing (a GET).
 */
const BODIES = {
  record: '{"records":[{"idempotencyKey":"load-{seq}","resourceType":"token","quantity":1}]}',
  bare: '{"n":{seq}}',
  ping: "",
  none: null,
} as const;

async function load(targets: { url: string; headers: Record<string, string> }[], body: keyof typeof BODIES): Promise<Measured> {
  const cpu = process.cpuUsage();
  const before = cpuSample([]);
  const text = BODIES[body];
  const loadTargets: LoadTarget[] = targets.map((t) => ({ ...t, bodies: text === null ? [] : [text] }));
  const result = await runLoad({ targets: loadTargets, concurrency: CONCURRENCY, warmUpMs: WARM_UP_MS, measureMs: MEASURE_MS });
  const used = process.cpuUsage(cpu);
  const postgres = cpuBetween(before, cpuSample([])).postgres;
  // Both totals include the warm-up; so does the request count below.
  const requests = result.requests * ((WARM_UP_MS + MEASURE_MS) / MEASURE_MS);
  return {
    ...result,
    serverCpuUs: (used.user + used.system) / requests,
    postgresCpuUs: before.postgres.size === 0 ? null : (postgres * 1e6) / requests,
  };
}

/** Per-call latency of `once`, in milliseconds, over `calls` calls. */
async function latencies(calls: number, once: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await once();
    samples.push(performance.now() - started);
  }
  return samples;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.floor(sorted.length * q)]!;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

/** A migrated bench database with the app over it, one tenant, and its metering services. */
async function benchDatabase(name: string) {
  await recreateDatabase(ADMIN_URL, name);
  const handle = openPostgres(databaseUrl(ADMIN_URL, name), POOL);
  await migrateToLatest(handle.db);
  const logger = pino({ level: "silent" });
  const mailer = createOutboxMailer(benchOutbox(), logger);
  const app = createApp({ db: handle.db, logger, authSecret: SECRET, mailer });
  const tenant = await createTenant(app, handle.db);
  const metering = createMeteringServices({ db: handle.db, now: () => new Date(), authSecret: SECRET });
  let n = 0;
  const checkOnce = () =>
    metering.meter.record(tenant.organizationId, [{ idempotencyKey: `check-${newId()}-${n++}`, resourceType: "api_call", quantity: 1 }]);
  return { name, handle, app, tenant, metering, checkOnce };
}

const closed = new Set<string>();
/** Closes a bench database's pool and drops it, once. */
async function closeBench(bench: { name: string; handle: { close(): Promise<void> } }) {
  if (closed.has(bench.name)) return;
  closed.add(bench.name);
  await bench.handle.close();
  await dropDatabase(ADMIN_URL, bench.name);
}

const count = async (db: Kysely<Database>) =>
  Number(
    (
      await db
        .selectFrom("usage_records")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

async function main() {
  const small = await benchDatabase("metering_bench");
  const large = await benchDatabase("metering_bench_large");
  const servers: ServerType[] = [];
  try {
    const { db } = small.handle;
    console.log(
      `metering bench — Node ${process.version}; Postgres ${(await sql<{ server_version: string }>`show server_version`.execute(db)).rows[0]!.server_version}; pool ${POOL}; ${CONCURRENCY} requests in flight; Node flags ${serverNodeFlags().join(" ") || "none"}`,
    );

    // 2 and 3 first, while the small ledger is small: two databases, checked in alternating blocks
    // so that whatever else the machine does weighs on both alike.
    const year = new Date(Date.UTC(new Date().getUTCFullYear() - 1, 0, 1));
    await growLedger(db, small.tenant.organizationId, small.tenant.workspaceId, 0, SMALL_LEDGER, year);
    const growStarted = performance.now();
    await growLedger(large.handle.db, large.tenant.organizationId, large.tenant.workspaceId, 0, LARGE_LEDGER, year);
    const growSeconds = (performance.now() - growStarted) / 1000;
    const samples = { small: [] as number[], large: [] as number[] };
    for (const side of [small, large]) await latencies(200, side.checkOnce);
    for (let block = 0; block < LATENCY_BLOCKS; block++) {
      samples.small.push(...(await latencies(LATENCY_CALLS / LATENCY_BLOCKS, small.checkOnce)));
      samples.large.push(...(await latencies(LATENCY_CALLS / LATENCY_BLOCKS, large.checkOnce)));
    }
    const [s, l] = [summary(samples.small), summary(samples.large)];
    const rows = [await count(db), await count(large.handle.db)];
    console.log(`\nquota check and record, one call at a time (${LATENCY_CALLS} calls each, in ${LATENCY_BLOCKS} alternating blocks)`);
    const row = (r: number, x: ReturnType<typeof summary>) =>
      `  ledger ${r.toLocaleString("en-US").padStart(10)} rows: p50 ${fmt(x.p50, 3)} ms  p99 ${fmt(x.p99, 3)} ms  mean ${fmt(x.mean, 3)} ms`;
    console.log(row(rows[0]!, s));
    console.log(`${row(rows[1]!, l)}  (grown in ${fmt(growSeconds)} s)`);
    console.log(`  ratio large / small: p50 ${fmt(l.p50 / s.p50, 2)}, mean ${fmt(l.mean / s.mean, 2)} (goal within 20 %)`);

    const yearEnd = new Date(Date.UTC(year.getUTCFullYear() + 1, 0, 1));
    const yearOfDays = () =>
      large.metering.usage.history(
        { organizationId: large.tenant.organizationId },
        { metricType: "api_call", granularity: "day", startDate: year.toISOString(), endDate: yearEnd.toISOString() },
      );
    await latencies(5, yearOfDays);
    const history = summary(await latencies(50, yearOfDays));
    const sample = await yearOfDays();
    console.log(
      `\na year of daily history (${sample.dataPoints.length} buckets, total ${sample.total.toLocaleString("en-US")}) over ${rows[1]!.toLocaleString("en-US")} ledger rows:`,
    );
    console.log(`  p50 ${fmt(history.p50, 2)} ms  p99 ${fmt(history.p99, 2)} ms (goal ≤ 50 ms)`);
    await closeBench(large);

    // 1. Throughput.
    await sql`create table bench_inserts (id uuid primary key, organization_id uuid not null, n bigint not null, created_at timestamptz not null default now())`.execute(
      db,
    );
    const tenants = [small.tenant];
    while (tenants.length < TENANTS) tenants.push(await createTenant(small.app, db, tenants.length));
    const bare = new Hono();
    // Reads the JSON body it is sent and stores it, as any route that records something does.
    bare.post("/bare", async (c) => {
      const { n } = await c.req.json<{ n: number }>();
      await db
        .insertInto("bench_inserts" as never)
        .values({ id: newId(), organization_id: small.tenant.organizationId, n } as never)
        .execute();
      return c.json({ ok: true }, 201);
    });
    const metered = await listen(small.app.fetch);
    const baseline = await listen(bare.fetch);
    const ping = await listen(meteredTestApp(db).fetch);
    servers.push(metered.server, baseline.server, ping.server);
    const cases = {
      bare: {
        name: "bare Hono route, JSON body, one PK insert",
        targets: [{ url: `http://127.0.0.1:${baseline.port}/bare`, headers: {} }],
      },
      // For scale, not a goal: the app's own stack (ids, logging, locale, validation, envelope) on an unmetered read.
      app: {
        name: "the app, unmetered getPlan (one PK read)",
        targets: [{ url: `http://127.0.0.1:${metered.port}/api/v1/billing/plans/0190b6a0-0000-7000-8000-000000000001`, headers: {} }],
      },
      hot: { name: "metered call, one organization", targets: tenants.slice(0, 1).map((t) => pingTarget(ping.port, t)) },
      spread: { name: `metered call, ${TENANTS} organizations in turn`, targets: tenants.map((t) => pingTarget(ping.port, t)) },
      record: { name: "recordUsage, one record, one organization", targets: tenants.slice(0, 1).map((t) => recordTarget(metered.port, t)) },
    };
    const BODY_OF = { bare: "bare", app: "none", hot: "ping", spread: "ping", record: "record" } as const;
    const runs: Record<keyof typeof cases, Measured[]> = { bare: [], app: [], hot: [], spread: [], record: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [kind, c] of Object.entries(cases) as [keyof typeof cases, (typeof cases)["bare"]][]) {
        runs[kind].push(await load(c.targets, BODY_OF[kind]));
      }
    }
    /** The round with the median throughput (rounds are interleaved, so a disturbance weighs on one round of each case). */
    const median = (results: Measured[]) => [...results].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(results.length / 2)]!;
    const line = (name: string, r: Measured) =>
      `${name.padEnd(40)} ${fmt(r.perSecond).padStart(6)} req/s  p50 ${fmt(r.p50Ms, 2)} ms  p99 ${fmt(r.p99Ms, 2)} ms  ` +
      `CPU/request: server ${fmt(r.serverCpuUs)} µs, Postgres ${r.postgresCpuUs === null ? "?" : fmt(r.postgresCpuUs)} µs  ${JSON.stringify(r.statuses)}`;
    console.log(
      `\nthroughput over HTTP (median of ${ROUNDS} interleaved rounds of ${MEASURE_MS / 1000} s after ${WARM_UP_MS / 1000} s warm-up; ` +
        `rounds: ${Object.entries(runs)
          .map(([k, rs]) => `${k} ${rs.map((r) => fmt(r.perSecond)).join("/")}`)
          .join(", ")})`,
    );
    const base = median(runs.bare);
    console.log(line(cases.bare.name, base));
    const app = median(runs.app);
    console.log(line(cases.app.name, app));
    console.log(`${"".padEnd(40)} ratio to bare: ${fmt(app.perSecond / base.perSecond, 2)} (for scale)`);
    for (const kind of ["hot", "spread", "record"] as const) {
      const r = median(runs[kind]);
      console.log(line(cases[kind].name, r));
      const goal = kind === "record" ? "for scale: two ledger rows a call" : "goal ≥ 0.8";
      console.log(`${"".padEnd(40)} ratio to bare: ${fmt(r.perSecond / base.perSecond, 2)} (${goal})`);
    }
  } finally {
    await closeLoadGenerator();
    for (const server of servers) server.close();
    await closeBench(small);
    await closeBench(large);
  }
}

await withServerFlags(import.meta.url);
await main();
