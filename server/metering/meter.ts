import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { currentPlanOf, type CurrentPlan } from "../billing/current-plan.ts";
import { AppError } from "../errors.ts";
import { createCoalescer } from "../db/coalescer.ts";
import type { PlanCache } from "./plan-cache.ts";
import { errorOfOutcome, translateMeterError, type Outcome, type StoredRow } from "./meter-outcomes.ts";
import { fromPrepared, fromStored, prepare, type PreparedEvent, type StoredUsage, type UsageEvent } from "./usage-events.ts";
import { PERIOD_QUOTAS, quotaArgument, type ResourceType } from "./quotas.ts";

const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

/** An event as meter_each() reads it (sql/0027's meter_event): the prepared event, its place and its plan. */
interface GatheredEvent extends PreparedEvent {
  ord: number;
  grp: number;
  organization_id: string;
  subscription_id: string;
  plan_id: string;
  period_start: string;
  period_end: string;
  /** The plan's metric this event counts against; null when none bounds it. */
  metric: string | null;
  quota_limit: number;
  enforce: boolean;
}

/** The events of one call waiting to be gathered, all recorded or none, with the plan they are checked against. */
interface Gathered {
  organizationId: string;
  plan: CurrentPlan;
  events: PreparedEvent[];
  enforce: boolean;
}

/**
 * How many times a call goes again when its batch held an earlier call with one of its keys
 * (`retry`). Each batch decides its first call sharing a key, so N calls sent at once with the same
 * keys take at most N batches; this bound only stops a fault from looping.
 */
const RETRIES = 100;

/**
 * How calls are gathered: one batch goes at once; more (up to three) may run beside it,
 * their round trips overlapping, so the server is not idle while Postgres works and the other way
 * round, but each only once 12 calls wait for it — smaller batches cost more per event than the wait
 * saves, and batches take turns on a busy organization's counter anyway. Measured with
 * scripts/bench/metering.ts (one organization, 32 calls in flight): one batch at a time did worse
 * (0.67 of the bare route against 0.75–0.84 for two), and so did a batch started for any waiting
 * call (0.57). Three beside each other did as well as two there, and better for workflow runs
 * (scripts/bench/workflow-http.ts), whose calls wait on several gathered statements in turn.
 */
const GATHERING = { maxInFlight: 3, minBatchWhileBusy: 12 };

/** A call with more events than this is its own batch: a statement's size stays bounded, and small calls do not wait for it. */
const ALONE = 100;

/** meter_each()'s answer for one event. */
interface RawOutcome {
  status: Outcome["status"];
  used: number | string | null;
  stored: StoredRow | null;
}

/**
 * Checks quotas and records usage in one statement: the events of concurrent calls gathered into
 * one meter_each() (sql/0027), each call's events all recorded or none, or meter_one() for a lone
 * event with nothing to gather it with; inside a caller's transaction, meter_one() or meter_usage()
 * (sql/0013). Concurrent callers can never push a counter past its limit, and a refused call records
 * nothing.
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

  /** meter_each() over the events of gathered calls, each call a group (sql/0027). */
  async function meterEach(items: Gathered[]): Promise<Outcome[][]> {
    let ord = 0;
    const events = items.flatMap(({ organizationId, plan, events, enforce }, grp) => {
      const [periodStart, periodEnd] = [plan.periodStart.toISOString(), plan.periodEnd.toISOString()];
      return events.map((event): GatheredEvent => {
        const quota = PERIOD_QUOTAS[event.type];
        // Spelled out rather than spread (the type makes sure no field of the event is left out): a
        // spread's copy makes every property after it a slow, shape-changing store, and this runs
        // once per event on the hot path.
        return {
          id: event.id,
          key: event.key,
          type: event.type,
          quantity: event.quantity,
          unit: event.unit,
          workspace_id: event.workspace_id,
          cost_amount: event.cost_amount,
          cost_scale: event.cost_scale,
          currency: event.currency,
          metadata: event.metadata,
          recorded_at: event.recorded_at,
          hour_start: event.hour_start,
          day_start: event.day_start,
          ord: ord++,
          grp,
          organization_id: organizationId,
          subscription_id: plan.subscriptionId,
          plan_id: plan.planId,
          period_start: periodStart,
          period_end: periodEnd,
          metric: quota.metric,
          quota_limit: quota.limitOf(plan.quotas),
          enforce,
        };
      });
    });
    const json = JSON.stringify(events);
    for (let attempt = 0; ; attempt++) {
      try {
        const { rows } = await sql<{ outcomes: RawOutcome[] }>`
          select meter_each(${deps.now().toISOString()}::timestamptz, ${json}::jsonb) as outcomes`.execute(deps.db);
        const outcomes = rows[0]!.outcomes.map((o) => ({
          status: o.status,
          used: o.used === null ? null : Number(o.used),
          stored: o.stored,
        }));
        let next = 0;
        return items.map((item) => outcomes.slice(next, (next += item.events.length)));
      } catch (error) {
        // A call's key stored meanwhile for another event undid the batch (MQ005): the next try sees it stored.
        if (codeOf(error) !== "MQ005" || attempt >= 3) throw error;
      }
    }
  }

  /** The calls of any organizations, gathered while other calls are in flight (see coalescer.ts). */
  const gathered = createCoalescer<Gathered, Outcome[]>(async (items) => {
    if (items.length === 1 && items[0]!.events.length === 1) {
      const [{ organizationId, plan, events, enforce }] = items as [Gathered];
      return [[await meterOne(deps.db, organizationId, plan, events[0]!, enforce)]];
    }
    return meterEach(items);
  }, GATHERING);

  /** One call's events through the gathered round trips, with the cached plan, read again if it went stale. */
  async function recordGathered(organizationId: string, events: PreparedEvent[], enforce: boolean) {
    let stales = 0;
    for (let attempt = 0; ; attempt++) {
      const plan = await deps.plans.get(organizationId);
      if (!plan) throw new AppError("SUBSCRIPTION_ENDED");
      const call = { organizationId, plan, events, enforce };
      const outcomes = events.length > ALONE ? (await meterEach([call]))[0]! : await gathered(call);
      const stale = outcomes.some((o) => o.status === "stale");
      if (!stale && !outcomes.some((o) => o.status === "retry")) return { plan, outcomes };
      if (stale && stales++ > 0) throw new Error(`the plan of organization ${organizationId} changed twice while metering`);
      if (stale) deps.plans.forget(organizationId);
      if (attempt >= RETRIES) throw new Error(`a call of organization ${organizationId} was sent again ${RETRIES} times while metering`);
    }
  }

  /**
   * The stored records of a call whose events were all recorded or replayed; otherwise the error of
   * the event at fault that comes first by metric, then position, as meter_usage() raises it.
   */
  function answers(outcomes: Outcome[], events: PreparedEvent[], plan: CurrentPlan): StoredUsage[] {
    const failed = outcomes
      .map((outcome, index) => ({ outcome, index, event: events[index]! }))
      .filter(({ outcome }) => outcome.status !== "recorded" && outcome.status !== "replayed" && outcome.status !== "withdrawn")
      .sort((a, b) => (a.event.type < b.event.type ? -1 : a.event.type > b.event.type ? 1 : a.index - b.index))[0];
    if (failed) throw errorOfOutcome(failed.outcome, failed.event, failed.index, plan, deps.now());
    return outcomes.map((outcome, index) => {
      if (outcome.status === "recorded") return fromPrepared(events[index]!, plan);
      if (outcome.status === "replayed") return fromStored(outcome.stored!);
      throw new Error(`meter_each answered ${outcome.status} for an event of a call that was recorded`);
    });
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
      if (!options.trx) {
        const { plan, outcomes } = await recordGathered(organizationId, prepared, enforce);
        return answers(outcomes, prepared, plan);
      }
      // In a caller's transaction the plan is read with it, and a stale one has aborted it: nothing to retry there.
      const plan = await currentPlanOf(options.trx, organizationId, deps.now());
      if (!plan) throw new AppError("SUBSCRIPTION_ENDED");
      try {
        const outcomes =
          prepared.length === 1
            ? [await meterOne(options.trx, organizationId, plan, prepared[0]!, enforce)]
            : await meterBatch(options.trx, organizationId, plan, prepared, enforce);
        if (outcomes[0]?.status === "stale") throw new Error(`the plan of organization ${organizationId} changed while metering`);
        return answers(outcomes, prepared, plan);
      } catch (error) {
        throw translateMeterError(error, plan, events, deps.now());
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
