import type { PlansHandlers } from "../../generated/handlers.ts";
import type { RequestContext } from "../http/context.ts";
import type { PlanService } from "./plan-service.ts";

/** The `Plans` interface of the spec: the public plan catalogue. */
export function createPlansHandlers(plans: PlanService): PlansHandlers<RequestContext> {
  return {
    async listPlans({ query }) {
      const data = await plans.listPlans({
        includeArchived: query.includeArchived ?? false,
        limit: query.limit ?? 20,
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      return { status: 200, data };
    },

    async getPlan({ path }) {
      return { status: 200, data: await plans.getPlan(path.planId) };
    },
  };
}
