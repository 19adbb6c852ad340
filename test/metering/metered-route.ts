import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { languageDetector } from "hono/language";
import { requestId } from "hono/request-id";
import type { Kysely } from "kysely";
import { pino } from "pino";
import type { Database } from "../../generated/db.ts";
import type { RouteDefinition } from "../../generated/handler-types.ts";
import { organizationApiKeyAuthenticator } from "../../server/api-keys/authenticate.ts";
import { createServices } from "../../server/app.ts";
import { consoleTokenAuthenticator } from "../../server/auth/authenticate.ts";
import { createOutboxMailer } from "../../server/auth/mailer.ts";
import { bindRoutes } from "../../server/http/bind-routes.ts";
import type { AppEnv } from "../../server/http/context.ts";
import { onError } from "../../server/http/error-handling.ts";
import { loadContract } from "../../server/http/openapi-document.ts";
import { requestLogger } from "../../server/http/request-logger.ts";
import { SchemaCompiler } from "../../server/http/schema-compiler.ts";
import { TEST_AUTH_SECRET } from "../harness.ts";

/**
 * An operation as the generator would emit it for `@metered("api_call")` with the organization API
 * key: the metering hook's contract does not depend on which spec operation carries the marker, so
 * its tests bind one of their own through the real `bindRoutes`, services and authenticator.
 */
const METERED_PING = {
  operationId: "meteredPing",
  group: "MeteringTest",
  method: "post",
  path: "/test/organizations/{organizationId}/ping",
  surface: "console",
  security: ["OrganizationApiKey"],
  metered: "api_call",
  apiKeyScope: null,
  parameters: [
    { name: "organizationId", in: "path", required: true, schema: { type: "string", format: "uuid" } },
    // Platform.Metering.MeteredCallHeaders
    { name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", minLength: 1, maxLength: 128 } },
  ],
  requestBody: null,
  responses: { "200": { schema: null, headers: {} } },
} as unknown as RouteDefinition;

/**
 * A Hono app with the metered test operation, over `db`; `handled()` counts the handler's runs.
 * scripts/bench/metering.ts serves it (`fetch`) to measure what the hook costs a call.
 */
export function meteredTestApp(db: Kysely<Database>, now: () => Date = () => new Date()) {
  const logger = pino({ level: "silent" });
  const mailer = createOutboxMailer(mkdtempSync(join(tmpdir(), "metered-outbox-")), logger);
  const services = createServices({ db, logger, authSecret: TEST_AUTH_SECRET, mailer, publicUrl: "http://localhost", now });
  const contract = loadContract();
  const app = new Hono<AppEnv>();
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(requestLogger(logger));
  app.use(languageDetector({ supportedLanguages: ["en-US", "zh-CN"], fallbackLanguage: "en-US", order: ["header"], caches: false }));
  app.onError(onError);
  let handled = 0;
  bindRoutes(app, {
    routes: [METERED_PING],
    handlers: {
      meteredPing: async () => {
        handled++;
        return { status: 200, data: { ok: true } };
      },
    },
    compilers: { parameters: new SchemaCompiler(contract.document, "parameters"), body: new SchemaCompiler(contract.document, "body") },
    authenticators: {
      OrganizationApiKey: organizationApiKeyAuthenticator(
        services.apiKeys,
        consoleTokenAuthenticator(db, services.tokens, services.lookups.liveSessions),
      ),
    },
    meter: services.metering.routeMeter.meterRoute,
  });
  return {
    fetch: app.fetch,
    request: (organizationId: string, headers: Record<string, string>) =>
      app.request(`/test/organizations/${organizationId}/ping`, { method: "POST", headers }),
    handled: () => handled,
  };
}
