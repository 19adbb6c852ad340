import type { Kysely } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { Database } from "../../generated/db.ts";
import { currentPlanOf, type CurrentPlan } from "../billing/current-plan.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { AppError } from "../errors.ts";
import type { CountQuotas, CountedQuotaKey } from "./count-quota.ts";
import { bucketEnd, bucketsOf, type Granularity } from "./history.ts";
import * as q from "./queries.ts";
import { COUNT_QUOTAS, PERIOD_QUOTAS, RESOURCE_TYPES, UNLIMITED, type ResourceType, type UsageMetricKey } from "./quotas.ts";

export type OrganizationUsage = components["schemas"]["Metering.OrganizationUsage"];
export type UsageMetric = components["schemas"]["Metering.UsageMetric"];
export type UsageHistory = components["schemas"]["Metering.UsageHistory"];
export type QuotaWarning = components["schemas"]["Metering.QuotaWarning"];

const COUNTED: readonly CountedQuotaKey[] = ["team_members", "workflows", "datasets", "storage_gb"];

function percentOf(used: number, limit: number): number | null {
  if (limit === UNLIMITED) return null;
  if (limit === 0) return 100;
  return Math.round((used / limit) * 10_000) / 100;
}

function metric(
  key: UsageMetricKey,
  resourceType: ResourceType | null,
  unit: string,
  used: number,
  limit: number,
  plan: CurrentPlan | null,
) {
  return {
    metric: key,
    resourceType,
    unit,
    used,
    limit,
    unlimited: limit === UNLIMITED,
    percent: percentOf(used, limit),
    periodStart: plan?.periodStart.toISOString() ?? null,
    periodEnd: plan?.periodEnd.toISOString() ?? null,
  } satisfies UsageMetric;
}

/** A stored warning as the contract's `QuotaWarning`. */
export function toQuotaWarning(row: q.QuotaWarningRow): QuotaWarning {
  return {
    id: row.id,
    metric: row.metric as UsageMetricKey,
    level: row.level as 80 | 100,
    value: Number(row.value),
    limit: Number(row.quota_limit),
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    crossedAt: row.crossed_at.toISOString(),
  };
}

/** What the usage API reads: usage against the plan, history from rollups, and the warnings. */
export function createUsageService(deps: { db: Kysely<Database>; now: () => Date; counts: CountQuotas }) {
  const { db, now } = deps;

  async function planOf(scope: q.OrganizationScope): Promise<CurrentPlan> {
    const plan = await currentPlanOf(db, scope.organizationId, now());
    if (!plan) throw new AppError("SUBSCRIPTION_ENDED");
    return plan;
  }

  return {
    /** Every quota of the plan with its usage: counters of the current period, live counts of resources. */
    async getUsage(scope: q.OrganizationScope): Promise<OrganizationUsage> {
      const plan = await planOf(scope);
      const counters = await q.selectCounters(db, scope, plan.periodStart);
      const usedOf = (type: ResourceType) => Number(counters.find((c) => c.resource_type === type)?.used ?? 0);
      const metrics: UsageMetric[] = [];
      for (const type of RESOURCE_TYPES) {
        const quota = PERIOD_QUOTAS[type];
        if (quota.metric) metrics.push(metric(quota.metric, type, quota.unit, usedOf(type), quota.limitOf(plan.quotas), plan));
      }
      for (const key of COUNTED) {
        const used = await deps.counts.used(db, scope.organizationId, key);
        if (used !== null) metrics.push(metric(key, null, COUNT_QUOTAS[key].unit, used, COUNT_QUOTAS[key].limitOf(plan.quotas), null));
      }
      return {
        organizationId: scope.organizationId,
        planId: plan.planId,
        periodStart: plan.periodStart.toISOString(),
        periodEnd: plan.periodEnd.toISOString(),
        metrics,
      };
    },

    /** One metric per UTC bucket over a range, every bucket present, each split by workspace. */
    async history(
      scope: q.OrganizationScope,
      query: { metricType: ResourceType; granularity: Granularity; startDate?: string; endDate?: string; workspaceId?: string },
    ): Promise<UsageHistory> {
      const start = query.startDate ? new Date(query.startDate) : (await planOf(scope)).periodStart;
      const buckets = bucketsOf(query.granularity, start, query.endDate ? new Date(query.endDate) : now());
      const first = buckets[0]!;
      const end = bucketEnd(query.granularity, buckets.at(-1)!);
      const rows = await q.selectRollups(db, scope, {
        type: query.metricType,
        granularity: query.granularity,
        start: first,
        end,
        workspaceKey: query.workspaceId ?? null,
      });
      const byBucket = new Map<number, { workspaceId: string | null; value: number }[]>();
      for (const row of rows) {
        const key = new Date(row.bucket).getTime();
        const share = { workspaceId: row.workspace_key === q.NO_WORKSPACE ? null : row.workspace_key, value: Number(row.quantity) };
        byBucket.set(key, [...(byBucket.get(key) ?? []), share]);
      }
      let total = 0;
      const dataPoints = buckets.map((bucket) => {
        const workspaces = (byBucket.get(bucket.getTime()) ?? []).sort(
          (a, b) => b.value - a.value || (a.workspaceId ?? "").localeCompare(b.workspaceId ?? ""),
        );
        const value = workspaces.reduce((sum, w) => sum + w.value, 0);
        total += value;
        return { timestamp: bucket.toISOString(), value, workspaces };
      });
      return {
        metricType: query.metricType,
        granularity: query.granularity,
        startDate: first.toISOString(),
        endDate: end.toISOString(),
        total,
        dataPoints,
      };
    },

    /** The warnings, newest first; `currentPeriodOnly` keeps those of the current billing period. */
    async warnings(
      scope: q.OrganizationScope,
      options: { metric?: UsageMetricKey; currentPeriodOnly: boolean; cursor?: string; limit: number },
    ) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const periodStart = options.currentPeriodOnly ? (await planOf(scope)).periodStart : undefined;
      const rows = await q.selectWarnings(db, scope, {
        ...(options.metric ? { metric: options.metric } : {}),
        ...(periodStart ? { periodStart } : {}),
        after,
        limit: options.limit,
      });
      return toPage(rows, options.limit, (row) => [row.id], toQuotaWarning);
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
