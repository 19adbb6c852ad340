import { errors, jwtVerify, SignJWT } from "jose";
import { AppError } from "../errors.ts";

/** How long an access token lives. */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

const ISSUER = "llm-platform";
const AUDIENCE = "console";

/** What an access token says: the user and the session (refresh-token family) it belongs to. */
export interface AccessClaims {
  userId: string;
  sessionId: string;
}

/**
 * Signs and verifies console access tokens: HS256 JWTs with a key from config, carrying the user
 * (`sub`) and the session (`sid`). Time comes from the injected clock.
 */
export function createAccessTokens(secret: string, now: () => Date) {
  // Imported once: handed raw bytes, jose imports a key on every call, which costs about as much as the HMAC.
  let imported: Promise<CryptoKey> | null = null;
  const hmacKey = () =>
    (imported ??= crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]));
  return {
    async issue(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }> {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const expiresAt = new Date((issuedAt + ACCESS_TOKEN_TTL_SECONDS) * 1000);
      const token = await new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(claims.userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(await hmacKey());
      return { token, expiresAt };
    },

    /** The claims of a valid token; `TOKEN_EXPIRED` or `UNAUTHENTICATED` otherwise. */
    async verify(token: string): Promise<AccessClaims> {
      try {
        const { payload } = await jwtVerify(token, await hmacKey(), {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["HS256"],
          currentDate: now(),
        });
        if (typeof payload.sub !== "string" || typeof payload.sid !== "string") throw new AppError("UNAUTHENTICATED");
        return { userId: payload.sub, sessionId: payload.sid };
      } catch (error) {
        if (error instanceof AppError) throw error;
        if (error instanceof errors.JWTExpired) throw new AppError("TOKEN_EXPIRED", { cause: error });
        throw new AppError("UNAUTHENTICATED", { cause: error });
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
