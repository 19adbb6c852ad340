import type { Authenticator } from "../http/bind-routes.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import { WebhookSignatureInvalid, type PaymentProvider } from "./provider.ts";

/**
 * The `StripeSignature` scheme: the webhook's signature over its raw body is its only credential.
 * It runs before the body is validated and reads the body as text; Hono keeps that text, so the
 * handler's parsed body is the very bytes that were verified. A bad signature is a 400, as Stripe
 * expects; there is no principal.
 */
export function stripeSignatureAuthenticator(payments: PaymentProvider, now: () => Date): Authenticator {
  return async function authenticateStripeSignature(c) {
    const rawBody = await c.req.text();
    try {
      payments.verifyWebhook(rawBody, c.req.header("stripe-signature"), now());
    } catch (error) {
      if (!(error instanceof WebhookSignatureInvalid)) throw error;
      const text =
        payments.name === "stripe"
          ? message("The webhook's signature is missing, wrong or too old.", "Webhook 签名缺失、错误或已过期。")
          : message(
              "Stripe is not configured on this server, so no webhook can be verified.",
              "本服务器未配置 Stripe，无法验证任何 Webhook。",
            );
      throw new AppError("WEBHOOK_SIGNATURE_INVALID", { message: text, cause: error });
    }
    return { principal: null };
  };
}
