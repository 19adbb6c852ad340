import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import type { Authenticator } from "../http/bind-routes.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import type { AccessTokens } from "./access-tokens.ts";
import { createCoalescer } from "../db/coalescer.ts";
import type { LookupCache } from "../db/lookup-cache.ts";
import { selectLiveSessions } from "./queries.ts";

/**
 * The `ConsoleToken` scheme: a bearer access token whose session is still live, so logging out
 * (or a reused refresh token) stops its access tokens, at the cost of one primary-key read —
 * gathered with those of the requests that arrive meanwhile into one statement, and answered as
 * `pending`, so it overlaps the tenant lookup (see bind-routes.ts). A live session is then trusted
 * for `LOOKUP_CACHE_TTL_MS` (`liveSessions`, server/db/lookup-cache.ts): an ended session stops at
 * once on the server that ends it, and within that time on any other.
 */
export function consoleTokenAuthenticator(db: Kysely<Database>, tokens: AccessTokens, liveSessions: LookupCache<boolean>): Authenticator {
  const selectLive = createCoalescer((sessions: { id: string; userId: string }[]) => selectLiveSessions(db, sessions), {
    maxInFlight: 3,
    minBatchWhileBusy: 12,
  });
  const isLive = (session: { id: string; userId: string }) =>
    liveSessions.lookUp(`${session.userId} ${session.id}`, session.userId, () => selectLive(session));
  return async function authenticateConsoleToken(c) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new AppError("UNAUTHENTICATED");
    const claims = await tokens.verify(match[1]);
    const pending = isLive({ id: claims.sessionId, userId: claims.userId }).then((live) => {
      if (!live)
        throw new AppError("UNAUTHENTICATED", { message: message("This session has ended; sign in again.", "会话已结束，请重新登录。") });
    });
    return { principal: { kind: "user", userId: claims.userId, sessionId: claims.sessionId }, pending };
  };
}
