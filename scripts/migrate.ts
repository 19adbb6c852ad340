import { openDatabase } from "../server/db/database.ts";
import { migrateToLatest } from "../server/db/migrate.ts";
import { loadConfig } from "../server/config.ts";

/** `pnpm db:migrate`: applies pending migrations to `DATABASE_URL`, or to the embedded database under `DATA_DIR`. */
const config = loadConfig(process.env);
const database = await openDatabase({ dataDir: config.DATA_DIR, ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}) });
try {
  const applied = await migrateToLatest(database.db);
  console.log(applied.length ? applied.map((m) => `applied ${m.migrationName}`).join("\n") : "nothing to apply: the schema is up to date");
} finally {
  await database.close();
}
