import { Hono } from "hono";
import { languageDetector } from "hono/language";
import { requestId } from "hono/request-id";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../generated/db.ts";
import type { Handlers } from "../generated/handlers.ts";
import { routes } from "../generated/routes.ts";
import { createPlansHandlers } from "./billing/handlers.ts";
import { createPlanService } from "./billing/plan-service.ts";
import { bindRoutes, type Authenticator } from "./http/bind-routes.ts";
import type { AppEnv, RequestContext } from "./http/context.ts";
import { mountDocs } from "./http/docs.ts";
import { onError, onNotFound } from "./http/error-handling.ts";
import { SUPPORTED_LOCALES } from "./messages.ts";
import { loadContract } from "./http/openapi-document.ts";
import { requestLogger } from "./http/request-logger.ts";
import { SchemaCompiler } from "./http/schema-compiler.ts";

/** What the app is built from. Everything with an effect is passed in, so tests build the real app over a test database. */
export interface AppDeps {
  db: Kysely<Database>;
  logger: Logger;
  /** The clock; tests move it. */
  now?: () => Date;
}

/** Every handler group, built over the services. Adding a group to the spec fails the typecheck here until it is implemented. */
export function createHandlers(deps: Required<AppDeps>): Handlers<RequestContext> {
  const plans = createPlanService(deps.db);
  return { ...createPlansHandlers(plans) };
}

/**
 * Builds the Hono app: request ids, locale negotiation and logging; the compiled contract and its
 * reference at `/openapi.json`, `/openapi.yaml` and `/docs`; and every operation of the generated
 * route table bound to its handler, with its request validated against the contract first.
 *
 * @example
 * const app = createApp({ db, logger });
 * const res = await app.request("/api/v1/billing/plans");
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const full: Required<AppDeps> = { now: () => new Date(), ...deps };
  const contract = loadContract();
  const app = new Hono<AppEnv>();
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(requestLogger(full.logger));
  app.use(
    languageDetector({
      supportedLanguages: [...SUPPORTED_LOCALES],
      fallbackLanguage: "en-US",
      order: ["header"],
      caches: false,
    }),
  );
  app.use(async function contentLanguage(c, next) {
    await next();
    c.header("Content-Language", c.get("language"));
    c.header("Vary", "Accept-Language", { append: true });
  });
  app.onError(onError);
  app.notFound(onNotFound);

  mountDocs(app, contract);
  const authenticators: Record<string, Authenticator> = {};
  bindRoutes(app, {
    routes,
    handlers: createHandlers(full),
    compilers: {
      parameters: new SchemaCompiler(contract.document, "parameters"),
      body: new SchemaCompiler(contract.document, "body"),
    },
    authenticators,
  });
  return app;
}
