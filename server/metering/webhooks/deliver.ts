import type { Kysely } from "kysely";
import type { Database } from "../../../generated/db.ts";
import { newId } from "../../ids.ts";
import { PublicAddressError } from "../../net/public-address.ts";
import type { Job, JobHandler } from "../jobs/job-runner.ts";
import { selectWarning } from "../queries.ts";
import { toQuotaWarning } from "../usage-service.ts";
import { postToEndpoint, type WebhookNetworkPolicy } from "./endpoint.ts";
import * as q from "./queries.ts";
import type { SecretBox } from "./secret-box.ts";
import { signWebhook } from "./signature.ts";

/** How long one delivery waits for the endpoint. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** The kind of the jobs this handler runs. */
export const WEBHOOK_DELIVERY_JOB = "webhook.deliver";

/**
 * Delivers one event to the organization's webhook: a signed POST (see signature.ts), recorded in
 * `webhook_deliveries` whatever comes of it. A non-2xx answer or no answer throws, so the job runner
 * retries with backoff. With no webhook (or a disabled one) left, the event is dropped.
 *
 * Only a public address is connected to unless `network.allowPrivateNetwork` (see endpoint.ts). A
 * refused address is a failed attempt with no response status; it is retried like any other
 * failure, since the job runner has no permanent failure and a name may resolve elsewhere later,
 * until the job's attempts run out.
 */
export function createWebhookDelivery(deps: {
  db: Kysely<Database>;
  now: () => Date;
  box: SecretBox;
  network?: WebhookNetworkPolicy;
}): JobHandler {
  const network = deps.network ?? {};
  return async function deliverWebhook(job: Job): Promise<void> {
    const { eventType, eventId } = job.payload as { eventType: string; eventId: string };
    const scope = { organizationId: job.organizationId! };
    const webhook = await q.selectWebhook(deps.db, scope);
    if (!webhook?.enabled) return;
    const warning = await selectWarning(deps.db, scope, eventId);
    if (!warning) return;
    const data = toQuotaWarning(warning);
    const body = JSON.stringify({ id: eventId, type: eventType, createdAt: data.crossedAt, organizationId: scope.organizationId, data });
    const startedAt = deps.now();
    const started = performance.now();
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      const headers = {
        "content-type": "application/json",
        ...signWebhook(deps.box.open(webhook.secret_ciphertext), eventId, startedAt, body),
      };
      responseStatus = await postToEndpoint(webhook.url, { headers, body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) }, network);
      if (responseStatus < 200 || responseStatus >= 300) error = `the endpoint answered ${responseStatus}`;
    } catch (cause) {
      error = describeFailure(cause);
    }
    await q.insertDelivery(deps.db, scope, {
      id: newId(),
      event_type: eventType,
      event_id: eventId,
      attempt: job.attempt,
      url: webhook.url,
      status: error ? "failed" : "succeeded",
      response_status: responseStatus,
      error,
      duration_ms: Math.round(performance.now() - started),
      next_attempt_at: error ? job.retryAt : null,
      created_at: startedAt,
    });
    if (error) throw new Error(error);
  };
}

/** The delivery log's `error` for an attempt that got no answer. */
function describeFailure(cause: unknown): string {
  if (cause instanceof PublicAddressError && cause.code === "PRIVATE_NETWORK_REFUSED") return `not delivered: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
