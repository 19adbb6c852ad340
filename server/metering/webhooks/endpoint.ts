import { sendToCheckedAddress } from "../../net/checked-request.ts";
import type { HostResolver } from "../../net/public-address.ts";

/**
 * Where webhooks may be delivered. Off by default, private, loopback and link-local addresses are
 * refused, so a webhook cannot make the delivery log a scanner of our own network; the server turns
 * it on with `WEBHOOK_ALLOW_PRIVATE_NETWORK` for local development, tests turn it on to deliver to
 * 127.0.0.1.
 */
export interface WebhookNetworkPolicy {
  /** Allow private, loopback, link-local and unique-local addresses. Off unless set. */
  allowPrivateNetwork?: boolean;
  /** DNS for the delivery check; the system resolver when omitted. */
  resolveHost?: HostResolver;
}

/**
 * POSTs `body` to `url` and answers the endpoint's status, reading no further. The host is resolved
 * and every address checked first, and the connection is pinned to a checked address, so a DNS
 * answer that changes in between cannot lead it elsewhere. Redirects are not followed: a 3xx is the
 * endpoint's answer like any other. Throws `PublicAddressError` for a refused or unknown host.
 *
 * @example
 * const status = await postToEndpoint(webhook.url, { headers, body, signal: AbortSignal.timeout(10_000) }, policy);
 */
export async function postToEndpoint(
  url: string,
  request: { headers: Record<string, string>; body: string; signal: AbortSignal },
  policy: WebhookNetworkPolicy,
): Promise<number> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new Error(`${target.protocol} URLs are not delivered to`);
  const headers = { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) };
  const response = await sendToCheckedAddress(target, { method: "POST", headers, body: request.body, signal: request.signal }, policy);
  response.destroy();
  return response.statusCode ?? 0;
}
