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
    case "WEBHOOK_SIGNATURE_INVALID":
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
    case "PLAN_NOT_FOUND":
      return 404;
    case "CONFLICT":
    case "EMAIL_TAKEN":
    case "ALREADY_MEMBER":
    case "INVITATION_ALREADY_ACCEPTED":
    case "INVITATION_EXPIRED":
    case "INVITATION_REVOKED":
    case "RESET_TOKEN_INVALID":
    case "SUBSCRIPTION_EXISTS":
    case "SUBSCRIPTION_ENDED":
    case "CANCELLATION_PENDING":
    case "NOTHING_TO_RESUME":
    case "INVOICE_NOT_OPEN":
    case "PAYMENT_PROVIDER_MANAGED":
    case "IDEMPOTENCY_KEY_REUSED":
    case "WORKFLOW_NOT_PUBLISHED":
    case "RUN_NOT_RUNNING":
      return 409;
    case "UNPROCESSABLE":
    case "LAST_OWNER":
    case "ARCHIVED":
    case "PLAN_ARCHIVED":
    case "BILLING_CYCLE_MISMATCH":
    case "SAME_PLAN":
    case "CURRENCY_MISMATCH":
    case "QUOTA_BELOW_USAGE":
    case "PAYMENT_METHOD_REQUIRED":
    case "PAYMENT_METHOD_INVALID":
    case "AMOUNT_MISMATCH":
    case "UNKNOWN_NODE_TYPE":
    case "INVALID_NODE_CONFIG":
    case "DANGLING_CONNECTION":
    case "GRAPH_CYCLE":
    case "UNREACHABLE_NODE":
    case "VARIABLE_NOT_UPSTREAM":
    case "MISSING_START_NODE":
    case "MULTIPLE_START_NODES":
    case "DUPLICATE_NODE_ID":
    case "PRIVATE_NETWORK_REFUSED":
      return 422;
    case "QUOTA_EXCEEDED":
    case "RATE_LIMITED":
      return 429;
    case "INTERNAL_ERROR":
      return 500;
    case "PAYMENT_PROVIDER_UNAVAILABLE":
      return 503;
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
  PLAN_NOT_FOUND: message("No plan has this id.", "没有该 ID 的套餐。"),
  PLAN_ARCHIVED: message("This plan is archived and can no longer be chosen.", "该套餐已归档，不能再选择。"),
  BILLING_CYCLE_MISMATCH: message("This billing cycle is not the plan's.", "该计费周期与套餐不符。"),
  SAME_PLAN: message("The subscription is already on this plan.", "订阅已是该套餐。"),
  CURRENCY_MISMATCH: message("This plan is priced in another currency than the subscription.", "该套餐的币种与当前订阅不同。"),
  QUOTA_BELOW_USAGE: message("The organization uses more than this plan allows.", "组织当前用量超出该套餐的配额。"),
  PAYMENT_METHOD_REQUIRED: message("A paid plan without a trial needs a payment method.", "无试用期的付费套餐需要支付方式。"),
  PAYMENT_METHOD_INVALID: message("The payment provider refused this payment method.", "支付服务商拒绝了该支付方式。"),
  AMOUNT_MISMATCH: message("The amount is not the invoice's total.", "金额与账单总额不符。"),
  SUBSCRIPTION_EXISTS: message(
    "The organization already has a paid subscription; change its plan instead.",
    "组织已有付费订阅，请改为变更套餐。",
  ),
  SUBSCRIPTION_ENDED: message("The organization has no live subscription.", "组织没有有效的订阅。"),
  CANCELLATION_PENDING: message(
    "The subscription is set to cancel at the end of the period; resume it first.",
    "订阅已设置为在本周期结束时取消，请先恢复订阅。",
  ),
  NOTHING_TO_RESUME: message(
    "There is no cancel at period end to undo, or the period has ended.",
    "没有可撤销的周期末取消，或周期已结束。",
  ),
  INVOICE_NOT_OPEN: message("The invoice's status does not allow this.", "账单当前状态不允许此操作。"),
  PAYMENT_PROVIDER_MANAGED: message(
    "A payment provider collects these invoices; their status follows its payments.",
    "账单由支付服务商收款，其状态随支付结果更新。",
  ),
  WEBHOOK_SIGNATURE_INVALID: message("The webhook's signature is missing, wrong or too old.", "Webhook 签名缺失、错误或已过期。"),
  PAYMENT_PROVIDER_UNAVAILABLE: message(
    "The payment provider could not be reached; nothing was changed. Try again later.",
    "无法连接支付服务商，未做任何更改，请稍后重试。",
  ),
  IDEMPOTENCY_KEY_REUSED: message(
    "This idempotency key was already used for a different usage event.",
    "该幂等键已用于另一条不同的用量记录。",
  ),
  UNKNOWN_NODE_TYPE: message("A node of the workflow has an unknown type.", "工作流中有节点的类型不存在。"),
  INVALID_NODE_CONFIG: message("A node of the workflow has an invalid config.", "工作流中有节点的配置无效。"),
  DANGLING_CONNECTION: message("A connection of the workflow leads nowhere.", "工作流中有连接指向不存在的节点或端口。"),
  GRAPH_CYCLE: message("The workflow has a cycle; use an iteration node to repeat steps.", "工作流存在环路；如需重复执行请使用迭代节点。"),
  UNREACHABLE_NODE: message("A node of the workflow cannot be reached from the start node.", "工作流中有节点无法从开始节点到达。"),
  VARIABLE_NOT_UPSTREAM: message(
    "A node of the workflow refers to a variable of a node that is not upstream of it.",
    "工作流中有节点引用了非上游节点的变量。",
  ),
  MISSING_START_NODE: message("The workflow has no start node.", "工作流缺少开始节点。"),
  MULTIPLE_START_NODES: message("The workflow has more than one start node.", "工作流有多个开始节点。"),
  DUPLICATE_NODE_ID: message("Two nodes of the workflow share an id.", "工作流中有节点 ID 重复。"),
  PRIVATE_NETWORK_REFUSED: message(
    "The URL points at a private, loopback or link-local address; only public addresses are allowed.",
    "该 URL 指向私有、回环或链路本地地址；只允许公网地址。",
  ),
  WORKFLOW_NOT_PUBLISHED: message(
    "The workflow has never been published; publish it before running it.",
    "该工作流尚未发布，请先发布再运行。",
  ),
  RUN_NOT_RUNNING: message("The run has already finished.", "该运行已结束。"),
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
  /** Extra fields of the error body that the spec declares for this error (e.g. `graphError`). */
  details?: Record<string, unknown>;
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
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const localized = options.message ?? DEFAULT_MESSAGES[code];
    super(localized["en-US"], { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = statusOf(code);
    this.localized = localized;
    this.fields = options.fields;
    this.headers = options.headers ?? {};
    this.details = options.details ?? {};
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
    ...error.details,
  };
}
