/** How a provider's invoices are paid: charged when finalized, or sent and marked paid by an admin. */
export type CollectionMethod = "charge_automatically" | "send_invoice";

/** What one charge of an invoice came to. */
export type ChargeOutcome =
  | { status: "succeeded"; paymentId: string }
  /** Accepted but not settled (e.g. waiting for the customer's bank); a webhook settles it. */
  | { status: "pending"; paymentId: string }
  | { status: "failed"; paymentId: string | null; reason: string };

/** One charge to make: an invoice's total, once per attempt (the idempotency key says which). */
export interface ChargeRequest {
  invoiceId: string;
  organizationId: string;
  customerId: string;
  paymentMethodId: string;
  amountMinor: bigint;
  currency: string;
  attempt: number;
}

/** A verified webhook event, reduced to what billing acts on. */
export interface PaymentEvent {
  id: string;
  type: string;
  /** The invoice the payment was for (our id, from the payment's metadata), when the event names one. */
  invoiceId: string | null;
  paymentId: string | null;
  /** The amount received, in minor units, for a succeeded payment. */
  amountMinor: bigint | null;
  currency: string | null;
  /** Why a payment failed. */
  failureReason: string | null;
  payload: unknown;
}

/** The payment provider refused a payment method (unknown, expired, another customer's). */
export class PaymentMethodRejected extends Error {
  override readonly name = "PaymentMethodRejected";
}

/** The payment provider could not be reached or answered with a fault; nothing was done there. */
export class PaymentProviderUnavailable extends Error {
  override readonly name = "PaymentProviderUnavailable";
}

/** A webhook whose signature is missing, wrong or too old. */
export class WebhookSignatureInvalid extends Error {
  override readonly name = "WebhookSignatureInvalid";
}

/**
 * What billing needs of a payment provider. Two exist: `manual` (no provider: invoices are sent and
 * an admin marks them) and `stripe`. Billing never calls a provider inside a database transaction.
 */
export interface PaymentProvider {
  readonly name: "manual" | "stripe";
  readonly collectionMethod: CollectionMethod;
  /** Whether a paid plan needs a payment method to be charged. */
  readonly requiresPaymentMethod: boolean;
  /** The provider's customer for the organization, made when `existing` is null; null for `manual`. */
  ensureCustomer(organizationId: string, existing: string | null): Promise<string | null>;
  /** Attaches a payment method to the customer so it can be charged; throws `PaymentMethodRejected`. */
  attachPaymentMethod(customerId: string | null, paymentMethodId: string): Promise<void>;
  /** Charges an invoice; a refused card is a `failed` outcome, an unreachable provider throws `PaymentProviderUnavailable`. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Verifies a webhook's signature against its raw body; throws `WebhookSignatureInvalid`. */
  verifyWebhook(rawBody: string, signature: string | undefined, receivedAt: Date): void;
  /** The event of a webhook body whose signature `verifyWebhook` accepted. */
  readEvent(body: unknown): PaymentEvent;
}
