import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../../generated/db.ts";
import { createJobRunner } from "./jobs/job-runner.ts";
import { createWebhookDelivery, WEBHOOK_DELIVERY_JOB } from "./webhooks/deliver.ts";
import type { WebhookNetworkPolicy } from "./webhooks/endpoint.ts";
import { createSecretBox } from "./webhooks/secret-box.ts";

/**
 * The background job runner with the metering module's jobs (webhook deliveries). server/main.ts
 * starts it and stops it before closing the database; tests call `runOnce()`.
 */
export function createBackgroundJobs(deps: {
  db: Kysely<Database>;
  logger: Logger;
  authSecret: string;
  now?: () => Date;
  /** Where webhooks may be delivered; public addresses only unless it allows more. */
  webhooks?: WebhookNetworkPolicy;
  pollIntervalMs?: number;
}) {
  const now = deps.now ?? (() => new Date());
  const deliver = createWebhookDelivery({ db: deps.db, now, box: createSecretBox(deps.authSecret), network: deps.webhooks });
  return createJobRunner({
    db: deps.db,
    now,
    logger: deps.logger,
    handlers: { [WEBHOOK_DELIVERY_JOB]: deliver },
    ...(deps.pollIntervalMs ? { pollIntervalMs: deps.pollIntervalMs } : {}),
  });
}
