import { Writable } from "node:stream";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { RouteDefinition } from "../../generated/handler-types.ts";
import { bindRoutes } from "../../server/http/bind-routes.ts";
import type { AppEnv } from "../../server/http/context.ts";
import { onError, onNotFound } from "../../server/http/error-handling.ts";
import { loadContract } from "../../server/http/openapi-document.ts";
import { requestLogger } from "../../server/http/request-logger.ts";
import { SchemaCompiler } from "../../server/http/schema-compiler.ts";

/**
 * The binding's request validation and error rendering, on an operation that takes a JSON body.
 * The contract has no such console operation yet, so this route is shaped like one from the real
 * document's schemas (a sealed `PlanFeature` as the body); the app is real Hono with our middleware.
 */
const document = loadContract().document;
const route: RouteDefinition = {
  operationId: "listPlans",
  group: "Plans",
  method: "post",
  path: "/api/v1/probe/{planId}",
  surface: "console",
  security: [],
  metered: null,
  apiKeyScope: null,
  parameters: [
    { name: "planId", in: "path", required: true, schema: { $ref: "#/components/schemas/Common.Id" } },
    { name: "limit", in: "query", required: false, schema: { type: "integer", format: "int32", minimum: 1, maximum: 100, default: 20 } },
  ],
  requestBody: { required: true, schema: { $ref: "#/components/schemas/Billing.PlanFeature" } },
  responses: {},
};

function build(handler: (input: unknown) => Promise<unknown>) {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      logs.push(
        ...chunk
          .toString()
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      );
      done();
    },
  });
  const app = new Hono<AppEnv>();
  app.use(requestId());
  app.use(requestLogger(pino(sink)));
  app.use(async (c, next) => {
    c.set("language", "en-US");
    await next();
  });
  app.onError(onError);
  app.notFound(onNotFound);
  bindRoutes(app, {
    routes: [route],
    handlers: { listPlans: handler },
    compilers: { parameters: new SchemaCompiler(document, "parameters"), body: new SchemaCompiler(document, "body") },
    authenticators: {},
  });
  return { app, logs };
}

const ID = "0190b6a0-0000-7000-8000-000000000004";
const GOOD = { featureKey: "sso", featureName: { "en-US": "Single sign-on", "zh-CN": "单点登录" }, enabled: true, limit: null };
const post = (app: Hono<AppEnv>, body: string, path = `/api/v1/probe/${ID}`) =>
  app.request(path, { method: "POST", body, headers: { "content-type": "application/json" } });

describe("request validation", () => {
  it("hands the handler coerced parameters with defaults and the parsed body", async () => {
    let seen: unknown;
    const { app } = build(async (input) => {
      seen = input;
      return { status: 200, data: null };
    });
    const res = await post(app, JSON.stringify(GOOD), `/api/v1/probe/${ID}?limit=7`);
    expect(res.status).toBe(200);
    expect(seen).toEqual({ path: { planId: ID }, query: { limit: 7 }, headers: {}, body: GOOD });
    const defaulted = await post(app, JSON.stringify(GOOD));
    expect(defaulted.status).toBe(200);
    expect((seen as { query: unknown }).query).toEqual({ limit: 20 });
  });

  it.each([
    ["a wrong type", { ...GOOD, enabled: "yes" }, [["enabled", "type"]]],
    ["a missing field", { featureKey: "sso", featureName: { "en-US": "x" }, enabled: true }, [["limit", "required"]]],
    ["an over-long string", { ...GOOD, featureKey: "k".repeat(65) }, [["featureKey", "maxLength"]]],
    ["an extra field where the model is sealed", { ...GOOD, color: "red" }, [["color", "unevaluatedProperties"]]],
    ["a nested wrong type", { ...GOOD, featureName: { "en-US": 5 } }, [["featureName.en-US", "type"]]],
    ["a float for an integer", { ...GOOD, limit: 1.5 }, [["limit", "type"]]],
  ])("answers 400 naming the field for %s", async (_name, body, expected) => {
    let called = false;
    const { app } = build(async () => {
      called = true;
      return { status: 200, data: null };
    });
    const res = await post(app, JSON.stringify(body));
    expect(res.status).toBe(400);
    const json = (await res.json()) as { code: string; fields: { location: string; field: string; rule: string }[] };
    expect(json.code).toBe("VALIDATION_FAILED");
    expect(json.fields.map((f) => [f.field, f.rule])).toEqual(expect.arrayContaining(expected));
    expect(json.fields.every((f) => f.location === "body")).toBe(true);
    expect(called).toBe(false);
  });

  it("answers MALFORMED_BODY for JSON that does not parse, and names the body when it is missing", async () => {
    const { app } = build(async () => ({ status: 200, data: null }));
    const malformed = await post(app, "{ not json");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      code: "MALFORMED_BODY",
      message: { "en-US": "The request body is not valid JSON.", "zh-CN": "请求体不是有效的 JSON。" },
      data: null,
      requestId: expect.any(String),
      fields: [],
    });
    const empty = await post(app, "");
    expect(await empty.json()).toMatchObject({ code: "VALIDATION_FAILED", fields: [{ location: "body", field: "", rule: "required" }] });
  });

  it("checks the path first (it names the tenant), then reports query and body failures together", async () => {
    const { app } = build(async () => ({ status: 200, data: null }));
    const badPath = await post(app, JSON.stringify({ ...GOOD, enabled: 1 }), "/api/v1/probe/not-a-uuid?limit=1000");
    const pathJson = (await badPath.json()) as { fields: { location: string; field: string; rule: string }[] };
    expect(pathJson.fields.map((f) => [f.location, f.field, f.rule])).toEqual([["path", "planId", "format"]]);
    const res = await post(app, JSON.stringify({ ...GOOD, enabled: 1 }), `/api/v1/probe/${ID}?limit=1000`);
    const json = (await res.json()) as { fields: { location: string; field: string; rule: string }[] };
    expect(json.fields.map((f) => [f.location, f.field, f.rule])).toEqual([
      ["query", "limit", "maximum"],
      ["body", "enabled", "type"],
    ]);
  });
});

describe("faults", () => {
  it("answers a generic 500 envelope and logs the error once with the request id", async () => {
    const { app, logs } = build(async () => {
      throw new Error("database exploded: password=hunter2");
    });
    const res = await post(app, JSON.stringify(GOOD));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { requestId: string };
    expect(body).toEqual({
      code: "INTERNAL_ERROR",
      message: { "en-US": "Something went wrong on our side.", "zh-CN": "服务器内部错误。" },
      data: null,
      requestId: res.headers.get("x-request-id"),
    });
    const errors = logs.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      requestId: body.requestId,
      msg: "unhandled error",
      err: { message: "database exploded: password=hunter2" },
    });
  });

  it("refuses to start when an operation has no handler, or a handler no operation", () => {
    const compilers = { parameters: new SchemaCompiler(document, "parameters"), body: new SchemaCompiler(document, "body") };
    expect(() => bindRoutes(new Hono<AppEnv>(), { routes: [route], handlers: {}, compilers, authenticators: {} })).toThrow(
      "no handler for operation listPlans",
    );
    expect(() =>
      bindRoutes(new Hono<AppEnv>(), {
        routes: [route],
        handlers: { listPlans: async () => null, stray: async () => null },
        compilers,
        authenticators: {},
      }),
    ).toThrow("handlers without an operation in the spec: stray");
  });
});
