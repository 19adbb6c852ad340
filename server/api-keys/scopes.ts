import { AppError } from "../errors.ts";
import { message } from "../messages.ts";

/** 403 for an API key that lacks the scope an operation needs (its spec's `@apiKeyScope`). */
export function missingScope(scope: string): AppError {
  return new AppError("FORBIDDEN", {
    message: message(`This API key lacks the ${scope} scope.`, `该 API 密钥没有 ${scope} 权限。`),
  });
}
