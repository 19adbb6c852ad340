import Stripe from "stripe";
import {
  PaymentMethodRejected,
  PaymentProviderUnavailable,
  WebhookSignatureInvalid,
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentEvent,
  type PaymentProvider,
} from "./provider.ts";

/** Stripe's default tolerance for a webhook signature's age, which we keep. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** How to reach Stripe. `api` points the SDK elsewhere (tests: a local server that plays Stripe). */
export interface StripeProviderOptions {
  secretKey: string;
  webhookSecret: string;
  api?: { host: string; port: number; protocol: "http" | "https" };
  maxNetworkRetries?: number;
}

/** A fault of Stripe or of the way there, as opposed to a refusal of the request. */
function isUnavailable(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  );
}

function unavailable(error: unknown): PaymentProviderUnavailable {
  return new PaymentProviderUnavailable(`Stripe is unavailable: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

/** Stripe amounts are integers in the JSON; ours are bigint and stay exact below 2^53. */
function toStripeAmount(amountMinor: bigint): number {
  const amount = Number(amountMinor);
  if (!Number.isSafeInteger(amount) || amount < 0) throw new Error(`amount ${amountMinor} cannot be sent to Stripe`);
  return amount;
}

function outcomeOf(intent: Stripe.PaymentIntent): ChargeOutcome {
  if (intent.status === "succeeded") return { status: "succeeded", paymentId: intent.id };
  if (intent.status === "processing") return { status: "pending", paymentId: intent.id };
  return { status: "failed", paymentId: intent.id, reason: intent.last_payment_error?.message ?? `payment ${intent.status}` };
}

/** The parts of a PaymentIntent event we read; the rest of Stripe's object is kept in the payload. */
function toPaymentEvent(event: Stripe.Event): PaymentEvent {
  const object = event.data.object as Partial<Stripe.PaymentIntent> & { object?: string };
  const isIntent = object.object === "payment_intent";
  const invoiceId = isIntent ? (object.metadata?.invoiceId ?? null) : null;
  return {
    id: event.id,
    type: event.type,
    invoiceId,
    paymentId: isIntent ? (object.id ?? null) : null,
    amountMinor: isIntent && typeof object.amount_received === "number" ? BigInt(object.amount_received) : null,
    currency: isIntent && object.currency ? object.currency.toUpperCase() : null,
    failureReason: isIntent ? (object.last_payment_error?.message ?? null) : null,
    payload: event,
  };
}

/**
 * The real payment provider: a Stripe customer per organization, its default payment method attached
 * to it, and each invoice charged off-session as a PaymentIntent whose metadata names the invoice
 * (idempotency key per invoice and attempt, so a retried request never charges twice). Webhooks are
 * verified with `constructEvent` and Stripe's 300-second tolerance, against the server's clock.
 */
export function createStripeProvider(options: StripeProviderOptions): PaymentProvider {
  const stripe = new Stripe(options.secretKey, {
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: 20_000,
    ...(options.api ?? {}),
  });

  return {
    name: "stripe",
    collectionMethod: "charge_automatically",
    requiresPaymentMethod: true,

    async ensureCustomer(organizationId, existing) {
      if (existing) return existing;
      try {
        const customer = await stripe.customers.create({ metadata: { organizationId } }, { idempotencyKey: `customer-${organizationId}` });
        return customer.id;
      } catch (error) {
        throw unavailable(error);
      }
    },

    async attachPaymentMethod(customerId, paymentMethodId) {
      if (!customerId) throw new Error("a Stripe payment method needs a customer");
      try {
        await stripe.paymentMethods.attach(paymentMethodId, { customer: customerId });
      } catch (error) {
        if (isUnavailable(error)) throw unavailable(error);
        throw new PaymentMethodRejected(error instanceof Error ? error.message : String(error), { cause: error });
      }
    },

    async charge(request: ChargeRequest) {
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: toStripeAmount(request.amountMinor),
            currency: request.currency.toLowerCase(),
            customer: request.customerId,
            payment_method: request.paymentMethodId,
            confirm: true,
            off_session: true,
            metadata: { invoiceId: request.invoiceId, organizationId: request.organizationId },
          },
          { idempotencyKey: `invoice-${request.invoiceId}-attempt-${request.attempt}` },
        );
        return outcomeOf(intent);
      } catch (error) {
        if (error instanceof Stripe.errors.StripeCardError || error instanceof Stripe.errors.StripeInvalidRequestError) {
          const intent = (error as { payment_intent?: { id?: string } }).payment_intent;
          return { status: "failed", paymentId: intent?.id ?? null, reason: error.message };
        }
        throw unavailable(error);
      }
    },

    verifyWebhook(rawBody, signature, receivedAt) {
      if (!signature) throw new WebhookSignatureInvalid("no Stripe-Signature header");
      try {
        stripe.webhooks.constructEvent(
          rawBody,
          signature,
          options.webhookSecret,
          WEBHOOK_TOLERANCE_SECONDS,
          undefined,
          receivedAt.getTime(),
        );
      } catch (error) {
        throw new WebhookSignatureInvalid(error instanceof Error ? error.message : String(error), { cause: error });
      }
    },

    readEvent(body) {
      return toPaymentEvent(body as Stripe.Event);
    },
  };
}
