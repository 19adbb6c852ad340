import type { OperationId } from "../../generated/handler-types.ts";
import type { RequestContext } from "../http/context.ts";
import type { ValidatedInput } from "../http/request-validation.ts";
import { newId } from "../ids.ts";
import type { UsageMeter } from "./meter.ts";
import type { StoredUsage, UsageEvent } from "./usage-events.ts";
import { PERIOD_QUOTAS, type ResourceType } from "./quotas.ts";

/**
 * Usage a metered operation's request carries besides its call's unit (`recordUsage`'s records),
 * made from its validated input once the caller may make it (a check that fails throws, before
 * anything is recorded), and the key that makes a retry of the request the same call when the client
 * sends no `Idempotency-Key`.
 */
export type CarriedUsage = (input: ValidatedInput, ctx: RequestContext) => { events: UsageEvent[]; callKey: string };

/**
 * The hook `bindRoutes` calls for every operation the spec marks `@metered("<metric>")`, after
 * authentication, tenant resolution and request validation and before the handler:
 *
 * - it records one unit of the metric for the organization of the request — the tenant its path
 *   names (and the workspace, when the path names one), or the organization of its API key;
 * - in the same statement it checks the quota, so a call that does not fit answers 429
 *   `QUOTA_EXCEEDED` (with `Retry-After` and the `X-Quota-*` headers) and its handler never runs;
 * - an operation that carries usage of its own (`carried`) has it checked and recorded with the
 *   unit, all or none, and its handler reads what was stored with `recordedFor(ctx)`;
 * - a client's `Idempotency-Key` header makes retries of one call count once; without it every
 *   call counts, but for an operation that carries usage: the key of its usage is the call's;
 * - the unit stays recorded whatever the handler then answers, faults included.
 *
 * A metered operation must therefore name a tenant in its path or use an API key; its spec should
 * take `Platform.Metering.MeteredCallHeaders` and list `Platform.Metering.QuotaExceededError`.
 */
export function createRouteMeter(meter: UsageMeter, carried: Partial<Record<OperationId, CarriedUsage>> = {}) {
  const recorded = new WeakMap<RequestContext, StoredUsage[]>();

  async function meterRoute(ctx: RequestContext, input: ValidatedInput): Promise<void> {
    const { operationId } = ctx.route;
    const resourceType = ctx.route.metered as ResourceType;
    if (!(resourceType in PERIOD_QUOTAS)) throw new Error(`operation ${operationId} is metered by unknown metric ${resourceType}`);
    const organizationId = ctx.scope?.organizationId ?? (ctx.principal?.kind === "apiKey" ? ctx.principal.organizationId : null);
    if (!organizationId) throw new Error(`metered operation ${operationId} names no organization`);
    const usage = carried[operationId as OperationId]?.(input, ctx) ?? null;
    const clientKey = input.headers["Idempotency-Key"] as string | undefined;
    const unit: UsageEvent = {
      // Client keys are namespaced by operation; our own are UUID v7, so the key index grows at its end.
      idempotencyKey: clientKey ? `${operationId}:${clientKey}` : usage ? `${operationId}:usage:${usage.callKey}` : `request:${newId()}`,
      resourceType,
      quantity: 1,
      workspaceId: ctx.scope?.workspaceId ?? null,
      metadata: { operationId, requestId: ctx.requestId },
    };
    // The unit goes last, so the carried events keep their positions in what is stored (and in errors).
    const stored = await meter.record(organizationId, usage ? [...usage.events, unit] : [unit]);
    if (usage) recorded.set(ctx, stored.slice(0, -1));
  }

  return {
    meterRoute,
    /** What the hook stored of the usage the call carried (replays included), in its order. */
    recordedFor(ctx: RequestContext): StoredUsage[] {
      const stored = recorded.get(ctx);
      if (!stored) throw new Error(`operation ${ctx.route.operationId} carries no metered usage, or ran unmetered`);
      return stored;
    },
  };
}

export type RouteMeter = ReturnType<typeof createRouteMeter>;
