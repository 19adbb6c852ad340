import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from "kysely";

/** The folder of numbered plain-SQL migrations. */
export const MIGRATIONS_DIR = new URL("../../sql/", import.meta.url).pathname;

const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+\.sql$/;

/**
 * Reads `sql/NNNN_intent.sql` files as Kysely migrations. Each file is run as one script; Kysely
 * runs all pending files in one transaction under its migration lock and records them in
 * `kysely_migration`, so a second run applies nothing.
 */
export class SqlFileMigrationProvider implements MigrationProvider {
  constructor(readonly folder: string = MIGRATIONS_DIR) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const file of readdirSync(this.folder).sort()) {
      if (!file.endsWith(".sql")) continue;
      if (!MIGRATION_NAME.test(file)) throw new Error(`migration ${file} is not named NNNN_intent.sql`);
      const script = readFileSync(join(this.folder, file), "utf8");
      migrations[file.replace(/\.sql$/, "")] = { up: async (db) => void (await sql.raw(script).execute(db)) };
    }
    return migrations;
  }
}

/** Applies every pending migration; throws with the failing file's name if one fails (nothing of the batch stays). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before the schema they create exists
export async function migrateToLatest(db: Kysely<any>, folder?: string): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: new SqlFileMigrationProvider(folder) });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return results;
}
