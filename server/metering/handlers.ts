import type { UsageHandlers, WebhooksHandlers } from "../../generated/handlers.ts";
import { actorOf, scopeOf, type RequestContext } from "../http/context.ts";
import type { MeteringServices } from "./services.ts";
import { toUsageRecord } from "./usage-records.ts";

const page = (query: { cursor?: string; limit?: number }) => ({
  limit: query.limit ?? 20,
  ...(query.cursor ? { cursor: query.cursor } : {}),
});

/** The `Usage` interface of the spec. */
export function createUsageHandlers(m: MeteringServices): UsageHandlers<RequestContext> {
  return {
    async getUsage(_input, ctx) {
      return { status: 200, data: await m.usage.getUsage(scopeOf(ctx)) };
    },
    async getUsageHistory({ query }, ctx) {
      const { metricType, granularity, startDate, endDate, workspaceId } = query;
      const filters = { ...(startDate ? { startDate } : {}), ...(endDate ? { endDate } : {}), ...(workspaceId ? { workspaceId } : {}) };
      return { status: 200, data: await m.usage.history(scopeOf(ctx), { metricType, granularity: granularity ?? "day", ...filters }) };
    },
    async getQuotaWarnings({ query }, ctx) {
      const options = {
        currentPeriodOnly: query.currentPeriodOnly ?? false,
        ...(query.metric ? { metric: query.metric } : {}),
        ...page(query),
      };
      return { status: 200, data: await m.usage.warnings(scopeOf(ctx), options) };
    },
    // The metering hook recorded the batch with the call (usage-records.ts).
    async recordUsage(_input, ctx) {
      return { status: 201, data: { records: m.routeMeter.recordedFor(ctx).map(toUsageRecord) } };
    },
  };
}

/** The `Webhooks` interface of the spec. */
export function createWebhooksHandlers(m: MeteringServices): WebhooksHandlers<RequestContext> {
  return {
    async getWebhook(_input, ctx) {
      return { status: 200, data: await m.webhooks.get(scopeOf(ctx)) };
    },
    async setWebhook({ body }, ctx) {
      return { status: 200, data: await m.webhooks.set(scopeOf(ctx), body, actorOf(ctx)) };
    },
    async deleteWebhook(_input, ctx) {
      return { status: 200, data: await m.webhooks.remove(scopeOf(ctx), actorOf(ctx)) };
    },
    async listWebhookDeliveries({ query }, ctx) {
      return { status: 200, data: await m.webhooks.deliveries(scopeOf(ctx), page(query)) };
    },
  };
}
