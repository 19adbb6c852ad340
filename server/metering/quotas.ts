import type { components } from "../../generated/api-types.ts";
import type { PlanQuotas } from "../billing/current-plan.ts";

/** What the ledger meters. */
export type ResourceType = components["schemas"]["Metering.MetricType"];
/** A quota as the usage API names it. */
export type UsageMetricKey = components["schemas"]["Metering.UsageMetricKey"];
/** The quotas counted on live resources, checked when one is created. */
export type CountQuotaKey = "team_members" | "workflows" | "datasets" | "storage_gb" | "custom_plugins";

/** The plan's `-1`: no limit. */
export const UNLIMITED = -1;

/** How a ledger metric is limited per billing period. */
export interface PeriodQuota {
  /** The quota the usage API reports it as, or null when it is not reported (storage: a count quota). */
  metric: UsageMetricKey | null;
  /** The ledger's default unit. */
  unit: string;
  /** The plan's limit for it; `UNLIMITED` when no plan limits it. */
  limitOf(quotas: PlanQuotas): number;
}

function planLimit(quotas: PlanQuotas, key: "api_calls_per_month" | "tokens_per_month" | "messages_per_month"): number {
  const limit = quotas[key];
  // A plan without the key is broken data, not "no limit" and not "limit 0": fail loudly.
  if (!Number.isSafeInteger(limit) || limit < UNLIMITED) throw new Error(`the plan's quota ${key} is missing or invalid`);
  return limit;
}

/**
 * Each ledger metric's quota, spelled out. Seed 000's sketch looked up `${resource_type}_per_month`,
 * which finds no `api_call_per_month` and fell back to a limit of 0; here every metric is mapped by
 * hand, and the two no plan limits per period are unlimited on purpose.
 */
export const PERIOD_QUOTAS: Record<ResourceType, PeriodQuota> = {
  api_call: { metric: "api_calls_per_month", unit: "calls", limitOf: (q) => planLimit(q, "api_calls_per_month") },
  token: { metric: "tokens_per_month", unit: "tokens", limitOf: (q) => planLimit(q, "tokens_per_month") },
  message: { metric: "messages_per_month", unit: "messages", limitOf: (q) => planLimit(q, "messages_per_month") },
  // Counted for history and billing; no plan sets a per-period limit on workflow runs.
  workflow_execution: { metric: "workflow_executions_per_month", unit: "executions", limitOf: () => UNLIMITED },
  // Stored bytes are limited by the storage_gb count quota when files are stored, not per period.
  storage: { metric: null, unit: "bytes", limitOf: () => UNLIMITED },
};

/** The ledger metrics in the order the usage API lists them. */
export const RESOURCE_TYPES = ["api_call", "token", "message", "workflow_execution", "storage"] as const satisfies readonly ResourceType[];

/** `meter_usage()`'s `p_quotas`: every metric's reported name and limit under `quotas`. */
export function quotaArgument(quotas: PlanQuotas): Record<ResourceType, { metric: UsageMetricKey | null; limit: number }> {
  const entries = RESOURCE_TYPES.map((type) => [type, { metric: PERIOD_QUOTAS[type].metric, limit: PERIOD_QUOTAS[type].limitOf(quotas) }]);
  return Object.fromEntries(entries) as Record<ResourceType, { metric: UsageMetricKey | null; limit: number }>;
}

/** Each count quota's unit, and its limit in that unit (`storage_gb` counts bytes against GiB). */
export const COUNT_QUOTAS: Record<Exclude<CountQuotaKey, "custom_plugins">, { unit: string; limitOf(q: PlanQuotas): number }> = {
  team_members: { unit: "members", limitOf: (q) => q.team_members },
  workflows: { unit: "workflows", limitOf: (q) => q.workflows },
  datasets: { unit: "datasets", limitOf: (q) => q.datasets },
  storage_gb: { unit: "bytes", limitOf: (q) => (q.storage_gb === UNLIMITED ? UNLIMITED : q.storage_gb * 2 ** 30) },
};
