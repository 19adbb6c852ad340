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
  /** pino's level. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a shutdown waits for requests in flight before it gives up, in milliseconds. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

/** The server's configuration, read from the environment. */
export type AppConfig = z.infer<typeof Config>;

/** Reads and checks the configuration; a bad value stops start-up with one line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const parsed = Config.safeParse({ ...env, DATABASE_URL: env.DATABASE_URL || undefined });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
  throw new Error(`invalid configuration:\n${problems}`);
}
