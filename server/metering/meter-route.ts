import type { RequestContext } from "../http/context.ts";
import { newId } from "../ids.ts";
import type { UsageMeter } from "./meter.ts";
import { PERIOD_QUOTAS, type ResourceType } from "./quotas.ts";

/**
 * The hook `bindRoutes` calls for every operation the spec marks `@metered("<metric>")`, after
 * authentication, tenant resolution and request validation and before the handler:
 *
 * - it records one unit of the metric for the organization of the request — the tenant its path
 *   names (and the workspace, when the path names one), or the organization of its API key;
 * - in the same statement it checks the quota, so a call that does not fit answers 429
 *   `QUOTA_EXCEEDED` (with `Retry-After` and the `X-Quota-*` headers) and its handler never runs;
 * - a client's `Idempotency-Key` header makes retries of one call count once; without it every
 *   call counts;
 * - the unit stays recorded whatever the handler then answers, faults included.
 *
 * A metered operation must therefore name a tenant in its path or use an API key; its spec should
 * list `Platform.Metering.QuotaExceededError` to document the 429.
 */
export function createRouteMeter(meter: UsageMeter) {
  return async function meterRoute(ctx: RequestContext, idempotencyKey: string | null): Promise<void> {
    const resourceType = ctx.route.metered as ResourceType;
    if (!(resourceType in PERIOD_QUOTAS))
      throw new Error(`operation ${ctx.route.operationId} is metered by unknown metric ${resourceType}`);
    const organizationId = ctx.scope?.organizationId ?? (ctx.principal?.kind === "apiKey" ? ctx.principal.organizationId : null);
    if (!organizationId) throw new Error(`metered operation ${ctx.route.operationId} names no organization`);
    await meter.record(organizationId, [
      {
        // Client keys are namespaced by operation; our own are UUID v7, so the key index grows at its end.
        idempotencyKey: idempotencyKey ? `${ctx.route.operationId}:${idempotencyKey}` : `request:${newId()}`,
        resourceType,
        quantity: 1,
        workspaceId: ctx.scope?.workspaceId ?? null,
        metadata: { operationId: ctx.route.operationId, requestId: ctx.requestId },
      },
    ]);
  };
}
