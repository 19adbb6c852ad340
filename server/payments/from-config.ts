import { createManualProvider } from "./manual-provider.ts";
import type { PaymentProvider } from "./provider.ts";
import { createStripeProvider } from "./stripe-provider.ts";

/** The payment provider the configuration asks for, and a line saying which, for the start-up log. */
export function paymentProviderFromConfig(config: { STRIPE_SECRET_KEY?: string | undefined; STRIPE_WEBHOOK_SECRET?: string | undefined }): {
  provider: PaymentProvider;
  notice: string;
} {
  if (config.STRIPE_SECRET_KEY && config.STRIPE_WEBHOOK_SECRET) {
    return {
      provider: createStripeProvider({ secretKey: config.STRIPE_SECRET_KEY, webhookSecret: config.STRIPE_WEBHOOK_SECRET }),
      notice:
        "payments: Stripe (invoices are charged to the organization's default payment method; webhooks at /api/v1/billing/webhooks/stripe)",
    };
  }
  return {
    provider: createManualProvider(),
    notice: "payments: manual — STRIPE_SECRET_KEY is not set, so invoices stay open until an admin marks them paid or void",
  };
}
