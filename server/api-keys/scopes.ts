import type { RequestContext } from "../http/context.ts";
import { AppError } from "../errors.ts";
import { message } from "../messages.ts";
import type { ApiKeyScope } from "./mappers.ts";

/**
 * The API key of an operation whose spec requires one, checked for `scope`: a key without it
 * answers 403 naming the scope.
 */
export function apiKeyOf(ctx: RequestContext, scope: ApiKeyScope): { keyId: string; organizationId: string } {
  const principal = ctx.principal;
  if (principal?.kind !== "apiKey") throw new Error(`operation ${ctx.route.operationId} ran without an API key`);
  if (!principal.scopes.includes(scope)) {
    throw new AppError("FORBIDDEN", {
      message: message(`This API key lacks the ${scope} scope.`, `该 API 密钥没有 ${scope} 权限。`),
    });
  }
  return principal;
}
