import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./context.ts";
import { AppError, errorBody } from "../errors.ts";

function render(c: Context<AppEnv>, error: AppError) {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(errorBody(error, c.get("requestId")), error.status);
}

/**
 * The one place errors become responses. An `AppError` is rendered as the error envelope of its
 * code; anything else is a fault: logged once with the request id, answered with a generic 500.
 */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof AppError) return render(c, error);
  if (error instanceof HTTPException && error.status < 500) {
    const code = error.status === 404 ? "ROUTE_NOT_FOUND" : error.status === 401 ? "UNAUTHENTICATED" : "VALIDATION_FAILED";
    return render(c, new AppError(code, { cause: error }));
  }
  c.get("log").error({ err: error, requestId: c.get("requestId") }, "unhandled error");
  return render(c, new AppError("INTERNAL_ERROR", { cause: error }));
};

/** No operation has this method and path. */
export const onNotFound: NotFoundHandler<AppEnv> = (c) => render(c, new AppError("ROUTE_NOT_FOUND"));
