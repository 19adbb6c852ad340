import { serve } from "@hono/node-server";
import { pino } from "pino";
import { createApp } from "./app.ts";
import { createOutboxMailer } from "./auth/mailer.ts";
import { loadConfig, resolveAuthSecret } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import { migrateToLatest } from "./db/migrate.ts";
import { seedDemoData } from "./seed.ts";
import { createBackgroundJobs } from "./metering/background.ts";
import { periodJobSchedule } from "./jobs/billing-jobs.ts";
import { createScheduler } from "./jobs/scheduler.ts";
import { paymentProviderFromConfig } from "./payments/from-config.ts";
import { startRunRecovery } from "./workflows/index.ts";

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
// Before listening: on the embedded database every run still `running` belonged to a process that is gone.
const runRecovery = startRunRecovery(database.db, { soleServer: database.kind === "pglite", log: logger });
await runRecovery.first;
const payments = paymentProviderFromConfig(config);
logger.info(payments.notice);
const billing = { payments: payments.provider, policy: { graceDays: config.BILLING_GRACE_DAYS, invoiceDueDays: config.INVOICE_DUE_DAYS } };
const webhooks = { allowPrivateNetwork: config.WEBHOOK_ALLOW_PRIVATE_NETWORK };
const app = createApp({ ...deps, billing, webhooks, notifications: database });
const clock = () => new Date();
const periodJob = periodJobSchedule({ db: database.db, now: clock, ...billing }, logger, config.BILLING_JOB_INTERVAL_MS);
const scheduler = createScheduler({ db: database.db, now: clock, logger, jobs: [periodJob] });
scheduler.start();
const backgroundJobs = createBackgroundJobs({ db: database.db, logger, authSecret: authSecret.secret, webhooks });
backgroundJobs.start();
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
  runRecovery.stop();
  await scheduler.stop();
  await backgroundJobs.stop();
  await database.close();
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void drain("SIGTERM"));
process.on("SIGINT", () => void drain("SIGINT"));
