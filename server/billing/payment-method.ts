import { AppError } from "../errors.ts";
import { PaymentMethodRejected, PaymentProviderUnavailable } from "../payments/provider.ts";
import type { BillingContext } from "./billing-context.ts";
import { selectBillingAccount, type OrganizationRef } from "./subscription-queries.ts";

/** What to save on the billing account once the change commits. */
export interface PreparedPaymentMethod {
  save?: { providerCustomerId?: string; defaultPaymentMethodId: string };
}

/** The provider's errors as the API's: a refused method is 422, an unreachable provider 503. */
export function providerError(error: unknown): unknown {
  if (error instanceof PaymentMethodRejected) return new AppError("PAYMENT_METHOD_INVALID", { cause: error });
  if (error instanceof PaymentProviderUnavailable) return new AppError("PAYMENT_PROVIDER_UNAVAILABLE", { cause: error });
  return error;
}

/**
 * Checks and prepares the payment method of a change, before its transaction: a method given is
 * attached at the provider (to the organization's customer, made if needed); none given while one is
 * `required` and the provider needs one, and none on file, is 422 `PAYMENT_METHOD_REQUIRED`.
 */
export async function preparePaymentMethod(
  ctx: BillingContext,
  org: OrganizationRef,
  options: { given: string | undefined; required: boolean },
): Promise<PreparedPaymentMethod> {
  const account = await selectBillingAccount(ctx.db, org);
  if (!options.given) {
    if (options.required && ctx.payments.requiresPaymentMethod && !account?.default_payment_method_id) {
      throw new AppError("PAYMENT_METHOD_REQUIRED");
    }
    return {};
  }
  try {
    const customerId = await ctx.payments.ensureCustomer(org.organizationId, account?.provider_customer_id ?? null);
    await ctx.payments.attachPaymentMethod(customerId, options.given);
    return { save: { ...(customerId ? { providerCustomerId: customerId } : {}), defaultPaymentMethodId: options.given } };
  } catch (error) {
    throw providerError(error);
  }
}
