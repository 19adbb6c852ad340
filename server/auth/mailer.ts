import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { newId } from "../ids.ts";

/** A mail to one person, in their locale. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** What the mail is for, e.g. `password_reset`, `invitation`. */
  kind: string;
}

/** Sends mail. The default writes each message to a local outbox folder and the log. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/**
 * Writes each mail as a JSON file into `dir` (named so they sort by time) and logs that it did —
 * without the body, which may carry a token.
 */
export function createOutboxMailer(dir: string, logger: Logger): Mailer {
  return {
    async send(mail) {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${newId()}.json`);
      writeFileSync(file, JSON.stringify({ ...mail, sentAt: new Date().toISOString() }, null, 2));
      logger.info({ to: mail.to, kind: mail.kind, file }, "mail written to the outbox");
    },
  };
}
