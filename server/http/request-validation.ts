import type { Context } from "hono";
import type { RouteDefinition } from "../../generated/handler-types.ts";
import { AppError, type FieldError } from "../errors.ts";
import { message, type Message } from "../messages.ts";
import type { ErrorObject, SchemaCompiler, ValidateFunction } from "./schema-compiler.ts";

type Location = FieldError["location"];

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: { type?: string | string[] } & Record<string, unknown>;
}

/** The validated, coerced input of one operation. */
export interface ValidatedInput {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

const RULE_TEXTS: Record<string, (e: ErrorObject) => Message> = {
  required: () => message("is required", "为必填项"),
  type: (e) => message(`must be of type ${String(e.params.type)}`, `必须是 ${String(e.params.type)} 类型`),
  enum: (e) => {
    const allowed = (e.params.allowedValues as unknown[]).join(", ");
    return message(`must be one of: ${allowed}`, `必须是以下之一：${allowed}`);
  },
  const: (e) => message(`must be ${JSON.stringify(e.params.allowedValue)}`, `必须为 ${JSON.stringify(e.params.allowedValue)}`),
  maxLength: (e) => message(`must be at most ${e.params.limit} characters`, `长度不能超过 ${e.params.limit} 个字符`),
  minLength: (e) => message(`must be at least ${e.params.limit} characters`, `长度不能少于 ${e.params.limit} 个字符`),
  maximum: (e) => message(`must be at most ${e.params.limit}`, `不能大于 ${e.params.limit}`),
  minimum: (e) => message(`must be at least ${e.params.limit}`, `不能小于 ${e.params.limit}`),
  maxItems: (e) => message(`must have at most ${e.params.limit} items`, `最多 ${e.params.limit} 项`),
  minItems: (e) => message(`must have at least ${e.params.limit} items`, `至少 ${e.params.limit} 项`),
  pattern: () => message("has an invalid format", "格式不正确"),
  format: (e) => message(`must be a valid ${String(e.params.format)}`, `必须是有效的 ${String(e.params.format)}`),
  additionalProperties: () => message("is not allowed here", "不允许出现此字段"),
  unevaluatedProperties: () => message("is not allowed here", "不允许出现此字段"),
};

/** Ajv's errors as the contract's failing fields, without the noise of combinator keywords. */
export function toFieldErrors(location: Location, errors: ErrorObject[] | null | undefined): FieldError[] {
  const fields: FieldError[] = [];
  for (const error of errors ?? []) {
    if (["anyOf", "oneOf", "allOf", "if"].includes(error.keyword)) continue;
    // TypeSpec seals models with `unevaluatedProperties: { not: {} }`: Ajv reports the extra field under `not`.
    const rule =
      error.keyword === "not" && error.schemaPath.endsWith("/unevaluatedProperties/not") ? "unevaluatedProperties" : error.keyword;
    const segments = error.instancePath.split("/").slice(1);
    const extra = error.params.missingProperty ?? error.params.additionalProperty ?? error.params.unevaluatedProperty;
    if (typeof extra === "string") segments.push(extra);
    const text = RULE_TEXTS[rule]?.(error) ?? message(error.message ?? "is invalid", "取值不符合约定");
    const field = segments.map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")).join(".");
    if (fields.some((f) => f.field === field && f.rule === rule)) continue;
    fields.push({ location, field, rule, message: text });
  }
  return fields;
}

function objectSchema(parameters: Parameter[]) {
  return {
    type: "object",
    properties: Object.fromEntries(parameters.map((p) => [p.name, p.schema ?? {}])),
    required: parameters.filter((p) => p.required || p.in === "path").map((p) => p.name),
  };
}

function isArraySchema(schema: Parameter["schema"]): boolean {
  return schema?.type === "array" || (Array.isArray(schema?.type) && schema.type.includes("array"));
}

/** The two steps of request validation: the path first (it names the tenant), then the rest. */
export interface RequestValidator {
  path(c: Context): Record<string, unknown>;
  rest(c: Context, path: Record<string, unknown>): Promise<ValidatedInput>;
}

/**
 * Builds the validator of one operation's request: path, query and header parameters (coerced to
 * their types, defaults filled) and the JSON body. Every failure becomes one 400 naming each field.
 * The path is checked on its own first, so the tenant it names is authorized before the body is read.
 */
export function createRequestValidator(
  route: RouteDefinition,
  compilers: { parameters: SchemaCompiler; body: SchemaCompiler },
): RequestValidator {
  const parameters = route.parameters as Parameter[];
  const byLocation = (where: Parameter["in"]) => parameters.filter((p) => p.in === where);
  const validators: Record<"path" | "query" | "header", { list: Parameter[]; validate: ValidateFunction }> = {
    path: { list: byLocation("path"), validate: compilers.parameters.compile(objectSchema(byLocation("path"))) },
    query: { list: byLocation("query"), validate: compilers.parameters.compile(objectSchema(byLocation("query"))) },
    header: { list: byLocation("header"), validate: compilers.parameters.compile(objectSchema(byLocation("header"))) },
  };
  const body = route.requestBody ? { ...route.requestBody, validate: compilers.body.compile(route.requestBody.schema) } : null;

  const validatePath = (c: Context) => {
    const path: Record<string, unknown> = Object.fromEntries(validators.path.list.map((p) => [p.name, c.req.param(p.name)]));
    if (!validators.path.validate(path))
      throw new AppError("VALIDATION_FAILED", { fields: toFieldErrors("path", validators.path.validate.errors) });
    return path;
  };

  const validateRest = async (c: Context, path: Record<string, unknown>) => {
    const failures: FieldError[] = [];
    const raw = {
      query: Object.fromEntries(
        validators.query.list
          .filter((p) => c.req.queries(p.name) !== undefined)
          .map((p) => [p.name, isArraySchema(p.schema) ? c.req.queries(p.name) : c.req.queries(p.name)?.[0]]),
      ),
      header: Object.fromEntries(
        validators.header.list.filter((p) => c.req.header(p.name) !== undefined).map((p) => [p.name, c.req.header(p.name)]),
      ),
    };
    for (const where of ["query", "header"] as const) {
      if (!validators[where].validate(raw[where])) failures.push(...toFieldErrors(where, validators[where].validate.errors));
    }
    let parsedBody: unknown = undefined;
    if (body) {
      const text = await c.req.text();
      if (text.trim() === "") {
        if (body.required) failures.push({ location: "body", field: "", rule: "required", message: message("is required", "为必填项") });
      } else {
        try {
          parsedBody = JSON.parse(text);
        } catch (cause) {
          throw new AppError("MALFORMED_BODY", { cause });
        }
        if (!body.validate(parsedBody)) failures.push(...toFieldErrors("body", body.validate.errors));
      }
    }
    if (failures.length > 0) throw new AppError("VALIDATION_FAILED", { fields: failures });
    return { path, query: raw.query, headers: raw.header, body: parsedBody };
  };

  return { path: validatePath, rest: validateRest };
}
