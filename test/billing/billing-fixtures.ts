import { sql } from "kysely";
import { expect } from "vitest";
import { DEFAULT_BILLING_POLICY, type BillingContext } from "../../server/billing/billing-context.ts";
import { createPeriodJob } from "../../server/billing/period-job.ts";
import { createManualProvider } from "../../server/payments/manual-provider.ts";
import { newId } from "../../server/ids.ts";
import type { PaymentProvider } from "../../server/payments/provider.ts";
import { createTenant, dataOf, relogin, type TestTenant } from "../fixtures.ts";
import type { TestApp } from "../harness.ts";

/** The default catalogue's plan ids (sql/0001_subscription_plans.sql). */
export const PLAN = {
  freeMonthly: "0190b6a0-0000-7000-8000-000000000001",
  starterMonthly: "0190b6a0-0000-7000-8000-000000000002",
  starterYearly: "0190b6a0-0000-7000-8000-000000000003",
  proMonthly: "0190b6a0-0000-7000-8000-000000000004",
  proYearly: "0190b6a0-0000-7000-8000-000000000005",
  enterpriseMonthly: "0190b6a0-0000-7000-8000-000000000006",
  enterpriseYearly: "0190b6a0-0000-7000-8000-000000000007",
} as const;

/** The subscription as the API answers it (the fields tests read). */
export interface Subscription {
  id: string;
  planId: string;
  status: string;
  billingCycle: string;
  currentPeriodStart: string;
  currentPeriodEnd: string | null;
  cancelAt: string | null;
  trialEnd: string | null;
  pastDueSince: string | null;
  scheduledChange: { planId: string; billingCycle: string; effectiveAt: string } | null;
  availableActions: string[];
  [key: string]: unknown;
}

/** An invoice as the API answers it (the fields tests read). */
export interface Invoice {
  id: string;
  status: string;
  reason: string;
  total: string;
  number: string | null;
  dueAt: string | null;
  lines: { kind: string; amount: string; planId: string | null; periodStart: string; periodEnd: string | null }[];
  [key: string]: unknown;
}

/** The billing context of a test app: its database and clock, with `payments` (manual by default). */
export function billingContextOf(api: TestApp, payments: PaymentProvider = createManualProvider()): BillingContext {
  return { db: api.db, now: api.clock.now, payments, policy: DEFAULT_BILLING_POLICY };
}

/** The period job over a test app, as the scheduler would run it at the app's clock. */
export function periodJobOf(api: TestApp, payments?: PaymentProvider) {
  return createPeriodJob(billingContextOf(api, payments));
}

/**
 * Runs the period job for these tenants only: on the native database every test file shares one
 * database, and a run over all of it would close other files' periods under their feet.
 */
export function closePeriods(api: TestApp, ...tenants: { organizationId: string }[]) {
  return periodJobOf(api).run({ organizationIds: tenants.map((t) => t.organizationId) });
}

/** A tenant created at `at` (the clock is set there first). */
export async function tenantAt(api: TestApp, at: string): Promise<TestTenant> {
  api.clock.set(new Date(at));
  return createTenant(api);
}

/** Moves the clock to `at` and signs the tenant's owner in again (access tokens last 15 minutes). */
export async function travelTo(api: TestApp, t: TestTenant, at: string): Promise<void> {
  api.clock.set(new Date(at));
  t.owner.headers = await relogin(api, t.owner);
}

/** Subscribes the tenant to a plan through the API and returns the subscription. */
export async function subscribe(api: TestApp, t: TestTenant, planId: string, billingCycle: string, paymentMethodId?: string) {
  const res = await api.call("createSubscription", {
    path: { organizationId: t.organizationId },
    body: { planId, billingCycle, ...(paymentMethodId ? { paymentMethodId } : {}) },
    headers: t.owner.headers,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return dataOf<Subscription>(res);
}

/** The tenant's subscription through the API. */
export async function subscriptionOf(api: TestApp, t: TestTenant): Promise<Subscription> {
  const res = await api.call("getSubscription", { path: { organizationId: t.organizationId }, headers: t.owner.headers });
  expect(res.status).toBe(200);
  return dataOf<Subscription>(res);
}

/** The tenant's invoices through the API, newest first. */
export async function invoicesOf(api: TestApp, t: TestTenant): Promise<Invoice[]> {
  const res = await api.call("listInvoices", {
    path: { organizationId: t.organizationId },
    query: { limit: 100 },
    headers: t.owner.headers,
  });
  expect(res.status).toBe(200);
  return dataOf<{ items: Invoice[] }>(res).items;
}

/** The subscription's pending lines (not yet invoiced), straight from the database. */
export async function pendingLinesOf(api: TestApp, subscriptionId: string) {
  const rows = await api.db
    .selectFrom("invoice_lines")
    .select(["kind", "amount_minor"])
    .where("subscription_id", "=", subscriptionId)
    .where("invoice_id", "is", null)
    .orderBy("id")
    .execute();
  return rows.map((r) => [r.kind, r.amount_minor] as const);
}

/** Counts rows that a refused call must not have written. */
export async function writesOf(api: TestApp, organizationId: string) {
  const [subscriptions, invoices, lines, audit] = await Promise.all([
    api.db.selectFrom("subscriptions").selectAll().where("organization_id", "=", organizationId).orderBy("id").execute(),
    api.db.selectFrom("invoices").select("id").where("organization_id", "=", organizationId).execute(),
    api.db.selectFrom("invoice_lines").select("id").where("organization_id", "=", organizationId).execute(),
    api.db.selectFrom("audit_logs").select("id").where("organization_id", "=", organizationId).execute(),
  ]);
  return { subscriptions, invoices: invoices.length, lines: lines.length, audit: audit.length };
}

/** The error envelope of a refused call, for whole-body assertions. */
export const refusal = (code: string) => ({
  code,
  message: { "en-US": expect.any(String), "zh-CN": expect.any(String) },
  data: null,
  requestId: expect.any(String),
});

/**
 * An archived copy of a catalogue plan, for the refusals of archived plans. The catalogue is global,
 * and on the native database the plan-catalogue suite lists it whole at the same time, so callers
 * insert one only on PGlite, where each test file has a database of its own.
 */
export async function insertArchivedPlan(api: TestApp, copyOf: string): Promise<string> {
  const id = newId();
  await sql`
    insert into subscription_plans
      (id, name, tier, type, billing_cycle, price_minor, currency, trial_days, display_name, description, features, quotas, status, sort_order)
    select ${id}, ${`archived-${id.slice(-12)}`}, tier, type, billing_cycle, price_minor, currency, trial_days,
           display_name, description, features, quotas, 'archived', sort_order + 1
    from subscription_plans where id = ${copyOf}`.execute(api.db);
  return id;
}
