import type { Kysely } from "kysely";
import type { Database } from "../../../generated/db.ts";
import { newId } from "../../ids.ts";
import type { Job, JobHandler } from "../jobs/job-runner.ts";
import { selectWarning } from "../queries.ts";
import { toQuotaWarning } from "../usage-service.ts";
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
 */
export function createWebhookDelivery(deps: { db: Kysely<Database>; now: () => Date; box: SecretBox; fetch?: typeof fetch }): JobHandler {
  const send = deps.fetch ?? fetch;
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
      const res = await send(webhook.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...signWebhook(deps.box.open(webhook.secret_ciphertext), eventId, startedAt, body) },
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        redirect: "manual",
      });
      responseStatus = res.status;
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) error = `the endpoint answered ${res.status}`;
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
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
