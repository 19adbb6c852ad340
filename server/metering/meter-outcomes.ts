import type { CurrentPlan } from "../billing/current-plan.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { quotaExceededError } from "./quota-exceeded.ts";
import { PERIOD_QUOTAS, type ResourceType } from "./quotas.ts";

/** A ledger row as meter_one() returns it (JSON: timestamps as strings, the cost amount as text). */
export interface StoredRow {
  id: string;
  idempotency_key: string;
  resource_type: ResourceType;
  quantity: number;
  unit: string;
  workspace_id: string | null;
  cost_amount: string | null;
  cost_scale: number | null;
  currency: string | null;
  metadata: Record<string, unknown>;
  recorded_at: string;
  period_start: string;
  period_end: string;
}

/**
 * What became of one event: sql/0013's statuses, and meter_each()'s (sql/0027) for an event of a call
 * that another of its events failed (`withdrawn`) or that must go again in a later batch (`retry`).
 */
export interface Outcome {
  status: "recorded" | "replayed" | "refused" | "conflict" | "invalid" | "stale" | "withdrawn" | "retry";
  /** The usage the event did not fit, for `refused`. */
  used: number | null;
  /** The stored record, for `replayed`. */
  stored: StoredRow | null;
}

function refused(type: ResourceType, used: number, requested: number, plan: CurrentPlan, now: Date): AppError {
  const quota = PERIOD_QUOTAS[type];
  return quotaExceededError(
    { metric: quota.metric ?? type, unit: quota.unit, limit: quota.limitOf(plan.quotas), used, requested, resetsAt: plan.periodEnd },
    now,
  );
}

function keyReused(key: string): AppError {
  return new AppError("IDEMPOTENCY_KEY_REUSED", {
    message: message(
      `The idempotency key "${key}" was already used for a different usage event.`,
      `幂等键 "${key}" 已用于另一条不同的用量记录。`,
    ),
  });
}

function foreignWorkspace(index: number): AppError {
  return new AppError("VALIDATION_FAILED", {
    fields: [
      {
        location: "body",
        field: `records.${index}.workspaceId`,
        rule: "workspace",
        message: message("is not a workspace of this organization", "不是该组织的工作空间"),
      },
    ],
  });
}

/** The error of an event that was not recorded: 429, 409 or 400 naming `records.<index>`. */
export function errorOfOutcome(
  outcome: Outcome,
  event: { type: ResourceType; quantity: number; key?: string },
  index: number,
  plan: CurrentPlan,
  now: Date,
): AppError {
  if (outcome.status === "refused") return refused(event.type, outcome.used ?? 0, event.quantity, plan, now);
  if (outcome.status === "conflict") return keyReused(event.key ?? "");
  return foreignWorkspace(index);
}

/** An error meter_usage() raised in atomic mode (MQ001, MQ003, MQ004) as the API's error; anything else unchanged. */
export function translateMeterError(error: unknown, plan: CurrentPlan, events: { workspaceId?: string | null }[], now: Date): unknown {
  const { code, detail } = (typeof error === "object" && error !== null ? error : {}) as { code?: string; detail?: string };
  if (code === "MQ001") {
    const d = JSON.parse(detail ?? "{}") as { resourceType: ResourceType; used: number; requested: number };
    return refused(d.resourceType, d.used, d.requested, plan, now);
  }
  if (code === "MQ003") return keyReused(detail ?? "");
  if (code === "MQ004")
    return foreignWorkspace(
      Math.max(
        0,
        events.findIndex((e) => e.workspaceId === detail),
      ),
    );
  return error;
}
