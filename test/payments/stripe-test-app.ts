import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import Stripe from "stripe";
import { createApp } from "../../server/app.ts";
import { createOutboxMailer } from "../../server/auth/mailer.ts";
import { DEFAULT_BILLING_POLICY } from "../../server/billing/billing-context.ts";
import { createPeriodJob } from "../../server/billing/period-job.ts";
import { createStripeProvider } from "../../server/payments/stripe-provider.ts";
import { contractClient, TEST_AUTH_SECRET, type TestApp, type TestResponse } from "../harness.ts";
import type { FakeStripe } from "./fake-stripe.ts";

/** The webhook signing secret of the test Stripe account. */
export const WEBHOOK_SECRET = "whsec_test_secret_for_the_fake_stripe";

const signer = new Stripe("sk_test_signer");

/**
 * The real app with the Stripe provider, over the test app's database and clock, with the SDK
 * pointed at the fake Stripe on 127.0.0.1. Tokens signed by either app work on both, so the
 * harness's fixtures (sign-up, tenants, members) run on `api` and billing calls here. Every
 * response is checked against the contract, as the harness does.
 */
export function stripeAppOver(api: TestApp, fake: FakeStripe | { port: number }) {
  const payments = createStripeProvider({
    secretKey: "sk_test_fake",
    webhookSecret: WEBHOOK_SECRET,
    api: { host: "127.0.0.1", port: fake.port, protocol: "http" },
    maxNetworkRetries: 0,
  });
  const logger = pino({ level: "silent" });
  const app = createApp({
    db: api.db,
    logger,
    authSecret: TEST_AUTH_SECRET,
    mailer: createOutboxMailer(mkdtempSync(join(tmpdir(), "outbox-")), logger),
    now: api.clock.now,
    billing: { payments },
  });

  const client = contractClient(app);

  return {
    payments,
    /** Calls an operation by its operationId, like the harness's `call`. */
    call: client.call,
    /** Delivers a webhook whose raw body is `payload`, signed (unless `signature` is given) at the app's clock. */
    deliver(payload: string, signature?: string | null): Promise<TestResponse> {
      const header =
        signature === undefined
          ? signer.webhooks.generateTestHeaderString({
              payload,
              secret: WEBHOOK_SECRET,
              timestamp: Math.floor(api.clock.now().getTime() / 1000),
            })
          : signature;
      return client.raw("POST", "/api/v1/billing/webhooks/stripe", {
        body: payload,
        headers: { "content-type": "application/json", ...(header === null ? {} : { "stripe-signature": header }) },
      });
    },
    /** The period job with this provider, for these organizations only. */
    closePeriods: (...tenants: { organizationId: string }[]) =>
      createPeriodJob({ db: api.db, now: api.clock.now, payments, policy: DEFAULT_BILLING_POLICY }).run({
        organizationIds: tenants.map((t) => t.organizationId),
      }),
  };
}

/** A Stripe event about a PaymentIntent of one of our invoices, as Stripe would send it (pretty-printed, like Stripe). */
export function paymentIntentEvent(
  type: "payment_intent.succeeded" | "payment_intent.payment_failed",
  options: { eventId: string; invoiceId: string; amount: number; intentId?: string; created: Date },
): string {
  const succeeded = type === "payment_intent.succeeded";
  return JSON.stringify(
    {
      id: options.eventId,
      object: "event",
      api_version: "2026-10-28.endive",
      created: Math.floor(options.created.getTime() / 1000),
      livemode: false,
      type,
      data: {
        object: {
          id: options.intentId ?? "pi_from_webhook",
          object: "payment_intent",
          amount: options.amount,
          amount_received: succeeded ? options.amount : 0,
          currency: "usd",
          status: succeeded ? "succeeded" : "requires_payment_method",
          metadata: { invoiceId: options.invoiceId },
          last_payment_error: succeeded ? null : { code: "card_declined", message: "Your card was declined." },
        },
      },
    },
    null,
    2,
  );
}
