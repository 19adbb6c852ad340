import { defineNode } from "../define-node.ts";
import { NodeError } from "../errors.ts";
import { stringifyValue } from "../variable-reference.ts";
import { sendRequest, type OutgoingRequest } from "./http-client.ts";
import { namedValuesWith } from "./schema-parts.ts";

type NamedValue = { name: string; value: unknown };

interface HttpRequestConfig {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS";
  url: string;
  headers: NamedValue[];
  params: NamedValue[];
  body: { type: "none" | "json" | "raw-text" | "x-www-form-urlencoded"; data?: unknown; fields?: NamedValue[] };
  timeoutMs: number;
  maxResponseBytes: number;
  followRedirects: boolean;
}

const CONTENT_TYPES = {
  json: "application/json",
  "raw-text": "text/plain; charset=utf-8",
  "x-www-form-urlencoded": "application/x-www-form-urlencoded",
};
const headerList = namedValuesWith({ type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", maxLength: 256 });
const fieldList = namedValuesWith({ type: "string", minLength: 1, maxLength: 256 });
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "x-api-key"]);

/**
 * Calls an HTTP endpoint with templated URL, headers and body. Any status is a success (the status
 * is an output); network errors, the timeout, a body past the cap and non-public addresses (unless
 * `services.http.allowPrivateNetwork`) are failures.
 */
export const httpRequestNode = defineNode<HttpRequestConfig>({
  type: "http-request",
  version: 1,
  configSchema: {
    type: "object",
    required: ["url"],
    additionalProperties: false,
    properties: {
      method: { enum: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], default: "GET" },
      url: { type: "string", minLength: 1, maxLength: 8_192 },
      headers: { ...headerList, default: [] },
      params: { ...fieldList, default: [] },
      body: {
        type: "object",
        default: { type: "none" },
        required: ["type"],
        additionalProperties: false,
        properties: {
          type: { enum: ["none", "json", "raw-text", "x-www-form-urlencoded"] },
          data: {},
          fields: fieldList,
        },
      },
      timeoutMs: { type: "integer", minimum: 1, maximum: 300_000, default: 10_000 },
      maxResponseBytes: { type: "integer", minimum: 1, maximum: 100 * 1024 * 1024, default: 1024 * 1024 },
      followRedirects: { type: "boolean", default: true },
    },
  },
  outputs: { status_code: "number", headers: "object", body: "string" },
  async run(ctx) {
    const policy = ctx.services.http ?? {};
    const outgoing = buildRequest(ctx.config, policy.maxResponseBytes);
    const controller = new AbortController();
    const onAbort = () => controller.abort(ctx.signal.reason);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new NodeError("TIMEOUT", `the request timed out after ${ctx.config.timeoutMs} ms`)),
      ctx.config.timeoutMs,
    );
    try {
      const response = await sendRequest(outgoing, policy, controller.signal);
      return {
        outputs: { status_code: response.statusCode, headers: response.headers, body: response.body },
        inputs: { method: outgoing.method, url: outgoing.url.href, headers: redact(outgoing.headers), body: outgoing.body },
      };
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
    }
  },
});

function buildRequest(config: HttpRequestConfig, policyCap: number | undefined): OutgoingRequest {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new NodeError("INVALID_URL", `"${config.url}" is not a URL`);
  }
  for (const param of config.params) url.searchParams.append(param.name, stringifyValue(param.value));
  const headers: Record<string, string> = {};
  for (const header of config.headers) headers[header.name.toLowerCase()] = stringifyValue(header.value);
  const body = encodeBody(config.body);
  if (body !== null && config.body.type !== "none") headers["content-type"] ??= CONTENT_TYPES[config.body.type];
  return {
    method: config.method,
    url,
    headers,
    body,
    maxResponseBytes: Math.min(config.maxResponseBytes, policyCap ?? Number.POSITIVE_INFINITY),
    followRedirects: config.followRedirects,
  };
}

function encodeBody(body: HttpRequestConfig["body"]): string | null {
  switch (body.type) {
    case "none":
      return null;
    case "json":
      return typeof body.data === "string" ? body.data : JSON.stringify(body.data ?? null);
    case "raw-text":
      return stringifyValue(body.data);
    case "x-www-form-urlencoded":
      return new URLSearchParams((body.fields ?? []).map((field) => [field.name, stringifyValue(field.value)])).toString();
  }
}

function redact(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, SECRET_HEADERS.has(name) ? "[redacted]" : value]));
}
