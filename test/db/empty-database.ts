import { sql } from "kysely";
import { inject } from "vitest";
import { fromPGlite, openPGlite, openPostgres, type DatabaseHandle } from "../../server/db/database.ts";

const opened: { handle: DatabaseHandle; drop?: () => Promise<void> }[] = [];

/** An empty database of this project's kind: a fresh PGlite, or a new database on the native server. Close with `closeEmptyDatabases`. */
export async function emptyDatabase(): Promise<DatabaseHandle> {
  const target = inject("testDatabase");
  if (target.kind === "pglite") {
    const handle = fromPGlite(await openPGlite());
    opened.push({ handle });
    return handle;
  }
  const name = `test_scratch_${process.pid}_${Date.now()}_${opened.length}`;
  const admin = openPostgres(target.url, 1);
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

/** Closes (and on the native server drops) every database `emptyDatabase` made. */
export async function closeEmptyDatabases(): Promise<void> {
  for (const { handle, drop } of opened.splice(0)) {
    await handle.close();
    await drop?.();
  }
}
