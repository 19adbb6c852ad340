import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import type { AppEnv } from "./context.ts";

/**
 * Gives each request a child logger bound to its request id, and logs one line when it ends.
 *
 * @example app.use(requestLogger(logger));
 */
export function requestLogger(logger: Logger): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const started = performance.now();
    c.set("log", logger.child({ requestId: c.get("requestId") }));
    await next();
    c.get("log").info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 },
      "request",
    );
  };
}
