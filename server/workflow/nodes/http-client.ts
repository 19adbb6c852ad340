import type { IncomingMessage } from "node:http";
import { sendToCheckedAddress } from "../../net/checked-request.ts";
import { PublicAddressError, type HostResolver } from "../../net/public-address.ts";
import { NodeError } from "../errors.ts";

/** What the caller lets http-request nodes do; passed as `services.http`. */
export interface HttpPolicy {
  /** Allow private, loopback, link-local and unique-local addresses. Off unless set. */
  allowPrivateNetwork?: boolean;
  /** The most a node may read of a response body; a node's own cap can only be lower. */
  maxResponseBytes?: number;
  /** DNS for the checks; the system resolver when omitted. */
  resolveHost?: HostResolver;
  userAgent?: string;
}

declare module "../types.ts" {
  interface NodeServices {
    http?: HttpPolicy;
  }
}

/** One request as the node has resolved it. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | null;
  maxResponseBytes: number;
  followRedirects: boolean;
}

/** The response as nodes output it: lower-case headers, the body as UTF-8 text. */
export interface ReceivedResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const MAX_REDIRECTS = 5;
const CREDENTIAL_HEADERS = new Set(["authorization", "proxy-authorization", "cookie"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Sends a request, checking every hop's addresses against the policy and connecting only to an
 * address that was checked. Redirects are followed by hand so each new host is checked too.
 */
export async function sendRequest(outgoing: OutgoingRequest, policy: HttpPolicy, signal: AbortSignal): Promise<ReceivedResponse> {
  let current = outgoing;
  for (let hop = 0; ; hop++) {
    const response = await sendOnce(current, policy, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!current.followRedirects || !REDIRECTS.has(status) || !location) return readBody(response, current, signal);
    response.destroy();
    if (hop >= MAX_REDIRECTS) throw new NodeError("TOO_MANY_REDIRECTS", `more than ${MAX_REDIRECTS} redirects`);
    const keepsMethod = status === 307 || status === 308 || current.method === "GET" || current.method === "HEAD";
    const url = new URL(location, current.url);
    const headers = url.origin === current.url.origin ? current.headers : withoutCredentials(current.headers);
    current = { ...current, url, headers, ...(keepsMethod ? {} : { method: "GET", body: null }) };
  }
}

/** Credentials meant for one origin are not sent on to another, as browsers do on redirects. */
function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.has(name)));
}

async function sendOnce(outgoing: OutgoingRequest, policy: HttpPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  const { url } = outgoing;
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new NodeError("INVALID_URL", `${url.protocol} URLs are not allowed`);
  const headers = { "user-agent": policy.userAgent ?? "workflow-http-request", ...outgoing.headers };
  try {
    return await sendToCheckedAddress(url, { method: outgoing.method, headers, body: outgoing.body, signal }, policy);
  } catch (error) {
    // A refused or unknown host fails the node with the check's code (HOST_NOT_FOUND, PRIVATE_NETWORK_REFUSED).
    if (error instanceof PublicAddressError) throw new NodeError(error.code, error.message);
    if (signal.aborted) throw error;
    throw new NodeError("HTTP_ERROR", error instanceof Error ? error.message : String(error));
  }
}

/** Reads the body up to the cap and stops reading (destroying the socket) the moment it is passed. */
function readBody(response: IncomingMessage, outgoing: OutgoingRequest, signal: AbortSignal): Promise<ReceivedResponse> {
  const cap = outgoing.maxResponseBytes;
  const tooLarge = () => new NodeError("RESPONSE_TOO_LARGE", `the response is larger than ${cap} bytes`);
  return new Promise((resolve, reject) => {
    // Rejecting before destroying: destroying emits `aborted`, whose rejection must not win.
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > cap) {
      reject(tooLarge());
      response.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    response.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > cap) {
        reject(tooLarge());
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.on("end", () =>
      resolve({ statusCode: response.statusCode ?? 0, headers: flattenHeaders(response), body: Buffer.concat(chunks).toString("utf8") }),
    );
    response.on("error", (error) => reject(signal.aborted ? signal.reason : new NodeError("HTTP_ERROR", error.message)));
    response.on("aborted", () => reject(signal.aborted ? signal.reason : new NodeError("HTTP_ERROR", "the response was cut off")));
  });
}

function flattenHeaders(response: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}
