import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { currentPlanOf, type CurrentPlan } from "../billing/current-plan.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { createCoalescer } from "../db/coalescer.ts";
import type { PlanCache } from "./plan-cache.ts";
import { errorOfOutcome, translateMeterError, type Outcome, type StoredRow } from "./meter-outcomes.ts";
import { PERIOD_QUOTAS, quotaArgument, type ResourceType } from "./quotas.ts";

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
interface PreparedEvent {
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

function prepare(e: UsageEvent, now: Date): PreparedEvent {
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

function fromStored(row: StoredRow): StoredUsage {
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

function fromPrepared(e: PreparedEvent, plan: CurrentPlan): StoredUsage {
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

const isStale = (error: unknown) => (error as { code?: unknown } | null)?.code === "MQ002";

/** A single event waiting to be gathered, with the plan it is checked against. */
interface Gathered {
  organizationId: string;
  plan: CurrentPlan;
  event: PreparedEvent;
  enforce: boolean;
}

/**
 * How single events are gathered: one batch goes at once; more (up to three) may run beside it,
 * their round trips overlapping, so the server is not idle while Postgres works and the other way
 * round, but each only once 12 calls wait for it — smaller batches cost more per event than the wait
 * saves, and batches take turns on a busy organization's counter anyway. Measured with
 * scripts/bench/metering.ts (one organization, 32 calls in flight): one batch at a time did worse
 * (0.67 of the bare route against 0.75–0.84 for two), and so did a batch started for any waiting
 * call (0.57). Three beside each other did as well as two there, and better for workflow runs
 * (scripts/bench/workflow-http.ts), whose calls wait on several gathered statements in turn.
 */
const GATHERING = { maxInFlight: 3, minBatchWhileBusy: 12 };

/** meter_each()'s answer for one event. */
interface RawOutcome {
  status: Outcome["status"];
  used: number | string | null;
  stored: StoredRow | null;
}

/**
 * Checks quotas and records usage in one statement: meter_one() for a lone event, meter_usage() for
 * an API batch (sql/0013), meter_each() for the single events of concurrent calls gathered together
 * (sql/0022). Concurrent callers can never push a counter past its limit, and a refused event
 * records nothing.
 */
export function createUsageMeter(deps: { db: Kysely<Database>; now: () => Date; plans: PlanCache }) {
  async function meterOne(db: Kysely<Database>, organizationId: string, plan: CurrentPlan, e: PreparedEvent, enforce: boolean) {
    const quota = PERIOD_QUOTAS[e.type];
    const { rows } = await sql<{ o_status: Outcome["status"]; o_used: bigint | null; o_stored: StoredRow | null }>`
      select * from meter_one(${organizationId}::uuid, ${plan.subscriptionId}::uuid, ${plan.planId}::uuid,
        ${plan.periodStart.toISOString()}::timestamptz, ${plan.periodEnd.toISOString()}::timestamptz, ${quota.metric}::text,
        ${quota.limitOf(plan.quotas)}::bigint, ${enforce}, ${deps.now().toISOString()}::timestamptz, ${e.id}::uuid, ${e.key}::text,
        ${e.type}::text, ${e.quantity}::bigint, ${e.unit}::text, ${e.workspace_id}::uuid, ${e.cost_amount}::bigint,
        ${e.cost_scale}::smallint, ${e.currency}::text, ${JSON.stringify(e.metadata)}::jsonb, ${e.recorded_at}::timestamptz,
        ${e.hour_start}::timestamptz, ${e.day_start}::timestamptz)`.execute(db);
    const row = rows[0]!;
    return { status: row.o_status, used: row.o_used === null ? null : Number(row.o_used), stored: row.o_stored } as Outcome;
  }

  async function meterBatch(db: Kysely<Database>, organizationId: string, plan: CurrentPlan, events: PreparedEvent[], enforce: boolean) {
    const records = events.map((e, ord) => ({ ...e, ord }));
    const { rows } = await sql<{ outcomes: Outcome[] }>`
      select meter_usage(${organizationId}::uuid, ${plan.subscriptionId}::uuid, ${plan.planId}::uuid,
        ${plan.periodStart.toISOString()}::timestamptz, ${plan.periodEnd.toISOString()}::timestamptz,
        ${JSON.stringify(quotaArgument(plan.quotas))}::jsonb, ${enforce}, ${deps.now().toISOString()}::timestamptz,
        ${JSON.stringify(records)}::jsonb) as outcomes`.execute(db);
    return rows[0]!.outcomes;
  }

  /** Single events of any organizations, gathered while other calls are in flight (see coalescer.ts). */
  const gathered = createCoalescer<Gathered, Outcome>(async (items) => {
    if (items.length === 1) {
      const [{ organizationId, plan, event, enforce }] = items as [Gathered];
      return [await meterOne(deps.db, organizationId, plan, event, enforce)];
    }
    const events = items.map(({ organizationId, plan, event, enforce }, ord) => {
      const quota = PERIOD_QUOTAS[event.type];
      return {
        ...event,
        ord,
        organization_id: organizationId,
        subscription_id: plan.subscriptionId,
        plan_id: plan.planId,
        period_start: plan.periodStart.toISOString(),
        period_end: plan.periodEnd.toISOString(),
        metric: quota.metric,
        quota_limit: quota.limitOf(plan.quotas),
        enforce,
      };
    });
    const { rows } = await sql<{ outcomes: RawOutcome[] }>`
      select meter_each(${deps.now().toISOString()}::timestamptz, ${JSON.stringify(events)}::jsonb) as outcomes`.execute(deps.db);
    return rows[0]!.outcomes.map((o) => ({ status: o.status, used: o.used === null ? null : Number(o.used), stored: o.stored }));
  }, GATHERING);

  /** One event through the gathered round trips, with the cached plan, read again once if it went stale. */
  async function recordOne(organizationId: string, event: PreparedEvent, enforce: boolean) {
    for (let retry = 0; ; retry++) {
      const plan = await deps.plans.get(organizationId);
      if (!plan) throw new AppError("SUBSCRIPTION_ENDED");
      const outcome = await gathered({ organizationId, plan, event, enforce });
      if (outcome.status !== "stale") return { plan, outcome };
      deps.plans.forget(organizationId);
      if (retry > 0) throw new Error(`the plan of organization ${organizationId} changed twice while metering`);
    }
  }

  function answer(outcome: Outcome, event: PreparedEvent, index: number, plan: CurrentPlan): StoredUsage {
    if (outcome.status === "recorded") return fromPrepared(event, plan);
    if (outcome.status === "replayed") return fromStored(outcome.stored!);
    throw errorOfOutcome(outcome, event, index, plan, deps.now());
  }

  return {
    /**
     * Checks each event against its quota and records it, atomically: every event is recorded or,
     * when one does not fit, none is and 429 `QUOTA_EXCEEDED` is thrown. Keys already stored are
     * replays: counted once, answered with the stored record. Inside a caller's transaction (`trx`)
     * it reads the plan afresh and leaves committing to the caller. `enforce: false` records usage
     * that already happened (an LLM call's tokens) even past the limit.
     */
    async record(
      organizationId: string,
      events: UsageEvent[],
      options: { enforce?: boolean; trx?: Kysely<Database> } = {},
    ): Promise<StoredUsage[]> {
      const enforce = options.enforce ?? true;
      const prepared = events.map((e) => prepare(e, deps.now()));
      if (prepared.length === 1 && !options.trx) {
        const { plan, outcome } = await recordOne(organizationId, prepared[0]!, enforce);
        return [answer(outcome, prepared[0]!, 0, plan)];
      }
      const db = options.trx ?? deps.db;
      for (let retry = 0; ; retry++) {
        // In a caller's transaction the plan is read with it; otherwise it comes from the cache.
        const plan = options.trx ? await currentPlanOf(options.trx, organizationId, deps.now()) : await deps.plans.get(organizationId);
        if (!plan) throw new AppError("SUBSCRIPTION_ENDED");
        try {
          const outcomes =
            prepared.length === 1
              ? [await meterOne(db, organizationId, plan, prepared[0]!, enforce)]
              : await meterBatch(db, organizationId, plan, prepared, enforce);
          if (outcomes[0]?.status !== "stale") return outcomes.map((o, i) => answer(o, prepared[i]!, i, plan));
        } catch (error) {
          // A stale plan raised inside a caller's transaction has aborted it: nothing to retry there.
          if (!isStale(error) || options.trx) throw translateMeterError(error, plan, events, deps.now());
        }
        if (retry > 0) throw new Error(`the plan of organization ${organizationId} changed twice while metering`);
        if (!options.trx) deps.plans.forget(organizationId);
      }
    },

    /**
     * Throws 429 `QUOTA_EXCEEDED` when `needs` would not fit the quotas now, without recording
     * anything: the check to make before work that cannot be undone (an LLM call), whose actual
     * usage is recorded afterwards with `enforce: false`.
     */
    async assertFits(organizationId: string, needs: Partial<Record<ResourceType, number>>): Promise<void> {
      const plan = await deps.plans.get(organizationId);
      if (!plan) throw new AppError("SUBSCRIPTION_ENDED");
      const types = Object.keys(needs) as ResourceType[];
      const rows = await deps.db
        .selectFrom("usage_counters")
        .select(["resource_type", "used"])
        .where("organization_id", "=", organizationId)
        .where("period_start", "=", plan.periodStart)
        .where("resource_type", "in", types)
        .execute();
      types.forEach((type, index) => {
        const used = Number(rows.find((r) => r.resource_type === type)?.used ?? 0);
        const limit = PERIOD_QUOTAS[type].limitOf(plan.quotas);
        const requested = needs[type] ?? 0;
        if (limit >= 0 && used + requested > limit) {
          throw errorOfOutcome({ status: "refused", used, stored: null }, { type, quantity: requested }, index, plan, deps.now());
        }
      });
    },
  };
}

export type UsageMeter = ReturnType<typeof createUsageMeter>;
