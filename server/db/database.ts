import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "../../generated/db.ts";
import { PGliteDialect } from "./pglite-dialect.ts";

/** A subscription to a notification channel. */
export interface Subscription {
  close(): Promise<void>;
}

/** Postgres's LISTEN/NOTIFY: what `pg_notify(channel, payload)` sends, once its transaction commits, reaches every listener. */
export interface Notifications {
  /**
   * Calls `onMessage` with the payload of each notification on `channel` (a lower-case SQL
   * identifier) until closed. `onLost` is called if the subscription ends by itself (its connection
   * failed): notifications sent meanwhile are lost, so the caller subscribes again.
   */
  listen(channel: string, onMessage: (payload: string) => void, onLost?: () => void): Promise<Subscription>;
}

/** An open database: the Kysely instance the server uses, its notifications, and how to close what is under it. */
export interface DatabaseHandle extends Notifications {
  db: Kysely<Database>;
  /** `pglite` (embedded, in-process) or `postgres` (a server reached through `pg`). */
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

const CHANNEL = /^[a-z_][a-z0-9_]*$/;

function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
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
    async listen(channel, onMessage) {
      checkChannel(channel);
      const off = pglite.onNotification((name, payload) => {
        if (name === channel) onMessage(payload);
      });
      // Through the driver's session lock, so it never lands inside another caller's transaction. The
      // one session keeps listening after a close (another subscriber may share the channel); only the callback goes.
      await sql.raw(`listen ${channel}`).execute(db);
      return { close: async () => off() };
    },
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
  return {
    db,
    kind: "postgres",
    // A connection of its own, outside the pool: it holds the LISTEN for as long as the subscription lasts.
    async listen(channel, onMessage, onLost) {
      checkChannel(channel);
      const client = new pg.Client({ connectionString });
      let closing = false;
      const lost = () => {
        if (closing) return;
        closing = true;
        void client.end().catch(() => {});
        onLost?.();
      };
      client.on("error", lost);
      client.on("end", lost);
      client.on("notification", (message) => {
        if (message.channel === channel) onMessage(message.payload ?? "");
      });
      try {
        await client.connect();
        await client.query(`listen ${channel}`);
      } catch (error) {
        closing = true;
        await client.end().catch(() => {});
        throw error;
      }
      return {
        close: async () => {
          if (closing) return;
          closing = true;
          await client.end();
        },
      };
    },
    close: () => db.destroy(),
  };
}

/** `DATABASE_URL` set: that server. Unset: PGlite under `dataDir`. */
export async function openDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return fromPGlite(await openPGlite({ dataDir: options.dataDir }));
}
