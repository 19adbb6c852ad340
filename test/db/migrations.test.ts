import { cpSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, migrateToLatest } from "../../server/db/migrate.ts";
import { closeEmptyDatabases, emptyDatabase } from "./empty-database.ts";

const files = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith(".sql"))
  .sort();
const names = files.map((f) => f.replace(/\.sql$/, ""));
/** A copy of sql/ holding only the first `count` migrations. */
function folderWithFirst(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), "migrations-"));
  for (const file of files.slice(0, count)) cpSync(join(MIGRATIONS_DIR, file), join(dir, file));
  return dir;
}

afterAll(closeEmptyDatabases);

describe("migrations", () => {
  it("run forward on an empty database, record each file, and apply nothing the second time", async () => {
    const { db } = await emptyDatabase();
    const first = await migrateToLatest(db);
    expect(first.map((r) => [r.migrationName, r.status])).toEqual(names.map((n) => [n, "Success"]));
    expect(await migrateToLatest(db)).toEqual([]);
    const recorded = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    expect(recorded.rows.map((r) => r.name)).toEqual(names);
    const plans = await sql<{ count: bigint }>`select count(*) as count from subscription_plans`.execute(db);
    expect(plans.rows[0]?.count).toBe(7n);
  });

  it("run forward from the previous migration", async () => {
    const { db } = await emptyDatabase();
    await migrateToLatest(db, folderWithFirst(files.length - 1));
    const rest = await migrateToLatest(db);
    expect(rest.map((r) => r.migrationName)).toEqual(names.slice(-1));
  });

  it("seed the default plans idempotently: running a migration's script again changes nothing", async () => {
    const { db } = await emptyDatabase();
    await migrateToLatest(db);
    const before = await sql`select * from subscription_plans order by id`.execute(db);
    await sql.raw(readFileSync(join(MIGRATIONS_DIR, files[0]!), "utf8")).execute(db);
    const after = await sql`select * from subscription_plans order by id`.execute(db);
    expect(after.rows).toEqual(before.rows);
  });
});
