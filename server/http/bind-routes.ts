import type { Context, Hono } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { OperationId, RouteDefinition } from "../../generated/handler-types.ts";
import type { AppEnv, Principal, RequestContext } from "./context.ts";
import { OK_MESSAGE, SUPPORTED_LOCALES, type Locale } from "../messages.ts";
import { createRequestValidator, type ValidatedInput } from "./request-validation.ts";
import type { SchemaCompiler } from "./schema-compiler.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** A handler as the binding calls it; the generated interfaces give each one its precise types. */
type AnyHandler = (input: ValidatedInput, ctx: RequestContext) => Promise<HandlerResult>;
type HandlerResult = { status: number; data: unknown } | { status: number; body: unknown } | Response;

/**
 * What an authenticator established. `pending` is a check it started and did not wait for (that a
 * console session is still live): it must pass before the request goes on, and the binding awaits it
 * together with the tenant lookup, so the two reads of the database overlap instead of queueing.
 */
export interface Authentication {
  principal: Principal;
  pending?: Promise<void>;
}

/**
 * Resolves the principal of a request for one security scheme, or throws `UNAUTHENTICATED`; it may
 * refuse the principal for the route too (an API key without the route's `apiKeyScope`).
 */
export type Authenticator = (c: Context<AppEnv>, route: RouteDefinition) => Promise<Authentication>;

const ignore = () => {};

/** `pending` settled first, so an ended session's 401 wins over whatever `next` answers; `next`'s failure is not left unhandled meanwhile. */
async function after<T>(pending: Promise<void> | undefined, next: () => T): Promise<Awaited<T>> {
  if (!pending) return await next();
  let outcome: T;
  try {
    outcome = next();
  } catch (error) {
    await pending;
    throw error;
  }
  if (outcome instanceof Promise) outcome.catch(ignore);
  await pending;
  return await outcome;
}

/** What binding the route table needs. */
export interface BindOptions {
  routes: readonly RouteDefinition[];
  handlers: object;
  compilers: { parameters: SchemaCompiler; body: SchemaCompiler };
  /** One authenticator per security scheme named in the spec. */
  authenticators: Partial<Record<string, Authenticator>>;
  /** Authorizes the tenant a path names (organization, team, workspace) for the caller; null when the path names none. */
  resolveScope?: (route: RouteDefinition, userId: string, path: Record<string, unknown>) => Promise<TenantScope | null>;
  /**
   * Checks and records the usage of an operation the spec marks metered (`route.metered`), after the
   * request is authorized and validated and before its handler runs; throws to refuse the call.
   * Required when any route is metered. See server/metering/meter-route.ts.
   */
  meter?: (ctx: RequestContext, input: ValidatedInput) => Promise<void>;
}

/** `/api/v1/billing/plans/{planId}` → `/api/v1/billing/plans/:planId`. */
export function toHonoPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ":$1");
}

function clientIp(c: Context<AppEnv>): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // app.request() in tests has no socket.
  }
}

function negotiatedLocale(c: Context<AppEnv>): Locale {
  const language = c.get("language");
  return (SUPPORTED_LOCALES as readonly string[]).includes(language) ? (language as Locale) : "en-US";
}

/**
 * Registers one Hono route per operation of the generated route table. The server declares no route
 * of its own: a missing handler, or a handler with no operation, stops start-up.
 */
export function bindRoutes(app: Hono<AppEnv>, options: BindOptions): void {
  const handlers = options.handlers as Record<string, AnyHandler>;
  const known = new Set<string>(options.routes.map((r) => r.operationId));
  const strays = Object.keys(handlers).filter((name) => !known.has(name));
  if (strays.length > 0) throw new Error(`handlers without an operation in the spec: ${strays.join(", ")}`);

  for (const route of options.routes) {
    const handler = handlers[route.operationId as OperationId];
    if (typeof handler !== "function") throw new Error(`no handler for operation ${route.operationId}`);
    for (const scheme of route.security) {
      if (!options.authenticators[scheme]) throw new Error(`no authenticator for security scheme ${scheme} (${route.operationId})`);
    }
    if (route.metered && !options.meter) throw new Error(`operation ${route.operationId} is metered but no meter is bound`);
    const validate = createRequestValidator(route, options.compilers);

    app.on(route.method.toUpperCase(), toHonoPath(route.path), async (c) => {
      const auth = route.security.length > 0 ? await options.authenticators[route.security[0]!]!(c, route) : null;
      auth?.pending?.catch(ignore);
      const principal = auth?.principal ?? null;
      const { path, scope } = await after(auth?.pending, () => {
        const path = validate.path(c);
        // An API key is bound to its organization by its authenticator; only users have roles to resolve.
        if (principal?.kind !== "user" || !options.resolveScope) return { path, scope: null };
        return options.resolveScope(route, principal.userId, path).then((scope) => ({ path, scope }));
      });
      const input = await validate.rest(c, path);
      const ctx: RequestContext = {
        requestId: c.get("requestId"),
        locale: negotiatedLocale(c),
        ip: clientIp(c),
        userAgent: c.req.header("user-agent") ?? null,
        principal,
        scope,
        route,
        log: c.get("log"),
      };
      if (route.metered) await options.meter!(ctx, input);
      const result = await handler.call(handlers, input, ctx);
      if (result instanceof Response) return result;
      const status = result.status as 200;
      if ("data" in result) {
        return c.json({ code: "OK", message: OK_MESSAGE, data: result.data, requestId: ctx.requestId }, status);
      }
      return c.json(result.body as object, status);
    });
  }
}
