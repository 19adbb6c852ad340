import { createHmac, randomBytes } from "node:crypto";

/** A new signing secret in Standard Webhooks' form: `whsec_` and 32 random bytes, base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/**
 * The headers of a signed delivery, as Standard Webhooks (standardwebhooks.com) defines them, so
 * its libraries verify ours: `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of
 * `{id}.{timestamp}.{body}` under the secret's bytes.
 *
 * @example
 * signWebhook("whsec_…", "0190…", new Date(), body) // { "webhook-id": …, "webhook-timestamp": …, "webhook-signature": "v1,…" }
 */
export function signWebhook(secret: string, id: string, at: Date, body: string): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` };
}
