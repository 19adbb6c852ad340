import { randomBytes } from "node:crypto";
import { hashToken } from "../auth/secrets.ts";

/** How an organization key starts; app keys of the service API will start `app-`, as in Dify. */
export const ORGANIZATION_KEY_PREFIX = "org_";

/** How many characters of a key are kept in clear to recognize it in lists: `org_` and 8 more. */
const VISIBLE_LENGTH = ORGANIZATION_KEY_PREFIX.length + 8;

/** A new organization key: `org_` and 40 base64url characters (240 random bits). */
export function newOrganizationKey(): { secret: string; prefix: string; hash: string } {
  const secret = ORGANIZATION_KEY_PREFIX + randomBytes(30).toString("base64url");
  return { secret, prefix: secret.slice(0, VISIBLE_LENGTH), hash: hashToken(secret) };
}

/** Whether `bearer` has the shape of an organization key (not that it exists). */
export function looksLikeOrganizationKey(bearer: string): boolean {
  return bearer.startsWith(ORGANIZATION_KEY_PREFIX) && bearer.length > VISIBLE_LENGTH;
}

/** The stored form of a key: SHA-256, since the key has 240 random bits there is nothing to slow down. */
export const hashKey = hashToken;
