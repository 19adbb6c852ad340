import { UTCDate } from "@date-fns/utc";
import { addDays } from "date-fns";
import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import type { BillingContext, BillingPolicy, JobScope } from "./billing-context.ts";
import { selectEarliestOverdue } from "./invoice-queries.ts";
import { updateSubscription, type OrganizationRef, type SubscriptionRow } from "./subscription-queries.ts";

const STANDING_STATUSES = ["active", "past_due", "suspended"];

/**
 * Puts a subscription's status in line with its invoices at `now`: an open invoice past its due date
 * makes an `active` one `past_due` (since that due date, so a late job run grants no extra grace);
 * past due for the grace period makes it `suspended`; no overdue invoice makes it `active` again.
 * Trialing and ended subscriptions are left alone. Call it in a transaction holding the row's lock.
 */
export async function refreshStanding(
  trx: Kysely<Database>,
  org: OrganizationRef,
  subscription: SubscriptionRow,
  now: Date,
  policy: BillingPolicy,
): Promise<SubscriptionRow> {
  if (!STANDING_STATUSES.includes(subscription.status)) return subscription;
  const overdueSince = await selectEarliestOverdue(trx, org, subscription.id, now);
  if (!overdueSince) {
    if (subscription.status === "active") return subscription;
    return updateSubscription(trx, org, subscription.id, { status: "active", past_due_since: null, updated_at: now });
  }
  const since = subscription.past_due_since ?? overdueSince;
  const suspendAt = new Date(addDays(new UTCDate(since.getTime()), policy.graceDays).getTime());
  const status = suspendAt <= now ? "suspended" : "past_due";
  if (status === subscription.status && subscription.past_due_since) return subscription;
  return updateSubscription(trx, org, subscription.id, { status, past_due_since: since, updated_at: now });
}

/**
 * The period job's dunning step: every `active` subscription with an overdue invoice and every
 * `past_due` one is re-checked, each in its own transaction with its row locked (`SKIP LOCKED`, so
 * servers running the step at once share the work). Returns how many changed status.
 */
export async function applyDunning(ctx: BillingContext, scope: JobScope = {}): Promise<number> {
  const now = ctx.now();
  const only = scope.organizationIds ? sql`and s.organization_id = any(${scope.organizationIds}::uuid[])` : sql``;
  const candidates = await sql<{ id: string; organization_id: string }>`
    select s.id, s.organization_id from subscriptions s
    where (s.status = 'past_due'
       or (s.status = 'active' and exists (
            select 1 from invoices i where i.subscription_id = s.id and i.status = 'open' and i.due_at <= ${now})))
      ${only}`
    .execute(ctx.db)
    .then((r) => r.rows);
  let changed = 0;
  for (const candidate of candidates) {
    await ctx.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("subscriptions")
        .selectAll()
        .where("id", "=", candidate.id)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!row) return;
      const after = await refreshStanding(trx, { organizationId: row.organization_id }, row, now, ctx.policy);
      if (after.status !== row.status) changed += 1;
    });
  }
  return changed;
}
