import { createHash } from "node:crypto";
import { dinero, toDecimal } from "dinero.js/bigint";
import type { components } from "../../generated/api-types.ts";
import { AppError, type FieldError } from "../errors.ts";
import { message } from "../messages.ts";
import { currencyOf } from "../money.ts";
import type { StoredUsage, UsageEvent } from "./usage-events.ts";
import type { CarriedUsage } from "./meter-route.ts";

type UsageRecordInput = components["schemas"]["Metering.UsageRecordInput"];
export type UsageRecord = components["schemas"]["Metering.UsageRecord"];

/** How late a record may arrive, and how far ahead of our clock a caller's clock may run. */
const OLDEST_MS = 7 * 24 * 3600 * 1000;
const SKEW_MS = 5 * 60 * 1000;
const METADATA_MAX_BYTES = 4096;

const field = (i: number, name: string, rule: string, en: string, zh: string): FieldError => ({
  location: "body",
  field: `records.${i}.${name}`,
  rule,
  message: message(en, zh),
});

/** "0.0012" → 12 at scale 4, raised to at least the currency's exponent ("1" USD → 100 at scale 2). */
function parseCost(decimal: string, currency: string): { amount: bigint; scale: number; currency: string } {
  const exponent = Number(currencyOf(currency).exponent);
  const [whole = "0", fraction = ""] = decimal.split(".");
  const scale = Math.max(fraction.length, exponent);
  return { amount: BigInt(whole + fraction.padEnd(scale, "0")), scale, currency };
}

function checkCost(r: UsageRecordInput, i: number, problems: FieldError[]): UsageEvent["cost"] {
  if (r.cost === undefined && r.currency === undefined) return null;
  if (r.cost === undefined || r.currency === undefined) {
    const missing = r.cost === undefined ? "cost" : "currency";
    problems.push(field(i, missing, "required", "is required with cost and currency", "cost 与 currency 须同时提供"));
    return null;
  }
  if (r.cost.startsWith("-")) {
    problems.push(field(i, "cost", "minimum", "must not be negative", "不能为负数"));
    return null;
  }
  try {
    return parseCost(r.cost, r.currency);
  } catch {
    problems.push(field(i, "currency", "currency", "is not an ISO 4217 currency we know", "不是已知的 ISO 4217 币种"));
    return null;
  }
}

/**
 * The events of a `recordUsage` batch, after the checks the contract cannot express: cost and
 * currency together, metadata size, and `recordedAt` between 7 days ago and 5 minutes ahead. Every
 * failing field is named in one 400.
 */
export function toUsageEvents(records: UsageRecordInput[], now: Date): UsageEvent[] {
  const problems: FieldError[] = [];
  const events = records.map((r, i): UsageEvent => {
    const cost = checkCost(r, i, problems);
    if (r.metadata && Buffer.byteLength(JSON.stringify(r.metadata)) > METADATA_MAX_BYTES) {
      problems.push(field(i, "metadata", "maxSize", "is larger than 4 KiB as JSON", "序列化后超过 4 KiB"));
    }
    const recordedAt = r.recordedAt ? new Date(r.recordedAt) : now;
    if (recordedAt.getTime() > now.getTime() + SKEW_MS) {
      problems.push(field(i, "recordedAt", "future", "must not be in the future", "不能是将来的时间"));
    } else if (recordedAt.getTime() < now.getTime() - OLDEST_MS) {
      problems.push(field(i, "recordedAt", "minimum", "must be within the last 7 days", "必须在最近 7 天内"));
    }
    return {
      idempotencyKey: r.idempotencyKey,
      resourceType: r.resourceType,
      quantity: r.quantity,
      ...(r.unit ? { unit: r.unit } : {}),
      workspaceId: r.workspaceId ?? null,
      cost,
      metadata: r.metadata ?? {},
      recordedAt,
    };
  });
  if (problems.length > 0) throw new AppError("VALIDATION_FAILED", { fields: problems });
  return events;
}

/** A ledger record as the contract's `UsageRecord`. */
export function toUsageRecord(stored: StoredUsage): UsageRecord {
  const cost = stored.cost;
  return {
    id: stored.id,
    idempotencyKey: stored.idempotencyKey,
    resourceType: stored.resourceType,
    quantity: stored.quantity,
    unit: stored.unit,
    workspaceId: stored.workspaceId,
    cost: cost ? toDecimal(dinero({ amount: cost.amount, currency: currencyOf(cost.currency), scale: BigInt(cost.scale) })) : null,
    currency: cost?.currency ?? null,
    metadata: stored.metadata,
    recordedAt: stored.recordedAt.toISOString(),
    periodStart: stored.periodStart.toISOString(),
    periodEnd: stored.periodEnd.toISOString(),
    replayed: stored.replayed,
  };
}

/** A key that names `keys`, in order, in a bounded length: a batch's, for the call that carries it. */
function keyOfKeys(keys: readonly string[]): string {
  return createHash("sha256").update(keys.join("\n")).digest("base64url");
}

/**
 * What a `recordUsage` call carries to the metering hook (meter-route.ts): its records, checked and
 * recorded with the call's own unit (its key's `usage:write` scope was checked with the key). The
 * keys of the records, in order, make a retried batch the same call.
 */
export function recordBatchUsage(now: () => Date): CarriedUsage {
  return (input) => {
    const records = (input.body as { records: UsageRecordInput[] }).records;
    return { events: toUsageEvents(records, now()), callKey: keyOfKeys(records.map((r) => r.idempotencyKey)) };
  };
}
