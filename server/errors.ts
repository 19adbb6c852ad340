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
    case "INVALID_CREDENTIALS":
    case "TOKEN_EXPIRED":
    case "REFRESH_TOKEN_INVALID":
    case "REFRESH_TOKEN_REUSED":
      return 401;
    case "FORBIDDEN":
    case "INVITATION_EMAIL_MISMATCH":
      return 403;
    case "NOT_FOUND":
    case "ROUTE_NOT_FOUND":
      return 404;
    case "CONFLICT":
    case "EMAIL_TAKEN":
    case "ALREADY_MEMBER":
    case "INVITATION_ALREADY_ACCEPTED":
    case "INVITATION_EXPIRED":
    case "INVITATION_REVOKED":
    case "RESET_TOKEN_INVALID":
      return 409;
    case "UNPROCESSABLE":
    case "LAST_OWNER":
    case "ARCHIVED":
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
  INVALID_CREDENTIALS: message("The email or password is wrong.", "邮箱或密码错误。"),
  TOKEN_EXPIRED: message("Your session has expired; refresh it or sign in again.", "会话已过期，请刷新或重新登录。"),
  REFRESH_TOKEN_INVALID: message("The refresh token is not valid; sign in again.", "刷新令牌无效，请重新登录。"),
  REFRESH_TOKEN_REUSED: message(
    "This refresh token was already used, so the session was ended for safety. Sign in again.",
    "该刷新令牌已被使用过，为安全起见会话已终止，请重新登录。",
  ),
  FORBIDDEN: message("Your role does not allow this.", "您的角色无权执行此操作。"),
  INVITATION_EMAIL_MISMATCH: message("This invitation was sent to another email address.", "该邀请发送给了其他邮箱地址。"),
  NOT_FOUND: message("The resource was not found.", "资源不存在。"),
  ROUTE_NOT_FOUND: message("No operation has this method and path.", "没有与该方法和路径匹配的接口。"),
  CONFLICT: message("The resource's state does not allow this now.", "资源当前状态不允许此操作。"),
  EMAIL_TAKEN: message("An account with this email already exists.", "该邮箱已注册。"),
  ALREADY_MEMBER: message("The user is already a member of this team.", "该用户已是团队成员。"),
  INVITATION_ALREADY_ACCEPTED: message("This invitation has already been accepted.", "该邀请已被接受。"),
  INVITATION_EXPIRED: message("This invitation has expired; ask for a new one.", "该邀请已过期，请重新申请邀请。"),
  INVITATION_REVOKED: message("This invitation was withdrawn.", "该邀请已被撤销。"),
  RESET_TOKEN_INVALID: message("This reset link is not valid any more; ask for a new one.", "该重置链接已失效，请重新申请。"),
  UNPROCESSABLE: message("The request breaks a business rule.", "请求违反业务规则。"),
  LAST_OWNER: message("A team must keep at least one owner.", "团队必须至少保留一名所有者。"),
  ARCHIVED: message("This resource is archived and cannot be changed.", "该资源已归档，无法修改。"),
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
