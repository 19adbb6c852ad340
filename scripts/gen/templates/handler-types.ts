import type { operations } from "./api-types.ts";

/** The operationId of every operation in the contract. */
export type OperationId = keyof operations;

type Parameters<K extends OperationId, L extends "path" | "query" | "header"> = operations[K]["parameters"][L] extends infer P
  ? [P] extends [undefined | never]
    ? Record<string, never>
    : NonNullable<P>
  : never;

type JsonRequestBody<K extends OperationId> = operations[K] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : operations[K] extends { requestBody?: { content: { "application/json": infer B } } }
    ? B | undefined
    : undefined;

/**
 * What a handler receives: path, query and header parameters already validated and coerced to the
 * contract's types (defaults applied), and the JSON body validated against its schema.
 */
export interface OperationInput<K extends OperationId> {
  path: Parameters<K, "path">;
  query: Parameters<K, "query">;
  headers: Parameters<K, "header">;
  body: JsonRequestBody<K>;
}

type Responses<K extends OperationId> = operations[K]["responses"];
type SuccessStatus<K extends OperationId> = Extract<keyof Responses<K>, 200 | 201 | 202 | 204>;
type JsonOf<R> = R extends { content: { "application/json": infer B } }
  ? B
  : R extends { content: { "text/event-stream": unknown } }
    ? Response
    : undefined;

/** `Response` when the status also answers `text/event-stream` (next to JSON), else nothing. */
type StreamOf<R> = R extends { content: { "text/event-stream": unknown } } ? Response : never;

/**
 * What a handler returns for one success status. On the console API the binding wraps `data` in
 * the `ApiResponse` envelope; elsewhere `body` is sent as it is. A streaming operation may return
 * a `Response` (Server-Sent Events), also when the same status answers JSON otherwise.
 */
export type OperationResult<K extends OperationId> = {
  [S in SuccessStatus<K>]: JsonOf<Responses<K>[S]> extends { code: "OK"; data: infer D }
    ? { status: S; data: D } | StreamOf<Responses<K>[S]>
    : { status: S; body: JsonOf<Responses<K>[S]> } | Response;
}[SuccessStatus<K>];

/** One entry of the generated route table. */
export interface RouteDefinition {
  operationId: OperationId;
  /** The spec interface (its tag) the operation belongs to. */
  group: string;
  method: "get" | "post" | "put" | "patch" | "delete";
  /** The OpenAPI path template, e.g. `/api/v1/billing/plans/{planId}`. */
  path: string;
  /** `console` (`/api/v1`, envelope) or `service` (`/v1`, Dify's wire format). */
  surface: "console" | "service";
  /** The security schemes that may authorize the call; empty for a public operation. */
  security: readonly string[];
  /** The metric the operation is metered by (`x-metered`), or null. */
  metered: string | null;
  /** The scope an organization API key needs for the operation (`x-api-key-scope`), or null. */
  apiKeyScope: string | null;
  parameters: readonly unknown[];
  requestBody: { required: boolean; schema: unknown } | null;
  responses: Readonly<Record<string, { schema: unknown; headers: Readonly<Record<string, unknown>> }>>;
}
