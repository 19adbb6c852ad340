import { serve } from "@hono/node-server";
import { pino } from "pino";
import { createApp } from "./app.ts";
import { createOutboxMailer } from "./auth/mailer.ts";
import { loadConfig, resolveAuthSecret } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import { migrateToLatest } from "./db/migrate.ts";
import { seedDemoData } from "./seed.ts";

const started = performance.now();
const config = loadConfig(process.env);
const logger = pino({ level: config.LOG_LEVEL });

const database = await openDatabase({ dataDir: config.DATA_DIR, ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}) });
logger.info({ database: database.kind, ...(database.kind === "pglite" ? { dataDir: config.DATA_DIR } : {}) }, "database open");
const applied = await migrateToLatest(database.db);
logger.info({ applied: applied.map((m) => m.migrationName) }, "migrations applied");

const authSecret = resolveAuthSecret(config);
if (authSecret.source === "data-dir") logger.warn(`AUTH_SECRET is not set: signing with the key kept in ${config.DATA_DIR}/auth-secret`);
const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
const mailer = createOutboxMailer(config.OUTBOX_DIR, logger);
const deps = { db: database.db, logger, authSecret: authSecret.secret, mailer, publicUrl };
await seedDemoData(deps, logger);
const app = createApp(deps);
const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
  logger.info({ port: info.port, startupMs: Math.round(performance.now() - started) }, "listening");
  logger.info(`API reference: http://localhost:${info.port}/docs`);
});

let stopping = false;
/** Stops accepting connections, lets requests in flight finish, then closes the database. */
async function drain(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "draining");
  const deadline = setTimeout(() => {
    logger.error("shutdown timed out; exiting with requests still open");
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  deadline.unref();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await database.close();
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void drain("SIGTERM"));
process.on("SIGINT", () => void drain("SIGINT"));
