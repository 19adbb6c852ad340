import { hash, verify } from "@node-rs/argon2";

/**
 * argon2id with the library's defaults (19 MiB, 2 passes), OWASP's baseline. `2` is the package's
 * `Algorithm.Argon2id`, a const enum that cannot be imported under verbatimModuleSyntax.
 */
const OPTIONS = { algorithm: 2 } as const;

/** The PHC string to store for `password`. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Whether `password` matches the stored PHC string. */
export function verifyPassword(stored: string, password: string): Promise<boolean> {
  return verify(stored, password);
}

/**
 * A hash of no password, checked when the account does not exist so that a wrong email takes as
 * long as a wrong password and the answer time does not reveal which accounts exist.
 */
export const DECOY_HASH = await hashPassword("decoy password that matches nothing");
