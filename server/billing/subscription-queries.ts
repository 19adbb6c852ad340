import { sql, type Insertable, type Kysely, type Selectable, type Updateable } from "kysely";
import type { BillingAccountsTable, Database, SubscriptionsTable } from "../../generated/db.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { LIVE_STATUSES } from "./current-plan.ts";

/** A row of `subscriptions`. */
export type SubscriptionRow = Selectable<SubscriptionsTable>;
/** A row of `billing_accounts`. */
export type BillingAccountRow = Selectable<BillingAccountsTable>;
/** The organization billing acts for: a request's tenant scope, or the period job's subscription. */
export type OrganizationRef = Pick<TenantScope, "organizationId">;

/**
 * The organization's live subscription, locked for the rest of the transaction: every change of a
 * subscription goes through this lock, so concurrent changes apply one after the other.
 */
export function lockLiveSubscription(trx: Kysely<Database>, org: OrganizationRef): Promise<SubscriptionRow | undefined> {
  return trx
    .selectFrom("subscriptions")
    .selectAll()
    .where("organization_id", "=", org.organizationId)
    .where("status", "in", LIVE_STATUSES)
    .forUpdate()
    .executeTakeFirst();
}

/** The live subscription, or else the most recently created one (ids are UUID v7, so they sort by creation). */
export function selectCurrentSubscription(db: Kysely<Database>, org: OrganizationRef): Promise<SubscriptionRow | undefined> {
  return db
    .selectFrom("subscriptions")
    .selectAll()
    .where("organization_id", "=", org.organizationId)
    .orderBy(sql`status in ('trialing', 'active', 'past_due', 'suspended')`, "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** One subscription of the organization by id. */
export function selectSubscription(db: Kysely<Database>, org: OrganizationRef, id: string): Promise<SubscriptionRow> {
  return db
    .selectFrom("subscriptions")
    .selectAll()
    .where("organization_id", "=", org.organizationId)
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

/** Changes a subscription of the organization and returns it. */
export function updateSubscription(
  trx: Kysely<Database>,
  org: OrganizationRef,
  id: string,
  patch: Updateable<SubscriptionsTable>,
): Promise<SubscriptionRow> {
  return trx
    .updateTable("subscriptions")
    .set(patch)
    .where("organization_id", "=", org.organizationId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Inserts a subscription for the organization. */
export function insertSubscription(
  trx: Kysely<Database>,
  org: OrganizationRef,
  values: Omit<Insertable<SubscriptionsTable>, "organization_id">,
): Promise<SubscriptionRow> {
  return trx
    .insertInto("subscriptions")
    .values({ ...values, organization_id: org.organizationId })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The organization's billing account, or undefined before it has one. */
export function selectBillingAccount(db: Kysely<Database>, org: OrganizationRef): Promise<BillingAccountRow | undefined> {
  return db.selectFrom("billing_accounts").selectAll().where("organization_id", "=", org.organizationId).executeTakeFirst();
}

/** Creates or changes the organization's billing account; fields left out keep their value. */
export async function saveBillingAccount(
  trx: Kysely<Database>,
  org: OrganizationRef,
  patch: { providerCustomerId?: string | null; defaultPaymentMethodId?: string | null },
  now: Date,
): Promise<void> {
  const values = {
    ...(patch.providerCustomerId !== undefined ? { provider_customer_id: patch.providerCustomerId } : {}),
    ...(patch.defaultPaymentMethodId !== undefined ? { default_payment_method_id: patch.defaultPaymentMethodId } : {}),
  };
  await trx
    .insertInto("billing_accounts")
    .values({ organization_id: org.organizationId, ...values, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column("organization_id").doUpdateSet({ ...values, updated_at: now }))
    .execute();
}

/**
 * The count quotas' current use. Only what exists today is counted: distinct members across the
 * organization's live teams. Workflows and datasets join here when their tables do.
 */
export async function selectCountQuotaUsage(db: Kysely<Database>, org: OrganizationRef): Promise<{ team_members: number }> {
  const row = await db
    .selectFrom("team_members as tm")
    .innerJoin("teams as t", "t.id", "tm.team_id")
    .select(sql<string>`count(distinct tm.user_id)`.as("members"))
    .where("tm.organization_id", "=", org.organizationId)
    .where("t.archived_at", "is", null)
    .executeTakeFirstOrThrow();
  return { team_members: Number(row.members) };
}
