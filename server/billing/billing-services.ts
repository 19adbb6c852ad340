import type { Logger } from "pino";
import type { BillingContext } from "./billing-context.ts";
import { createInvoiceService } from "./invoice-service.ts";
import { createPaymentEventService } from "./payment-events.ts";
import { createPeriodJob } from "./period-job.ts";
import { createPlanChangeService } from "./plan-change.ts";
import { createSubscriptionService } from "./subscription-service.ts";

/** Every service of subscriptions, invoices and payments, over one billing context. */
export function createBillingServices(ctx: BillingContext, logger?: Logger) {
  const subscriptions = createSubscriptionService(ctx);
  return {
    context: ctx,
    subscriptions,
    planChanges: createPlanChangeService(ctx, subscriptions),
    invoices: createInvoiceService(ctx),
    paymentEvents: createPaymentEventService(ctx),
    periodJob: createPeriodJob(ctx, logger),
  };
}

export type BillingServices = ReturnType<typeof createBillingServices>;
