import type { Kysely, Selectable } from "kysely";
import type { Database, OrganizationWebhooksTable, WebhookDeliveriesTable } from "../../../generated/db.ts";
import type { CursorKey } from "../../db/cursor.ts";
import type { OrganizationScope } from "../queries.ts";

export type WebhookRow = Selectable<OrganizationWebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

export async function selectWebhook(db: Kysely<Database>, scope: OrganizationScope, options: { forUpdate?: boolean } = {}) {
  let query = db.selectFrom("organization_webhooks").selectAll().where("organization_id", "=", scope.organizationId);
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function upsertWebhook(
  trx: Kysely<Database>,
  scope: OrganizationScope,
  values: { url: string; enabled: boolean; secretCiphertext: string; secretPrefix: string; at: Date },
): Promise<WebhookRow> {
  return trx
    .insertInto("organization_webhooks")
    .values({
      organization_id: scope.organizationId,
      url: values.url,
      enabled: values.enabled,
      secret_ciphertext: values.secretCiphertext,
      secret_prefix: values.secretPrefix,
      created_at: values.at,
      updated_at: values.at,
    })
    .onConflict((oc) =>
      oc.column("organization_id").doUpdateSet({
        url: values.url,
        enabled: values.enabled,
        secret_ciphertext: values.secretCiphertext,
        secret_prefix: values.secretPrefix,
        updated_at: values.at,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteWebhook(trx: Kysely<Database>, scope: OrganizationScope): Promise<void> {
  await trx.deleteFrom("organization_webhooks").where("organization_id", "=", scope.organizationId).execute();
}

/** Settles the organization's queued deliveries as failed: there is nowhere to send them any more. */
export async function dropPendingDeliveries(trx: Kysely<Database>, scope: OrganizationScope, at: Date): Promise<void> {
  await trx
    .updateTable("background_jobs")
    .set({ status: "failed", last_error: "the webhook was removed", locked_until: null, updated_at: at })
    .where("organization_id", "=", scope.organizationId)
    .where("kind", "=", "webhook.deliver")
    .where("status", "=", "pending")
    .execute();
}

export async function insertDelivery(
  db: Kysely<Database>,
  scope: OrganizationScope,
  row: Omit<DeliveryRow, "organization_id">,
): Promise<void> {
  await db
    .insertInto("webhook_deliveries")
    .values({ ...row, organization_id: scope.organizationId })
    .execute();
}

/** Delivery attempts, newest first. */
export async function selectDeliveries(db: Kysely<Database>, scope: OrganizationScope, page: { after: CursorKey | null; limit: number }) {
  let query = db.selectFrom("webhook_deliveries").selectAll().where("organization_id", "=", scope.organizationId);
  if (page.after) query = query.where("id", "<", String(page.after[0]));
  return query
    .orderBy("id", "desc")
    .limit(page.limit + 1)
    .execute();
}
