import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { parse } from "yaml";
import type { components } from "../../generated/api-types.ts";
import { handlerGroups } from "../../generated/handlers.ts";
import { routes } from "../../generated/routes.ts";
import { createHandlers, createServices } from "../../server/app.ts";
import { loadContract } from "../../server/http/openapi-document.ts";
import { createResponseValidator } from "../../server/http/response-validation.ts";
import { createTestApp, TEST_AUTH_SECRET, type TestApp } from "../harness.ts";

const compiledYaml = readFileSync(new URL("../../generated/openapi.yaml", import.meta.url), "utf8");

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

describe("the handlers and the spec", () => {
  it("has a handler for every operationId and an operationId for every handler", () => {
    const handlers = createHandlers(
      createServices({
        db: api.db,
        logger: undefined as never,
        authSecret: TEST_AUTH_SECRET,
        mailer: undefined as never,
        now: () => new Date(),
        publicUrl: "",
      }),
    );
    expect(Object.keys(handlers).sort()).toEqual(routes.map((r) => r.operationId).sort());
    expect(Object.values(handlerGroups).flat().sort()).toEqual(routes.map((r) => r.operationId).sort());
  });

  it("names operations by their TypeSpec names and carries their security into the route table", () => {
    const plans = routes.filter((r) => r.group === "Plans");
    expect(plans.map((r) => [r.operationId, r.method, r.path, r.group, r.security, r.surface])).toEqual([
      ["getPlan", "get", "/api/v1/billing/plans/{planId}", "Plans", [], "console"],
      ["listPlans", "get", "/api/v1/billing/plans", "Plans", [], "console"],
    ]);
    expect(routes.find((r) => r.operationId === "getMe")).toMatchObject({
      method: "get",
      path: "/api/v1/auth/me",
      group: "Auth",
      security: ["ConsoleToken"],
    });
  });
});

describe("the served document", () => {
  it("serves the compiled YAML unchanged", async () => {
    const res = await api.raw("GET", "/openapi.yaml");
    expect(res.status).toBe(200);
    expect(res.body).toBe(compiledYaml);
  });

  it("serves the same document as JSON", async () => {
    const res = await api.raw("GET", "/openapi.json");
    expect(res.body).toEqual(parse(compiledYaml));
    expect((res.body as { openapi: string }).openapi).toBe("3.1.0");
  });

  it("declares both security schemes of main.tsp once they are used, and the console bearer today", () => {
    const schemes = (parse(compiledYaml) as { components: { securitySchemes: Record<string, unknown> } }).components.securitySchemes;
    expect(schemes.ConsoleToken).toMatchObject({ type: "http", scheme: "Bearer" });
  });
});

describe("the response checker the harness applies to every call", () => {
  const validate = createResponseValidator(loadContract().document, routes);

  it("accepts a response that matches", () => {
    const body = { code: "NOT_FOUND", message: { "en-US": "x", "zh-CN": "x" }, data: null, requestId: "r" };
    expect(validate("GET", "/api/v1/billing/plans/abc", 404, body)).toBeNull();
  });

  it("catches a wrong field type, an extra field, an undocumented status and a bad unknown-route body", () => {
    const good = { code: "OK", message: { "en-US": "OK" }, data: { items: [], nextCursor: null }, requestId: "r" };
    expect(validate("GET", "/api/v1/billing/plans", 200, { ...good, data: { items: [], nextCursor: 5 } })?.problems).not.toHaveLength(0);
    expect(validate("GET", "/api/v1/billing/plans", 200, { ...good, extra: true })?.problems).not.toHaveLength(0);
    expect(validate("GET", "/api/v1/billing/plans", 201, good)?.problems).toEqual(["status 201 is not documented"]);
    expect(validate("GET", "/nowhere", 200, {})?.problems[0]).toBe("unknown route answered 200, expected 404");
  });
});

describe("generated types", () => {
  it("types a Record-valued schema (unevaluatedProperties in 3.1) as a string map, and a sealed model as closed", () => {
    type Message = components["schemas"]["Common.Message"];
    expectTypeOf<Message["en-US"]>().toEqualTypeOf<string>();
    expectTypeOf<Message["fr-FR"]>().toEqualTypeOf<string>();
    type Feature = components["schemas"]["Billing.PlanFeature"];
    expectTypeOf<keyof Feature>().toEqualTypeOf<"featureKey" | "featureName" | "enabled" | "limit">();
    const yaml = parse(compiledYaml) as { components: { schemas: Record<string, { unevaluatedProperties?: unknown }> } };
    expect(yaml.components.schemas["Common.Message"]?.unevaluatedProperties).toEqual({ type: "string" });
  });
});
