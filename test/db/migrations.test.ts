import { cpSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, inject, it } from "vitest";
import { fromPGlite, openPGlite, openPostgres, type DatabaseHandle } from "../../server/db/database.ts";
import { MIGRATIONS_DIR, migrateToLatest } from "../../server/db/migrate.ts";

const files = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith(".sql"))
  .sort();
const names = files.map((f) => f.replace(/\.sql$/, ""));
const opened: { handle: DatabaseHandle; drop?: () => Promise<void> }[] = [];

/** An empty database of this project's kind: a fresh PGlite, or a new database on the native server. */
async function emptyDatabase(): Promise<DatabaseHandle> {
  const target = inject("testDatabase");
  if (target.kind === "pglite") {
    const handle = fromPGlite(await openPGlite());
    opened.push({ handle });
    return handle;
  }
  const name = `test_migrations_${process.pid}_${opened.length}`;
  const admin = openPostgres(target.url, 1);
  await sql.raw(`drop database if exists ${name}`).execute(admin.db);
  await sql.raw(`create database ${name}`).execute(admin.db);
  const url = new URL(target.url);
  url.pathname = `/${name}`;
  const handle = openPostgres(url.toString(), 2);
  opened.push({
    handle,
    drop: async () => {
      await sql.raw(`drop database if exists ${name}`).execute(admin.db);
      await admin.close();
    },
  });
  return handle;
}

/** A copy of sql/ holding only the first `count` migrations. */
function folderWithFirst(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), "migrations-"));
  for (const file of files.slice(0, count)) cpSync(join(MIGRATIONS_DIR, file), join(dir, file));
  return dir;
}

afterAll(async () => {
  for (const { handle, drop } of opened) {
    await handle.close();
    await drop?.();
  }
});

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
