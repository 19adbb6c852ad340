import type { RouteDefinition } from "../../generated/handler-types.ts";
import type { OpenApiDocument } from "./openapi-document.ts";
import { SchemaCompiler, type ValidateFunction } from "./schema-compiler.ts";

/** One way a response broke the contract. */
export interface ContractViolation {
  operationId: string | null;
  status: number;
  problems: string[];
}

interface Matcher {
  route: RouteDefinition;
  method: string;
  pattern: RegExp;
}

function matcherOf(route: RouteDefinition): Matcher {
  const source = route.path.replace(/\{[^}]+\}/g, "[^/]+");
  return { route, method: route.method.toUpperCase(), pattern: new RegExp(`^${source}/?$`) };
}

/**
 * Checks responses against the contract: the status must be documented for the operation, and the
 * JSON body must match that status's schema. A request that matches no operation must answer the
 * `ROUTE_NOT_FOUND` error envelope. Used by the test harness on every call.
 */
export function createResponseValidator(document: OpenApiDocument, routes: readonly RouteDefinition[]) {
  const compiler = new SchemaCompiler(document, "response");
  const matchers = routes.map(matcherOf);
  const cache = new Map<string, ValidateFunction>();
  const compiled = (key: string, schema: unknown) => {
    let validate = cache.get(key);
    if (!validate) cache.set(key, (validate = compiler.compile(schema)));
    return validate;
  };

  return function validateResponse(method: string, pathname: string, status: number, body: unknown): ContractViolation | null {
    const match = matchers.find((m) => m.method === method.toUpperCase() && m.pattern.test(pathname));
    if (!match) {
      const validate = compiled("route-not-found", { $ref: "#/components/schemas/Common.ErrorBody" });
      const problems: string[] = [];
      if (status !== 404) problems.push(`unknown route answered ${status}, expected 404`);
      if (!validate(body)) problems.push(...(validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`));
      return problems.length ? { operationId: null, status, problems } : null;
    }
    const { route } = match;
    const response = route.responses[String(status)];
    if (!response) return { operationId: route.operationId, status, problems: [`status ${status} is not documented`] };
    if (response.schema === null) return null;
    const validate = compiled(`${route.operationId}:${status}`, response.schema);
    if (validate(body)) return null;
    return {
      operationId: route.operationId,
      status,
      problems: (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`),
    };
  };
}
