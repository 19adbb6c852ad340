import { sql, type Kysely } from "kysely";
import { expect } from "vitest";
import type { Database } from "../../generated/db.ts";
import type { CurrentPlan } from "../../server/billing/current-plan.ts";
import { newId } from "../../server/ids.ts";
import { dataOf, type TestTenant } from "../fixtures.ts";
import type { TestApp } from "../harness.ts";

/** The free plan's quotas (sql/0001_subscription_plans.sql): what a new organization starts with. */
export const FREE = { apiCalls: 1000, tokens: 100_000, messages: 500, teamMembers: 3 } as const;

/** An organization API key made through the API; its secret and the headers that send it. */
export async function createOrgKey(api: TestApp, tenant: TestTenant, scopes: string[] = ["usage:write"]) {
  const res = await api.call("createApiKey", {
    path: { organizationId: tenant.organizationId },
    body: { name: "ingest", scopes },
    headers: tenant.owner.headers,
  });
  expect(res.status).toBe(201);
  const key = dataOf<{ id: string; secret: string }>(res);
  return { id: key.id, secret: key.secret, headers: { authorization: `Bearer ${key.secret}` } };
}

/** One usage record of the API; `idempotencyKey` and `resourceType` are what every test names. */
export interface RecordInput {
  idempotencyKey: string;
  resourceType: string;
  quantity: number;
  [field: string]: unknown;
}

/** Calls `recordUsage` for the tenant with `key`. */
export function recordUsage(api: TestApp, tenant: TestTenant, key: { headers: Record<string, string> }, records: RecordInput[]) {
  return api.call("recordUsage", { path: { organizationId: tenant.organizationId }, body: { records }, headers: key.headers });
}

/**
 * Makes the organization's quotas reset each calendar month (UTC), as a lifetime subscription's
 * do, so tests cross period boundaries without a renewal job.
 */
export async function useCalendarMonths(api: TestApp, organizationId: string): Promise<void> {
  await api.db.updateTable("subscriptions").set({ current_period_end: null }).where("organization_id", "=", organizationId).execute();
}

/** The start of the organization's current billing period: where its usage counts now. */
export async function periodStartOf(api: TestApp, organizationId: string): Promise<Date> {
  const row = await api.db
    .selectFrom("subscriptions")
    .select("current_period_start")
    .where("organization_id", "=", organizationId)
    .executeTakeFirstOrThrow();
  return row.current_period_start;
}

/** The ledger's sum and the counter of one metric in the period that starts at `periodStart`. */
export async function ledgerAndCounter(api: TestApp, organizationId: string, resourceType: string, periodStart: Date) {
  const ledger = await api.db
    .selectFrom("usage_records")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>("quantity"), eb.val("0")).as("sum"))
    .where("organization_id", "=", organizationId)
    .where("resource_type", "=", resourceType)
    .where("period_start", "=", periodStart)
    .executeTakeFirstOrThrow();
  const counter = await api.db
    .selectFrom("usage_counters")
    .select("used")
    .where("organization_id", "=", organizationId)
    .where("resource_type", "=", resourceType)
    .where("period_start", "=", periodStart)
    .executeTakeFirst();
  return { ledger: Number(ledger.sum), counter: Number(counter?.used ?? 0) };
}

/** One event for meter_each() (sql/0022, 0026, 0027): an `api_call` (or `token`) of the free plan's quota. */
export interface MeterEventInput {
  key: string;
  quantity: number;
  enforce?: boolean;
  workspaceId?: string;
  /** The call the event belongs to (sql/0027); by default its own. */
  grp?: number;
  /** Defaults to `api_call`. */
  type?: "api_call" | "token";
}

/** meter_each()'s answer for one event. */
export type MeterAnswer = { status: string; used: number | null; stored: Record<string, unknown> | null };

/** A meter_event as the server gathers it (server/metering/meter.ts), recorded at `at`. */
export function meterEventOf(at: Date, t: TestTenant, plan: CurrentPlan, ord: number, e: MeterEventInput) {
  return {
    ord,
    grp: e.grp ?? ord,
    organization_id: t.organizationId,
    subscription_id: plan.subscriptionId,
    plan_id: plan.planId,
    period_start: plan.periodStart.toISOString(),
    period_end: plan.periodEnd.toISOString(),
    metric: e.type === "token" ? "tokens_per_month" : "api_calls_per_month",
    quota_limit: e.type === "token" ? FREE.tokens : FREE.apiCalls,
    enforce: e.enforce ?? true,
    id: newId(),
    key: e.key,
    type: e.type ?? "api_call",
    quantity: e.quantity,
    unit: e.type === "token" ? "tokens" : "calls",
    workspace_id: e.workspaceId ?? null,
    cost_amount: null,
    cost_scale: null,
    currency: null,
    metadata: {},
    recorded_at: at.toISOString(),
    hour_start: new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000).toISOString(),
    day_start: new Date(Math.floor(at.getTime() / 86_400_000) * 86_400_000).toISOString(),
  };
}

/** Calls meter_each() with `events` on `db` (a connection or a transaction), straight through SQL. */
export async function meterEachOf(db: Kysely<Database>, now: Date, events: unknown[]): Promise<MeterAnswer[]> {
  const { rows } = await sql<{ answers: MeterAnswer[] }>`select meter_each(${now.toISOString()}::timestamptz, ${JSON.stringify(
    events,
  )}::jsonb) as answers`.execute(db);
  return rows[0]!.answers;
}
