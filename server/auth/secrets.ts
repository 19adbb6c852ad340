import { createHash, randomBytes } from "node:crypto";

/** A new opaque token: 32 random bytes, base64url. Shown once; only its hash is stored. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The stored form of an opaque token. SHA-256 suffices: the token has 256 bits of entropy, so there is nothing to brute-force. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
