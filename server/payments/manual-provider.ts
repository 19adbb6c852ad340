import { WebhookSignatureInvalid, type PaymentProvider } from "./provider.ts";

/**
 * No payment provider: invoices are sent (`send_invoice`) and stay open until an admin marks them
 * paid, void or uncollectible. Payment methods given are kept as references only.
 */
export function createManualProvider(): PaymentProvider {
  return {
    name: "manual",
    collectionMethod: "send_invoice",
    requiresPaymentMethod: false,
    async ensureCustomer() {
      return null;
    },
    async attachPaymentMethod() {},
    async charge() {
      throw new Error("the manual provider charges nothing: its invoices are sent, not charged");
    },
    verifyWebhook() {
      throw new WebhookSignatureInvalid("no payment provider is configured to send webhooks");
    },
    readEvent() {
      throw new Error("the manual provider has no webhooks");
    },
  };
}
