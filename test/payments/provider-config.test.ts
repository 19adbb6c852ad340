import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config.ts";
import { paymentProviderFromConfig } from "../../server/payments/from-config.ts";

describe("choosing the payment provider at start-up", () => {
  it("uses the manual provider without a Stripe key, and says so", () => {
    const config = loadConfig({ STRIPE_SECRET_KEY: "", STRIPE_WEBHOOK_SECRET: "" });
    const { provider, notice } = paymentProviderFromConfig(config);
    expect([provider.name, provider.collectionMethod, provider.requiresPaymentMethod]).toEqual(["manual", "send_invoice", false]);
    expect(notice).toBe("payments: manual — STRIPE_SECRET_KEY is not set, so invoices stay open until an admin marks them paid or void");
  });

  it("uses Stripe with a key and a webhook secret", () => {
    const config = loadConfig({ STRIPE_SECRET_KEY: "sk_test_123", STRIPE_WEBHOOK_SECRET: "whsec_123" });
    const { provider, notice } = paymentProviderFromConfig(config);
    expect([provider.name, provider.collectionMethod, provider.requiresPaymentMethod]).toEqual(["stripe", "charge_automatically", true]);
    expect(notice).toMatch(/^payments: Stripe/);
  });

  it("refuses to start with one Stripe setting and not the other, or a bad billing setting", () => {
    expect(() => loadConfig({ STRIPE_SECRET_KEY: "sk_test_123" })).toThrow(
      "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET: set both, or neither",
    );
    expect(() => loadConfig({ BILLING_GRACE_DAYS: "-1" })).toThrow(/BILLING_GRACE_DAYS/);
    expect(loadConfig({})).toMatchObject({ BILLING_GRACE_DAYS: 7, INVOICE_DUE_DAYS: 14, BILLING_JOB_INTERVAL_MS: 60_000 });
  });
});
