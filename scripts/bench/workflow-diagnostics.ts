/**
 * The workflow bench's optional diagnostics (scripts/bench/workflow-http.ts), each turned on by an
 * environment variable: what the server allocates, the statements it sends, and the time Postgres
 * spends in each function.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
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
