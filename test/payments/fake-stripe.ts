import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake received: method, path, form body (flattened keys such as `metadata[invoiceId]`) and idempotency key. */
export interface StripeRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  idempotencyKey: string | null;
}

/**
 * The payment methods the fake knows, by how they behave (named like Stripe's test methods):
 * `pm_card_visa` pays, `pm_card_chargeDeclined` is declined, `pm_card_processing` stays
 * processing; any other id cannot be attached (`resource_missing`).
 */
const METHODS = new Set(["pm_card_visa", "pm_card_chargeDeclined", "pm_card_processing"]);

/**
 * A local HTTP server on 127.0.0.1 that plays the few Stripe endpoints our code calls: creating a
 * customer, attaching a payment method, and creating a confirmed PaymentIntent. Like Stripe, it
 * answers a repeated idempotency key with the first answer. It records every request.
 */
export async function startFakeStripe() {
  const requests: StripeRequest[] = [];
  const byKey = new Map<string, { status: number; body: unknown }>();
  let customers = 0;
  let intents = 0;

  function answer(req: StripeRequest): { status: number; body: unknown } {
    if (req.method === "POST" && req.path === "/v1/customers") {
      customers += 1;
      return {
        status: 200,
        body: { id: `cus_test${customers}`, object: "customer", metadata: { organizationId: req.params["metadata[organizationId]"] } },
      };
    }
    const attach = /^\/v1\/payment_methods\/([^/]+)\/attach$/.exec(req.path);
    if (req.method === "POST" && attach) {
      const id = decodeURIComponent(attach[1]!);
      if (!METHODS.has(id)) {
        return {
          status: 400,
          body: {
            error: {
              type: "invalid_request_error",
              code: "resource_missing",
              param: "payment_method",
              message: `No such PaymentMethod: '${id}'`,
            },
          },
        };
      }
      return { status: 200, body: { id, object: "payment_method", customer: req.params.customer } };
    }
    if (req.method === "POST" && req.path === "/v1/payment_intents") {
      intents += 1;
      const intent = {
        id: `pi_test${intents}`,
        object: "payment_intent",
        amount: Number(req.params.amount),
        amount_received: 0,
        currency: req.params.currency,
        customer: req.params.customer,
        payment_method: req.params.payment_method,
        metadata: { invoiceId: req.params["metadata[invoiceId]"], organizationId: req.params["metadata[organizationId]"] },
        status: "succeeded",
        last_payment_error: null as null | { code: string; message: string },
      };
      if (req.params.payment_method === "pm_card_chargeDeclined") {
        const declined = {
          ...intent,
          status: "requires_payment_method",
          last_payment_error: { code: "card_declined", message: "Your card was declined." },
        };
        return {
          status: 402,
          body: {
            error: {
              type: "card_error",
              code: "card_declined",
              decline_code: "generic_decline",
              message: "Your card was declined.",
              payment_intent: declined,
            },
          },
        };
      }
      if (req.params.payment_method === "pm_card_processing") return { status: 200, body: { ...intent, status: "processing" } };
      return { status: 200, body: { ...intent, amount_received: intent.amount } };
    }
    return {
      status: 404,
      body: { error: { type: "invalid_request_error", message: `Unrecognized request URL (${req.method}: ${req.path})` } },
    };
  }

  async function handle(incoming: IncomingMessage, res: ServerResponse) {
    let text = "";
    for await (const chunk of incoming) text += String(chunk);
    const url = new URL(incoming.url ?? "/", "http://127.0.0.1");
    const key = incoming.headers["idempotency-key"];
    const req: StripeRequest = {
      method: incoming.method ?? "GET",
      path: url.pathname,
      params: Object.fromEntries(new URLSearchParams(text)),
      idempotencyKey: typeof key === "string" ? key : null,
    };
    requests.push(req);
    const cached = req.idempotencyKey ? byKey.get(`${req.path} ${req.idempotencyKey}`) : undefined;
    const result = cached ?? answer(req);
    if (req.idempotencyKey && !cached) byKey.set(`${req.path} ${req.idempotencyKey}`, result);
    res.writeHead(result.status, { "content-type": "application/json", "request-id": `req_${requests.length}` });
    res.end(JSON.stringify(result.body));
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    requests,
    /** The requests to one path, in order. */
    requestsTo: (path: string | RegExp) => requests.filter((r) => (typeof path === "string" ? r.path === path : path.test(r.path))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeStripe = Awaited<ReturnType<typeof startFakeStripe>>;
