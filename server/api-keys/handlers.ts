import type { APIKeysHandlers } from "../../generated/handlers.ts";
import { actorOf, scopeOf, type RequestContext } from "../http/context.ts";
import type { ApiKeyService } from "./service.ts";

/** The `ApiKeys` interface of the spec. */
export function createApiKeysHandlers(keys: ApiKeyService): APIKeysHandlers<RequestContext> {
  return {
    async createApiKey({ body }, ctx) {
      return { status: 201, data: await keys.create(scopeOf(ctx), body, actorOf(ctx)) };
    },
    async listApiKeys({ query }, ctx) {
      const page = { limit: query.limit ?? 20, ...(query.cursor ? { cursor: query.cursor } : {}) };
      return { status: 200, data: await keys.list(scopeOf(ctx), { includeRevoked: query.includeRevoked ?? false, ...page }) };
    },
    async revokeApiKey({ path }, ctx) {
      return { status: 200, data: await keys.revoke(scopeOf(ctx), path.apiKeyId, actorOf(ctx)) };
    },
  };
}
