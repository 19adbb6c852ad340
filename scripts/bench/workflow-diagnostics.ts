/**
 * The workflow bench's optional diagnostics (scripts/bench/workflow-http.ts), each turned on by an
 * environment variable: what the server allocates, its garbage-collection pauses, the statements it
 * sends, and the time Postgres spends in each function.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { sql } from "kysely";
import pg from "pg";
import { openPostgres } from "../../server/db/database.ts";

/**
 * BENCH_ALLOCATIONS=<file>: samples what the server allocates (collected objects included, so it is
 * the allocation rate, not what stays) and writes V8's sampling heap profile there as it exits.
 */
export async function sampleAllocations(): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    writeFileSync(process.env.BENCH_ALLOCATIONS as string, JSON.stringify(profile));
  };
}

/** The kinds of a `gc` performance entry (perf_hooks' NODE_PERFORMANCE_GC_* constants). */
const GC_KINDS: Record<number, string> = {
  1: "scavenge",
  2: "mark-compact (minor)",
  4: "mark-compact",
  8: "incremental marking",
  16: "weak callbacks",
};

/**
 * BENCH_PAUSES=1: the server's garbage-collection pauses by kind and its event loop's delay, over
 * the whole bench (baseline rounds included), printed by the function this returns. A round's p99
 * moves with the few long pauses in it: the 60 runs in flight during one all wait it out.
 */
export function watchPauses(): () => void {
  const pauses = new Map<string, number[]>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as unknown as { detail: { kind: number } }).detail.kind] ?? "other";
      const durations = pauses.get(kind);
      if (durations) durations.push(entry.duration);
      else pauses.set(kind, [entry.duration]);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  return () => {
    observer.disconnect();
    delay.disable();
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    for (const [kind, durations] of pauses) {
      const mean = durations.reduce((a, b) => a + b, 0) / durations.length;
      console.log(
        `server GC ${kind.padEnd(20)} ${String(durations.length).padStart(5)} pauses, mean ${mean.toFixed(1)} ms, max ${Math.max(...durations).toFixed(1)} ms`,
      );
    }
    console.log(`server event-loop delay: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms`);
  };
}

/**
 * BENCH_QUERIES=1: counts the statements the server sends (by their first 100 characters) and prints
 * them as it exits, to see the round trips a run costs.
 */
export function countQueries(): void {
  const counts = new Map<string, number>();
  const original = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text: string };
    const text = (typeof first === "string" ? first : first.text).replace(/\s+/g, " ").slice(0, 100);
    counts.set(text, (counts.get(text) ?? 0) + 1);
    return original.apply(this, args);
  } as typeof pg.Client.prototype.query;
  process.on("exit", () => {
    for (const [text, count] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${String(count).padStart(7)}  ${text}`);
  });
}

/**
 * BENCH_FUNCTIONS=1: calls, and time inside (total and own) per call, of each PL/pgSQL function the
 * run used; and how often autovacuum vacuumed and analyzed the tables a run writes.
 */
export async function printFunctionTimes(databaseUrl: string): Promise<void> {
  const stats = openPostgres(databaseUrl, 1);
  const { rows } = await sql<{ funcname: string; calls: number | string; total_time: number; self_time: number }>`
    select funcname, calls, total_time, self_time from pg_stat_user_functions order by total_time desc`.execute(stats.db);
  const vacuums = await sql<{ relname: string; autovacuum_count: number; autoanalyze_count: number }>`
    select relname, autovacuum_count, autoanalyze_count from pg_stat_user_tables
    where relname in ('execution_records', 'node_execution_results', 'audit_logs', 'usage_records', 'usage_counters', 'usage_rollups')
    order by relname`.execute(stats.db);
  console.log(
    `autovacuum runs (vacuum/analyze): ${vacuums.rows.map((r) => `${r.relname} ${r.autovacuum_count}/${r.autoanalyze_count}`).join(", ")}`,
  );
  for (const row of rows) {
    const per = (ms: number) => ((ms * 1000) / Number(row.calls)).toFixed(0).padStart(6);
    console.log(
      `${row.funcname.padEnd(32)} calls ${String(row.calls).padStart(7)}  µs per call: total ${per(row.total_time)} own ${per(row.self_time)}  total ${(row.total_time / 1000).toFixed(1)} s`,
    );
  }
  await stats.close();
}
