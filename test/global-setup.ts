import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import type { TestProject } from "vitest/node";
import { fromPGlite, openPGlite, openPostgres } from "../server/db/database.ts";
import { migrateToLatest } from "../server/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * The database of this test project: a dump of a migrated PGlite database that each test file
     * loads (migrations run once per run), or the native server's URL.
     */
    testDatabase: { kind: "pglite"; template: string } | { kind: "postgres"; url: string };
  }
}

/**
 * Migrates the test database once per run of a project. The `postgres` project resets the public
 * schema of `TEST_DATABASE_URL` (whose database name must say it is for tests) and migrates it;
 * the `pglite` project dumps a migrated PGlite database for the test files to load.
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL;
  if (project.name === "postgres" && url) {
    if (!/test/i.test(new URL(url).pathname)) throw new Error(`refusing to reset ${url}: its database name must contain "test"`);
    const handle = openPostgres(url, 2);
    try {
      await sql`drop schema if exists public cascade; create schema public`.execute(handle.db);
      await migrateToLatest(handle.db);
    } finally {
      await handle.close();
    }
    project.provide("testDatabase", { kind: "postgres", url });
    return;
  }
  const pglite = await openPGlite();
  const handle = fromPGlite(pglite);
  await migrateToLatest(handle.db);
  const dump = await pglite.dumpDataDir("none");
  const path = join(mkdtempSync(join(tmpdir(), "pglite-template-")), "template.tar");
  writeFileSync(path, Buffer.from(await dump.arrayBuffer()));
  await handle.close();
  project.provide("testDatabase", { kind: "pglite", template: path });
}
