import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { countTeamMembers, createCountQuotas, type CountedQuotaKey, type LiveCount } from "./count-quota.ts";
import { createLlmMetering } from "./llm-usage.ts";
import { createUsageMeter } from "./meter.ts";
import { createRouteMeter } from "./meter-route.ts";
import { createPlanCache } from "./plan-cache.ts";
import { recordBatchUsage } from "./usage-records.ts";
import { createUsageService } from "./usage-service.ts";
import { createSecretBox } from "./webhooks/secret-box.ts";
import type { WebhookNetworkPolicy } from "./webhooks/endpoint.ts";
import { createWebhookService } from "./webhooks/service.ts";

/**
 * The metering module's services. `liveCounts` lets the modules that own workflows, datasets and
 * stored files count them for their count quotas; team members are counted here.
 */
export function createMeteringServices(deps: {
  db: Kysely<Database>;
  now: () => Date;
  authSecret: string;
  liveCounts?: Partial<Record<CountedQuotaKey, LiveCount>>;
  /** Where webhooks may point; public addresses only unless it allows more. */
  webhooks?: WebhookNetworkPolicy;
}) {
  const { db, now } = deps;
  const plans = createPlanCache({ db, now });
  const meter = createUsageMeter({ db, now, plans });
  const counts = createCountQuotas({ now, liveCounts: { team_members: countTeamMembers, ...deps.liveCounts } });
  return {
    plans,
    meter,
    counts,
    usage: createUsageService({ db, now, counts }),
    webhooks: createWebhookService({ db, now, box: createSecretBox(deps.authSecret), network: deps.webhooks }),
    /** The hook of `bindRoutes` for metered operations (its `meterRoute` is the `meter` option). */
    routeMeter: createRouteMeter(meter, { recordUsage: recordBatchUsage(now) }),
    meterLlmCall: createLlmMetering(meter),
  };
}

export type MeteringServices = ReturnType<typeof createMeteringServices>;
