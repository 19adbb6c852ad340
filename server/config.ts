import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const Config = z.object({
  /** The port to listen on. */
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** The address to listen on. */
  HOST: z.string().min(1).default("0.0.0.0"),
  /** A Postgres connection string; unset, the embedded PGlite database under `DATA_DIR` is used. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Where the embedded database keeps its files (kept across restarts). */
  DATA_DIR: z.string().min(1).default("./.data"),
  /**
   * The key that signs access tokens, at least 32 characters. Unset, a random key is made once and
   * kept in `DATA_DIR/auth-secret`, so sessions survive restarts of the embedded setup.
   */
  AUTH_SECRET: z.string().min(32).optional(),
  /** Where the default mailer writes mail (password resets, invitations). */
  OUTBOX_DIR: z.string().min(1).default("./.outbox"),
  /** The base URL put in mailed links; defaults to http://localhost:PORT. */
  PUBLIC_URL: z.url().optional(),
  /** pino's level. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a shutdown waits for requests in flight before it gives up, in milliseconds. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** Stripe's secret API key; unset, the `manual` payment provider is used (admins mark invoices paid). */
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  /** The signing secret of Stripe's webhook endpoint (`whsec_…`); required with `STRIPE_SECRET_KEY`. */
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Days a subscription stays past due before it is suspended. */
  BILLING_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(7),
  /** Days after it is finalized that a sent invoice (no payment provider) is due. */
  INVOICE_DUE_DAYS: z.coerce.number().int().min(0).max(365).default(14),
  /** How often the billing period job runs, in milliseconds. */
  BILLING_JOB_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  /**
   * Let webhooks be set to, and delivered to, private, loopback and link-local addresses (`true` or
   * `false`). For local development; off, a webhook reaches public addresses only.
   */
  WEBHOOK_ALLOW_PRIVATE_NETWORK: z.stringbool().default(false),
});

/** The server's configuration, read from the environment. */
export type AppConfig = z.infer<typeof Config>;

/** Reads and checks the configuration; a bad value stops start-up with one line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const parsed = Config.safeParse({
    ...env,
    DATABASE_URL: env.DATABASE_URL || undefined,
    AUTH_SECRET: env.AUTH_SECRET || undefined,
    PUBLIC_URL: env.PUBLIC_URL || undefined,
    STRIPE_SECRET_KEY: env.STRIPE_SECRET_KEY || undefined,
    STRIPE_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET || undefined,
    WEBHOOK_ALLOW_PRIVATE_NETWORK: env.WEBHOOK_ALLOW_PRIVATE_NETWORK || undefined,
  });
  if (parsed.success && Boolean(parsed.data.STRIPE_SECRET_KEY) !== Boolean(parsed.data.STRIPE_WEBHOOK_SECRET)) {
    throw new Error("invalid configuration:\n  STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET: set both, or neither");
  }
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
  throw new Error(`invalid configuration:\n${problems}`);
}

/** The configured signing key, or the one kept in the data folder (made on first start). */
export function resolveAuthSecret(config: AppConfig): { secret: string; source: "config" | "data-dir" } {
  if (config.AUTH_SECRET) return { secret: config.AUTH_SECRET, source: "config" };
  const file = join(config.DATA_DIR, "auth-secret");
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    writeFileSync(file, randomBytes(48).toString("base64url"), { mode: 0o600 });
  }
  return { secret: readFileSync(file, "utf8").trim(), source: "data-dir" };
}
