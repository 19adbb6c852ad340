import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../../generated/db.ts";
import { PGliteDialect } from "./pglite-dialect.ts";

/** An open database: the Kysely instance the server uses, and how to close what is under it. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  /** `pglite` (embedded, in-process) or `postgres` (a server reached through `pg`). */
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

const INT8 = 20;

/** int8 becomes `bigint` (money in minor units, counters), the same on both drivers. */
const int8AsBigInt = (value: string) => BigInt(value);

/** Opens an embedded PGlite database with pgvector: `dataDir` on disk, or in memory when omitted or given a dump. */
export async function openPGlite(options: { dataDir?: string; loadDataDir?: Blob | File } = {}): Promise<PGlite> {
  return PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    extensions: { vector },
    parsers: { [INT8]: int8AsBigInt },
  });
}

/** Wraps an open PGlite instance; closing the handle closes PGlite. */
export function fromPGlite(pglite: PGlite): DatabaseHandle {
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: "pglite",
    close: async () => {
      await db.destroy();
      await pglite.close();
    },
  };
}

/** Connects to a Postgres server through a `pg` pool. */
export function openPostgres(connectionString: string, poolSize = 10): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8 ? int8AsBigInt : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: "postgres", close: () => db.destroy() };
}

/** `DATABASE_URL` set: that server. Unset: PGlite under `dataDir`. */
export async function openDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return fromPGlite(await openPGlite({ dataDir: options.dataDir }));
}
