import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { components } from "../generated/api-types.ts";
import { message, type Message } from "./messages.ts";

/** The closed list of error codes declared in the spec. */
export type ErrorCode = components["schemas"]["Common.ErrorCode"];
/** One failing field of a 400 answer, as the spec declares it. */
export type FieldError = components["schemas"]["Common.FieldError"];

/** The one place an error code meets its HTTP status. Adding a code to the spec fails the typecheck here. */
export function statusOf(code: ErrorCode): ContentfulStatusCode {
  switch (code) {
    case "VALIDATION_FAILED":
    case "MALFORMED_BODY":
      return 400;
    case "UNAUTHENTICATED":
      return 401;
    case "FORBIDDEN":
      return 403;
    case "NOT_FOUND":
    case "ROUTE_NOT_FOUND":
      return 404;
    case "CONFLICT":
      return 409;
    case "UNPROCESSABLE":
      return 422;
    case "QUOTA_EXCEEDED":
    case "RATE_LIMITED":
      return 429;
    case "INTERNAL_ERROR":
      return 500;
  }
}

/** The default text of each code, used when a thrower gives none. */
const DEFAULT_MESSAGES: Record<ErrorCode, Message> = {
  VALIDATION_FAILED: message("The request does not match the API contract.", "请求不符合接口约定。"),
  MALFORMED_BODY: message("The request body is not valid JSON.", "请求体不是有效的 JSON。"),
  UNAUTHENTICATED: message("Sign in to continue.", "请先登录。"),
  FORBIDDEN: message("Your role does not allow this.", "您的角色无权执行此操作。"),
  NOT_FOUND: message("The resource was not found.", "资源不存在。"),
  ROUTE_NOT_FOUND: message("No operation has this method and path.", "没有与该方法和路径匹配的接口。"),
  CONFLICT: message("The resource's state does not allow this now.", "资源当前状态不允许此操作。"),
  UNPROCESSABLE: message("The request breaks a business rule.", "请求违反业务规则。"),
  QUOTA_EXCEEDED: message("A quota of your plan is used up.", "您的套餐配额已用完。"),
  RATE_LIMITED: message("Too many requests; try again later.", "请求过于频繁，请稍后再试。"),
  INTERNAL_ERROR: message("Something went wrong on our side.", "服务器内部错误。"),
};

/** Options of an `AppError` beyond its code. */
export interface AppErrorOptions {
  message?: Message;
  /** The failing fields of a `VALIDATION_FAILED` error. */
  fields?: FieldError[];
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * The one exception type of the server. Thrown anywhere, rendered in one place as the error
 * envelope with the status `statusOf(code)` gives.
 *
 * @example
 * throw new AppError("NOT_FOUND", { message: message("No such plan.", "套餐不存在。") });
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly localized: Message;
  readonly fields: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const localized = options.message ?? DEFAULT_MESSAGES[code];
    super(localized["en-US"], { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = statusOf(code);
    this.localized = localized;
    this.fields = options.fields;
    this.headers = options.headers ?? {};
  }
}

/** The error envelope's body for `error` in the request `requestId`. */
export function errorBody(error: AppError, requestId: string) {
  return {
    code: error.code,
    message: error.localized,
    data: null,
    requestId,
    ...(error.status === 400 ? { fields: error.fields ?? [] } : {}),
  };
}
