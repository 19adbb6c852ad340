import { errors, jwtVerify, SignJWT } from "jose";
import { AppError } from "../errors.ts";

/** How long an access token lives. */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

/** How many verified tokens are remembered (about 300 bytes each). */
const VERIFIED_CACHE_SIZE = 4_096;

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
 *
 * A client sends the same token with every request until it expires, so the claims of tokens that
 * verified are remembered by their whole text: the same bytes under the same key verify the same
 * way, and only the expiry still needs checking. Checking the HMAC cost more than the rest of
 * authentication. Whether the session is still live is not remembered (see authenticate.ts).
 */
export function createAccessTokens(secret: string, now: () => Date) {
  // Imported once: handed raw bytes, jose imports a key on every call, which costs about as much as the HMAC.
  let imported: Promise<CryptoKey> | null = null;
  const hmacKey = () =>
    (imported ??= crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]));
  const verified = new Map<string, AccessClaims & { expiresAtMs: number }>();
  const remember = (token: string, claims: AccessClaims & { expiresAtMs: number }) => {
    // Oldest first: a Map iterates in insertion order.
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(token, claims);
  };
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
      const known = verified.get(token);
      if (known && now().getTime() < known.expiresAtMs) return { userId: known.userId, sessionId: known.sessionId };
      // Expired (or never seen): jose says which.
      if (known) verified.delete(token);
      try {
        const { payload } = await jwtVerify(token, await hmacKey(), {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["HS256"],
          currentDate: now(),
        });
        if (typeof payload.sub !== "string" || typeof payload.sid !== "string" || typeof payload.exp !== "number")
          throw new AppError("UNAUTHENTICATED");
        const claims = { userId: payload.sub, sessionId: payload.sid };
        remember(token, { ...claims, expiresAtMs: payload.exp * 1000 });
        return claims;
      } catch (error) {
        if (error instanceof AppError) throw error;
        if (error instanceof errors.JWTExpired) throw new AppError("TOKEN_EXPIRED", { cause: error });
        throw new AppError("UNAUTHENTICATED", { cause: error });
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
