import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Encrypts webhook signing secrets at rest with AES-256-GCM under a key derived (HKDF-SHA256) from
 * the server's AUTH_SECRET: unlike API keys they must be read back, to sign. Changing AUTH_SECRET
 * makes stored secrets unreadable; set the webhook again to make a new one.
 */
export function createSecretBox(authSecret: string) {
  const key = Buffer.from(hkdfSync("sha256", authSecret, "", "webhook-signing-secrets", 32));
  return {
    /** `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
    seal(plaintext: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv, cipher.getAuthTag(), sealed].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
    },
    open(box: string): string {
      const [version, iv, tag, sealed] = box.split(".");
      if (version !== "v1" || !iv || !tag || sealed === undefined) throw new Error("not a sealed webhook secret");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(sealed, "base64url")), decipher.final()]).toString("utf8");
    },
  };
}

export type SecretBox = ReturnType<typeof createSecretBox>;
