import { Hono } from "hono";
import { languageDetector } from "hono/language";
import { requestId } from "hono/request-id";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../generated/db.ts";
import type { Notifications } from "./db/database.ts";
import { createLookupCache, LOOKUP_CACHE_TTL_MS } from "./db/lookup-cache.ts";
import type { Handlers } from "../generated/handlers.ts";
import { routes } from "../generated/routes.ts";
import { createAuditService } from "./audit/service.ts";
import { createAccessTokens } from "./auth/access-tokens.ts";
import { consoleTokenAuthenticator } from "./auth/authenticate.ts";
import { createAuthHandlers } from "./auth/handlers.ts";
import type { Mailer } from "./auth/mailer.ts";
import { createAuthService } from "./auth/service.ts";
import { startOnFreePlan } from "./billing/current-plan.ts";
import { createPlansHandlers } from "./billing/handlers.ts";
import { createPlanService } from "./billing/plan-service.ts";
import { DEFAULT_BILLING_POLICY, type BillingPolicy } from "./billing/billing-context.ts";
import { createInvoicesHandlers, createPaymentWebhooksHandlers, createSubscriptionsHandlers } from "./billing/billing-handlers.ts";
import { createBillingServices } from "./billing/billing-services.ts";
import { createManualProvider } from "./payments/manual-provider.ts";
import type { PaymentProvider } from "./payments/provider.ts";
import { stripeSignatureAuthenticator } from "./payments/stripe-signature.ts";
import { organizationApiKeyAuthenticator } from "./api-keys/authenticate.ts";
import { createApiKeysHandlers } from "./api-keys/handlers.ts";
import { createApiKeyService } from "./api-keys/service.ts";
import { createUsageHandlers, createWebhooksHandlers } from "./metering/handlers.ts";
import { createMeteringServices } from "./metering/services.ts";
import type { WebhookNetworkPolicy } from "./metering/webhooks/endpoint.ts";
import { bindRoutes, type Authenticator } from "./http/bind-routes.ts";
import type { AppEnv, RequestContext } from "./http/context.ts";
import { mountDocs } from "./http/docs.ts";
import { onError, onNotFound } from "./http/error-handling.ts";
import { SUPPORTED_LOCALES } from "./messages.ts";
import { loadContract } from "./http/openapi-document.ts";
import { requestLogger } from "./http/request-logger.ts";
import { SchemaCompiler } from "./http/schema-compiler.ts";
import {
  createInvitationsHandlers,
  createOrganizationsHandlers,
  createTeamsHandlers,
  createWorkspacesHandlers,
  type TenancyServices,
} from "./tenancy/handlers.ts";
import { createInvitationService } from "./tenancy/invitation-service.ts";
import { createMemberService } from "./tenancy/member-service.ts";
import { createOrganizationService } from "./tenancy/organization-service.ts";
import { createScopeResolver, type TenantScope } from "./tenancy/scope.ts";
import { createWorkspaceService } from "./tenancy/workspace-service.ts";
import { countLiveWorkflows, createWorkflowHandlers, createWorkflowServices } from "./workflows/index.ts";

/** What the app is built from. Everything with an effect is passed in, so tests build the real app over a test database. */
export interface AppDeps {
  db: Kysely<Database>;
  logger: Logger;
  /** The key that signs access tokens (at least 32 characters). */
  authSecret: string;
  /** Where mail goes (password resets, invitations). */
  mailer: Mailer;
  /** The base URL put in mailed links. */
  publicUrl?: string;
  /** The clock; tests move it. */
  now?: () => Date;
  /** Billing's payment provider (default: `manual`) and policy (default: `DEFAULT_BILLING_POLICY`). */
  billing?: { payments?: PaymentProvider; policy?: BillingPolicy };
  /** Where webhooks may point (default: public addresses only). */
  webhooks?: WebhookNetworkPolicy;
  /**
   * The database's LISTEN/NOTIFY (its `DatabaseHandle`): with it, stopping a run that another server
   * executes takes effect at once; without it, when that server next renews the run's lease (≤ 10 s).
   */
  notifications?: Notifications;
  /** The monotonic clock, in milliseconds, of the grants kept from request lookups (server/db/lookup-cache.ts); tests move it. */
  lookupClock?: () => number;
}

/** The dependencies with their defaults filled in; billing's, webhooks', notifications and the lookup clock stay optional. */
type ServiceDeps = Required<Omit<AppDeps, "billing" | "webhooks" | "notifications" | "lookupClock">> &
  Pick<AppDeps, "billing" | "webhooks" | "notifications" | "lookupClock">;

/** The services of every module, built once per app over its dependencies. */
export function createServices(deps: ServiceDeps) {
  const { db, now } = deps;
  const billing = createBillingServices(
    {
      db,
      now,
      payments: deps.billing?.payments ?? createManualProvider(),
      policy: deps.billing?.policy ?? DEFAULT_BILLING_POLICY,
    },
    deps.logger,
  );
  const tokens = createAccessTokens(deps.authSecret, now);
  // What requests look up before their handlers, kept a short while; the services that take such a grant away evict it.
  const lookups = {
    liveSessions: createLookupCache<boolean>({ ttlMs: LOOKUP_CACHE_TTL_MS, keep: (live) => live, clock: deps.lookupClock }),
    scopes: createLookupCache<TenantScope>({ ttlMs: LOOKUP_CACHE_TTL_MS, clock: deps.lookupClock }),
  };
  const auth = createAuthService({ db, tokens, mailer: deps.mailer, now, publicUrl: deps.publicUrl, liveSessions: lookups.liveSessions });
  const metering = createMeteringServices({
    db,
    now,
    authSecret: deps.authSecret,
    liveCounts: { workflows: countLiveWorkflows },
    webhooks: deps.webhooks,
  });
  const apiKeys = createApiKeyService({ db, now, lookupClock: deps.lookupClock });
  const tenancy: TenancyServices = {
    organizations: createOrganizationService(db, now, [startOnFreePlan(now)]),
    members: createMemberService(db, lookups.scopes),
    invitations: createInvitationService({
      db,
      now,
      mailer: deps.mailer,
      auth,
      publicUrl: deps.publicUrl,
      scopes: lookups.scopes,
      // The quota counts people, each once: joining a second team of the organization takes no seat.
      onMemberJoining: [
        async (trx, { organizationId, newToOrganization }) => {
          if (newToOrganization) await metering.counts.assertCountQuota(trx, organizationId, "team_members", 1);
        },
      ],
    }),
    workspaces: createWorkspaceService(db, now),
    audit: createAuditService(db),
  };
  const workflows = createWorkflowServices({
    db,
    now,
    log: deps.logger,
    ...(deps.notifications ? { notifications: deps.notifications } : {}),
    assertWorkflowQuota: (trx, organizationId) => metering.counts.assertCountQuota(trx, organizationId, "workflows", 1),
  });
  return { tokens, lookups, auth, tenancy, plans: createPlanService(db), workflows, billing, metering, apiKeys };
}

/** Every handler group, built over the services. Adding a group to the spec fails the typecheck here until it is implemented. */
export function createHandlers(services: ReturnType<typeof createServices>): Handlers<RequestContext> {
  return {
    ...createPlansHandlers(services.plans),
    ...createAuthHandlers(services.auth),
    ...createOrganizationsHandlers(services.tenancy),
    ...createTeamsHandlers(services.tenancy),
    ...createWorkspacesHandlers(services.tenancy),
    ...createInvitationsHandlers(services.tenancy),
    ...createWorkflowHandlers(services.workflows),
    ...createSubscriptionsHandlers(services.billing),
    ...createInvoicesHandlers(services.billing),
    ...createPaymentWebhooksHandlers(services.billing),
    ...createUsageHandlers(services.metering),
    ...createWebhooksHandlers(services.metering),
    ...createApiKeysHandlers(services.apiKeys),
  };
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
  if (deps.authSecret.length < 32) throw new Error("authSecret must be at least 32 characters");
  const full: ServiceDeps = { now: () => new Date(), publicUrl: "http://localhost:3000", ...deps };
  const services = createServices(full);
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
  // Set before the handler runs, so they go with the response it makes rather than being copied in after.
  app.use(async function contentLanguage(c, next) {
    c.header("Content-Language", c.get("language"));
    c.header("Vary", "Accept-Language", { append: true });
    await next();
  });
  app.onError(onError);
  app.notFound(onNotFound);

  mountDocs(app, contract);
  const consoleToken = consoleTokenAuthenticator(full.db, services.tokens, services.lookups.liveSessions);
  const authenticators: Record<string, Authenticator> = {
    ConsoleToken: consoleToken,
    StripeSignature: stripeSignatureAuthenticator(services.billing.context.payments, full.now),
    OrganizationApiKey: organizationApiKeyAuthenticator(services.apiKeys, consoleToken),
  };
  bindRoutes(app, {
    routes,
    handlers: createHandlers(services),
    resolveScope: createScopeResolver(full.db, services.lookups.scopes),
    compilers: {
      parameters: new SchemaCompiler(contract.document, "parameters"),
      body: new SchemaCompiler(contract.document, "body"),
    },
    authenticators,
    meter: services.metering.routeMeter.meterRoute,
  });
  return app;
}
