import { describe, expect, it } from "vitest";
import { routes } from "../../generated/routes.ts";
import type { OpenApiDocument } from "../../scripts/gen/compile-spec.ts";
import { collectRoutes } from "../../scripts/gen/route-table.ts";
import { loadContract } from "../../server/http/openapi-document.ts";

/** The served document with recordUsage's `x-api-key-scope` set to `scope`. */
function withRecordUsageScope(scope: string): OpenApiDocument {
  const document = structuredClone(loadContract().document) as unknown as OpenApiDocument;
  const operation = document.paths["/api/v1/organizations/{organizationId}/usage/records"]!.post!;
  operation["x-api-key-scope"] = scope;
  return document;
}

describe("the route table's extensions", () => {
  it("carries x-metered and x-api-key-scope of the spec's decorators", () => {
    const recordUsage = routes.find((r) => r.operationId === "recordUsage")!;
    expect([recordUsage.metered, recordUsage.apiKeyScope]).toEqual(["api_call", "usage:write"]);
    const runWorkflow = routes.find((r) => r.operationId === "runWorkflow")!;
    expect([runWorkflow.metered, runWorkflow.apiKeyScope]).toEqual(["workflow_execution", null]);
  });

  it("refuses a scope that Metering.ApiKeyScope does not list", () => {
    expect(collectRoutes(withRecordUsageScope("usage:write")).find((r) => r.operationId === "recordUsage")?.apiKeyScope).toBe(
      "usage:write",
    );
    expect(() => collectRoutes(withRecordUsageScope("usage:delete"))).toThrow(
      "recordUsage needs API key scope usage:delete, which Metering.ApiKeyScope does not list",
    );
  });
});
