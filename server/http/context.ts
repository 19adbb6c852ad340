import type { Logger } from "pino";
import type { RouteDefinition } from "../../generated/handler-types.ts";
import type { Locale } from "../messages.ts";

/** Who is calling, as resolved by the operation's security scheme; `null` on public operations. */
export type Principal = { kind: "user"; userId: string; sessionId: string } | null;

/** What every handler receives besides its validated input. Handlers never see Hono. */
export interface RequestContext {
  requestId: string;
  /** The locale negotiated from `Accept-Language`. */
  locale: Locale;
  ip: string | null;
  userAgent: string | null;
  principal: Principal;
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
