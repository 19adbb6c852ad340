import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import type { Authenticator } from "../http/bind-routes.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import type { AccessTokens } from "./access-tokens.ts";
import { createCoalescer } from "../db/coalescer.ts";
import { selectLiveSessions } from "./queries.ts";

/**
 * The `ConsoleToken` scheme: a bearer access token whose session is still live, so logging out
 * (or a reused refresh token) stops its access tokens at once, at the cost of one primary-key read
 * — gathered with those of the requests that arrive meanwhile into one statement, and answered as
 * `pending`, so it overlaps the tenant lookup (see bind-routes.ts).
 */
export function consoleTokenAuthenticator(db: Kysely<Database>, tokens: AccessTokens): Authenticator {
  const isLive = createCoalescer((sessions: { id: string; userId: string }[]) => selectLiveSessions(db, sessions), {
    maxInFlight: 3,
    minBatchWhileBusy: 12,
  });
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
