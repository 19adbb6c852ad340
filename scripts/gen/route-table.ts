import { banner } from "./banner.ts";
import type { OpenApiDocument, OpenApiOperation } from "./compile-spec.ts";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

interface RouteEntry {
  operationId: string;
  group: string;
  method: string;
  path: string;
  surface: "console" | "service";
  security: string[];
  metered: string | null;
  apiKeyScope: string | null;
  parameters: unknown[];
  requestBody: { required: boolean; schema: unknown } | null;
  responses: Record<string, { schema: unknown | null; headers: Record<string, unknown> }>;
  description: string;
}

/** Resolves `#/components/parameters/…` so the table holds each parameter whole. */
function resolveParameter(document: OpenApiDocument, parameter: unknown): unknown {
  const ref = (parameter as { $ref?: string }).$ref;
  if (!ref) return parameter;
  const name = ref.replace("#/components/parameters/", "");
  const resolved = document.components.parameters?.[name];
  if (!resolved) throw new Error(`unresolved parameter ${ref}`);
  return resolved;
}

/** The operation's `x-api-key-scope`, which must be a value of the `Metering.ApiKeyScope` enum. */
function keyScopeOf(document: OpenApiDocument, op: OpenApiOperation): string | null {
  const scope = op["x-api-key-scope"];
  if (scope === undefined) return null;
  const known = (document.components.schemas?.["Metering.ApiKeyScope"] as { enum?: string[] } | undefined)?.enum ?? [];
  if (!known.includes(scope)) throw new Error(`${op.operationId} needs API key scope ${scope}, which Metering.ApiKeyScope does not list`);
  return scope;
}

function toEntry(document: OpenApiDocument, method: string, path: string, op: OpenApiOperation): RouteEntry {
  if (!op.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
  const group = op.tags?.[0];
  if (!group) throw new Error(`${op.operationId} has no tag: put @tag on its interface`);
  // An operation without its own `security` inherits the document's (the service's @useAuth).
  const requirements = op.security ?? (document.security as Record<string, string[]>[] | undefined) ?? [];
  const security = [...new Set(requirements.flatMap((requirement) => Object.keys(requirement)))];
  const body = op.requestBody?.content["application/json"];
  const responses: RouteEntry["responses"] = {};
  for (const [status, response] of Object.entries(op.responses)) {
    responses[status] = {
      schema: response.content?.["application/json"]?.schema ?? null,
      headers: response.headers ?? {},
    };
  }
  return {
    operationId: op.operationId,
    group,
    method,
    path,
    surface: path.startsWith("/api/") ? "console" : "service",
    security,
    metered: op["x-metered"] ?? null,
    apiKeyScope: keyScopeOf(document, op),
    parameters: (op.parameters ?? []).map((p) => resolveParameter(document, p)),
    requestBody: body ? { required: op.requestBody?.required ?? false, schema: body.schema } : null,
    responses,
    description: op.description ?? "",
  };
}

/** Every operation of the document, sorted by operationId so the output is stable. */
export function collectRoutes(document: OpenApiDocument): RouteEntry[] {
  const entries: RouteEntry[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) entries.push(toEntry(document, method, path, op));
    }
  }
  return entries.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** `generated/routes.ts`: the route table, one entry per operation, schemas included. */
export function generateRouteTable(routes: RouteEntry[]): string {
  const table = routes.map(({ description: _description, ...rest }) => rest);
  return (
    banner("//") +
    `import type { RouteDefinition } from "./handler-types.ts";\n\n` +
    `/** Every operation of the contract: method, path, operationId, security, metering, request and response schemas. */\n` +
    `export const routes = ${JSON.stringify(table, null, 2)} as const satisfies readonly RouteDefinition[];\n`
  );
}

function pascal(name: string): string {
  return name.replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());
}

/** `generated/handlers.ts`: one handler interface per spec interface (tag), and their union. */
export function generateHandlerInterfaces(routes: RouteEntry[]): string {
  const groups = new Map<string, RouteEntry[]>();
  for (const route of routes) groups.set(route.group, [...(groups.get(route.group) ?? []), route]);
  const names = [...groups.keys()].sort();
  const blocks = names.map((group) => {
    const methods = (groups.get(group) ?? []).map((route) => {
      const doc = route.description.replace(/\*\//g, "*\\/").split("\n").join("\n   * ");
      return (
        `  /**\n   * ${doc}\n   *\n   * \`${route.method.toUpperCase()} ${route.path}\`\n   */\n` +
        `  ${route.operationId}(input: OperationInput<"${route.operationId}">, ctx: Ctx): Promise<OperationResult<"${route.operationId}">>;`
      );
    });
    return `/** The operations of the spec's \`${group}\` interface. */\nexport interface ${pascal(group)}Handlers<Ctx> {\n${methods.join("\n\n")}\n}`;
  });
  const all = names.map((g) => `${pascal(g)}Handlers<Ctx>`).join(",\n    ");
  return (
    banner("//") +
    `import type { OperationInput, OperationResult } from "./handler-types.ts";\n\n` +
    blocks.join("\n\n") +
    `\n\n/** Every operation of the contract: the server must implement exactly these. */\nexport interface Handlers<Ctx>\n  extends ${all} {}\n\n` +
    `/** The handler groups, by the name of their spec interface. */\nexport const handlerGroups = ${JSON.stringify(
      Object.fromEntries(names.map((g) => [g, (groups.get(g) ?? []).map((r) => r.operationId)])),
      null,
      2,
    )} as const;\n`
  );
}
