/**
 * Usage events as callers give them, as the metering statements take them, and as the ledger
 * answers them: the shapes the meter (meter.ts) converts between.
 */
import type { CurrentPlan } from "../billing/current-plan.ts";
import { newId } from "../ids.ts";
import type { StoredRow } from "./meter-outcomes.ts";
import { PERIOD_QUOTAS, type ResourceType } from "./quotas.ts";

/** One usage event to check and record. */
export interface UsageEvent {
  /** Unique per organization: the same key is counted once, and answered with the first record. */
  idempotencyKey: string;
  resourceType: ResourceType;
  /** A positive whole quantity in `unit`. */
  quantity: number;
  /** Defaults to the metric's unit (`calls`, `tokens`, …). */
  unit?: string;
  workspaceId?: string | null;
  /** Money as dinero.js keeps it: an integer amount at a scale, in a currency. */
  cost?: { amount: bigint; scale: number; currency: string } | null;
  metadata?: Record<string, unknown>;
  /** When the usage happened; defaults to now. */
  recordedAt?: Date;
}

/** A record of the ledger, stored by this call or by an earlier one with the same key (`replayed`). */
export interface StoredUsage {
  id: string;
  idempotencyKey: string;
  resourceType: ResourceType;
  quantity: number;
  unit: string;
  workspaceId: string | null;
  cost: { amount: bigint; scale: number; currency: string } | null;
  metadata: Record<string, unknown>;
  recordedAt: Date;
  periodStart: Date;
  periodEnd: Date;
  replayed: boolean;
}

/** An event as meter_one() and meter_usage() take it, with its id and rollup buckets made here. */
export interface PreparedEvent {
  id: string;
  key: string;
  type: ResourceType;
  quantity: number;
  unit: string;
  workspace_id: string | null;
  cost_amount: string | null;
  cost_scale: number | null;
  currency: string | null;
  metadata: Record<string, unknown>;
  recorded_at: string;
  hour_start: string;
  day_start: string;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/** An event as the statements take it: its id and UTC rollup buckets made here, its unit defaulted. */
export function prepare(e: UsageEvent, now: Date): PreparedEvent {
  const at = e.recordedAt ?? now;
  const ms = at.getTime();
  return {
    id: newId(),
    key: e.idempotencyKey,
    type: e.resourceType,
    quantity: e.quantity,
    unit: e.unit ?? PERIOD_QUOTAS[e.resourceType].unit,
    workspace_id: e.workspaceId ?? null,
    cost_amount: e.cost ? e.cost.amount.toString() : null,
    cost_scale: e.cost ? e.cost.scale : null,
    currency: e.cost ? e.cost.currency : null,
    metadata: e.metadata ?? {},
    recorded_at: at.toISOString(),
    // The record's UTC hour and day, its rollup buckets (epoch milliseconds count UTC).
    hour_start: new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString(),
    day_start: new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString(),
  };
}

/** A ledger row stored by an earlier call with the same key. */
export function fromStored(row: StoredRow): StoredUsage {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    resourceType: row.resource_type,
    quantity: Number(row.quantity),
    unit: row.unit,
    workspaceId: row.workspace_id,
    cost:
      row.cost_amount !== null && row.currency !== null
        ? { amount: BigInt(row.cost_amount), scale: row.cost_scale ?? 0, currency: row.currency.trim() }
        : null,
    metadata: row.metadata,
    recordedAt: new Date(row.recorded_at),
    periodStart: new Date(row.period_start),
    periodEnd: new Date(row.period_end),
    replayed: true,
  };
}

/** An event this call recorded, in its plan's period. */
export function fromPrepared(e: PreparedEvent, plan: CurrentPlan): StoredUsage {
  return {
    id: e.id,
    idempotencyKey: e.key,
    resourceType: e.type,
    quantity: e.quantity,
    unit: e.unit,
    workspaceId: e.workspace_id,
    cost:
      e.cost_amount !== null && e.currency !== null
        ? { amount: BigInt(e.cost_amount), scale: e.cost_scale ?? 0, currency: e.currency }
        : null,
    metadata: e.metadata,
    recordedAt: new Date(e.recorded_at),
    periodStart: plan.periodStart,
    periodEnd: plan.periodEnd,
    replayed: false,
  };
}
