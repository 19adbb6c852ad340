import type { Logger } from "pino";
import type { RouteDefinition } from "../../generated/handler-types.ts";
import type { Locale } from "../messages.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** Who is calling, as resolved by the operation's security scheme; `null` on public operations. */
export type Principal =
  | { kind: "user"; userId: string; sessionId: string }
  /** An API key (server/api-keys): it acts for its organization, with its scopes, and no user. */
  | { kind: "apiKey"; keyId: string; organizationId: string; scopes: readonly string[] }
  | null;

/** What every handler receives besides its validated input. Handlers never see Hono. */
export interface RequestContext {
  requestId: string;
  /** The locale negotiated from `Accept-Language`. */
  locale: Locale;
  ip: string | null;
  userAgent: string | null;
  principal: Principal;
  /** The tenant the path names, authorized for the caller; null when the path names none. */
  scope: TenantScope | null;
  route: RouteDefinition;
  log: Logger;
}

/** Hono's typed context variables, set by the middleware of server/http. */
export interface AppEnv {
  Variables: {
    requestId: string;
    language: string;
    log: Logger;
  };
}

/** Who made the change, for the audit log. */
export function actorOf(ctx: RequestContext) {
  const userId = ctx.principal?.kind === "user" ? ctx.principal.userId : null;
  return { userId, ip: ctx.ip, userAgent: ctx.userAgent, requestId: ctx.requestId };
}

/** The authenticated user of an operation whose spec requires the console token. */
export function userOf(ctx: RequestContext): { userId: string; sessionId: string } {
  if (ctx.principal?.kind !== "user") throw new Error(`operation ${ctx.route.operationId} ran without a signed-in user`);
  return ctx.principal;
}

/** The tenant scope of an operation whose path names one. */
export function scopeOf(ctx: RequestContext): TenantScope {
  if (!ctx.scope) throw new Error(`operation ${ctx.route.operationId} ran without a tenant scope`);
  return ctx.scope;
}
