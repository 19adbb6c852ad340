import type { Kysely } from "kysely";
import type { components } from "../../../generated/api-types.ts";
import type { Database } from "../../../generated/db.ts";
import { recordAudit, type Actor } from "../../audit/record.ts";
import { decodeCursor, toPage } from "../../db/cursor.ts";
import { AppError } from "../../errors.ts";
import { message, type Message } from "../../messages.ts";
import { isKnownNonPublicHost } from "../../net/public-address.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import type { WebhookNetworkPolicy } from "./endpoint.ts";
import * as q from "./queries.ts";
import type { SecretBox } from "./secret-box.ts";
import { newSigningSecret } from "./signature.ts";

export type Webhook = components["schemas"]["Metering.Webhook"];
export type WebhookDelivery = components["schemas"]["Metering.WebhookDelivery"];

/** `whsec_` and 6 more characters: enough to tell secrets apart. */
const SECRET_PREFIX_LENGTH = 12;

function toWebhook(row: q.WebhookRow): Webhook {
  return {
    url: row.url,
    enabled: row.enabled,
    secretPrefix: row.secret_prefix,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toDelivery(row: q.DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    eventType: row.event_type,
    eventId: row.event_id,
    attempt: row.attempt,
    url: row.url,
    status: row.status as WebhookDelivery["status"],
    responseStatus: row.response_status,
    error: row.error,
    durationMs: row.duration_ms,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * Refuses a URL that is not http(s), or whose host is non-public on its face (a literal private,
 * loopback or link-local address, `localhost`) unless the network policy allows those. Names are not
 * resolved here: what they resolve to can change, so delivery checks again before it connects.
 */
function assertDeliverableUrl(url: string, network: WebhookNetworkPolicy): void {
  const field = (rule: string, text: Message) => [{ location: "body" as const, field: "url", rule, message: text }];
  if (!/^https?:\/\//i.test(url)) {
    throw new AppError("VALIDATION_FAILED", { fields: field("scheme", message("must be http or https", "必须是 http 或 https")) });
  }
  if (!URL.canParse(url)) throw new AppError("VALIDATION_FAILED", { fields: field("format", message("must be a URL", "必须是 URL")) });
  if (!network.allowPrivateNetwork && isKnownNonPublicHost(new URL(url).hostname)) {
    throw new AppError("PRIVATE_NETWORK_REFUSED", {
      details: { fields: field("publicAddress", message("must be a public address", "必须是公网地址")) },
    });
  }
}

/** The organization's webhook setting and its delivery log. */
export function createWebhookService(deps: { db: Kysely<Database>; now: () => Date; box: SecretBox; network?: WebhookNetworkPolicy }) {
  const { db, now } = deps;
  const network = deps.network ?? {};
  return {
    async get(scope: TenantScope): Promise<Webhook | null> {
      const row = await q.selectWebhook(db, scope);
      return row ? toWebhook(row) : null;
    },

    /** Sets the URL; a new signing secret is made the first time and on `rotateSecret`, and shown in this answer only. */
    async set(scope: TenantScope, input: { url: string; enabled?: boolean; rotateSecret?: boolean }, actor: Actor) {
      assertDeliverableUrl(input.url, network);
      return db.transaction().execute(async (trx) => {
        const before = await q.selectWebhook(trx, scope, { forUpdate: true });
        const secret = !before || input.rotateSecret ? newSigningSecret() : null;
        const row = await q.upsertWebhook(trx, scope, {
          url: input.url,
          enabled: input.enabled ?? true,
          secretCiphertext: secret ? deps.box.seal(secret) : before!.secret_ciphertext,
          secretPrefix: secret ? secret.slice(0, SECRET_PREFIX_LENGTH) : before!.secret_prefix,
          at: now(),
        });
        const after = toWebhook(row);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "webhook.set",
          targetType: "webhook",
          targetId: scope.organizationId,
          before: before ? toWebhook(before) : null,
          after: { ...after, secretRotated: secret !== null },
        });
        return { ...after, secret };
      });
    },

    /** Removes the webhook and drops its queued deliveries. */
    async remove(scope: TenantScope, actor: Actor): Promise<Webhook> {
      return db.transaction().execute(async (trx) => {
        const before = await q.selectWebhook(trx, scope, { forUpdate: true });
        if (!before) throw new AppError("NOT_FOUND");
        await q.deleteWebhook(trx, scope);
        await q.dropPendingDeliveries(trx, scope, now());
        const removed = toWebhook(before);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "webhook.delete",
          targetType: "webhook",
          targetId: scope.organizationId,
          before: removed,
        });
        return removed;
      });
    },

    async deliveries(scope: TenantScope, page: { cursor?: string; limit: number }) {
      const after = page.cursor ? decodeCursor(page.cursor, ["string"]) : null;
      const rows = await q.selectDeliveries(db, scope, { after, limit: page.limit });
      return toPage(rows, page.limit, (row) => [row.id], toDelivery);
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
