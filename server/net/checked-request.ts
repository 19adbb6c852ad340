import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { pinnedLookup, resolveCheckedAddresses, type HostResolver } from "./public-address.ts";

/** Where a request may go: private, loopback and link-local addresses only when allowed. */
export interface AddressPolicy {
  allowPrivateNetwork?: boolean;
  /** DNS for the check; the system resolver when omitted. */
  resolveHost?: HostResolver;
}

/**
 * Sends one http(s) request and answers the response as it starts (the caller reads or drops the
 * body). The host is resolved and every address checked first, and the connection is pinned to a
 * checked address, so a DNS answer that changes in between cannot lead it elsewhere. Redirects are
 * the caller's business. Throws `PublicAddressError` for a refused or unknown host, and the
 * connection's own error (or the signal's reason, once aborted) otherwise.
 *
 * @example
 * const response = await sendToCheckedAddress(new URL(url), { method: "POST", headers, body, signal }, { allowPrivateNetwork: false });
 */
export async function sendToCheckedAddress(
  url: URL,
  request: { method: string; headers: Record<string, string>; body: string | null; signal: AbortSignal },
  policy: AddressPolicy,
): Promise<IncomingMessage> {
  const addresses = await resolveCheckedAddresses(url.hostname, policy.allowPrivateNetwork === true, policy.resolveHost);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const { signal } = request;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = send(
      {
        method: request.method,
        hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers: request.headers,
        signal,
        lookup: pinnedLookup(addresses),
        ...(url.protocol === "https:" && !isIP(hostname) ? { servername: hostname } : {}),
      },
      resolve,
    );
    outgoing.on("error", (error) => reject(signal.aborted ? signal.reason : error));
    outgoing.end(request.body ?? undefined);
  });
}
