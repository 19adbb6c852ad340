import type { InvoicesHandlers, PaymentWebhooksHandlers, SubscriptionsHandlers } from "../../generated/handlers.ts";
import { actorOf, scopeOf, type RequestContext } from "../http/context.ts";
import type { BillingServices } from "./billing-services.ts";

/** The `Subscriptions` interface of the spec. */
export function createSubscriptionsHandlers(s: BillingServices): SubscriptionsHandlers<RequestContext> {
  return {
    async getSubscription(_input, ctx) {
      return { status: 200, data: await s.subscriptions.get(scopeOf(ctx)) };
    },
    async createSubscription({ body }, ctx) {
      return { status: 201, data: await s.subscriptions.create(scopeOf(ctx), body, actorOf(ctx)) };
    },
    async changePlan({ body }, ctx) {
      return { status: 200, data: await s.planChanges.changePlan(scopeOf(ctx), body, actorOf(ctx)) };
    },
    async cancelSubscription({ body }, ctx) {
      return { status: 200, data: await s.subscriptions.cancel(scopeOf(ctx), body, actorOf(ctx)) };
    },
    async resumeSubscription(_input, ctx) {
      return { status: 200, data: await s.subscriptions.resume(scopeOf(ctx), actorOf(ctx)) };
    },
  };
}

/** The `Invoices` interface of the spec. */
export function createInvoicesHandlers(s: BillingServices): InvoicesHandlers<RequestContext> {
  return {
    async listInvoices({ query }, ctx) {
      const options = {
        limit: query.limit ?? 20,
        ...(query.cursor ? { cursor: query.cursor } : {}),
        ...(query.status ? { status: query.status } : {}),
      };
      return { status: 200, data: await s.invoices.list(scopeOf(ctx), options) };
    },
    async getInvoice({ path }, ctx) {
      return { status: 200, data: await s.invoices.get(scopeOf(ctx), path.invoiceId) };
    },
    async markInvoicePaid({ path, body }, ctx) {
      return { status: 200, data: await s.invoices.markPaid(scopeOf(ctx), path.invoiceId, body, actorOf(ctx)) };
    },
    async voidInvoice({ path }, ctx) {
      return { status: 200, data: await s.invoices.void(scopeOf(ctx), path.invoiceId, actorOf(ctx)) };
    },
    async markInvoiceUncollectible({ path }, ctx) {
      return { status: 200, data: await s.invoices.markUncollectible(scopeOf(ctx), path.invoiceId, actorOf(ctx)) };
    },
  };
}

/** The `PaymentWebhooks` interface of the spec. The `StripeSignature` scheme has verified the body before this runs. */
export function createPaymentWebhooksHandlers(s: BillingServices): PaymentWebhooksHandlers<RequestContext> {
  return {
    async receiveStripeWebhook({ body }) {
      return { status: 200, data: await s.paymentEvents.receive(s.context.payments.readEvent(body)) };
    },
  };
}
