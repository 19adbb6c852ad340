import type { Authenticator } from "../http/bind-routes.ts";
import { AppError } from "../errors.ts";
import { isUuid } from "../ids.ts";
import { message } from "../messages.ts";
import { looksLikeOrganizationKey } from "./key-format.ts";
import type { ApiKeyScope } from "./mappers.ts";
import { missingScope } from "./scopes.ts";
import type { ApiKeyService } from "./service.ts";

const needsKey = () =>
  new AppError("UNAUTHENTICATED", {
    message: message(
      "This operation takes an organization API key: Authorization: Bearer org_…",
      "此接口需要组织 API 密钥：Authorization: Bearer org_…",
    ),
  });

/**
 * The `OrganizationApiKey` scheme: a bearer `org_…` key that works and belongs to the organization
 * the path names, with the scope the route asks for (`apiKeyScope`). A key of another organization
 * answers 404, as every tenant route does; so does a console session of someone outside the
 * organization, while a member's session is told to use a key. A key without the scope answers 403,
 * before the request is validated or metered.
 */
export function organizationApiKeyAuthenticator(keys: ApiKeyService, consoleToken: Authenticator): Authenticator {
  return async function authenticateOrganizationApiKey(c, route) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!bearer) throw needsKey();
    const organizationId = c.req.param("organizationId") ?? "";
    if (!looksLikeOrganizationKey(bearer)) {
      const session = await consoleToken(c, route);
      await session.pending;
      const user = session.principal?.kind === "user" ? session.principal : null;
      if (user && isUuid(organizationId) && (await keys.isMember(user.userId, organizationId))) throw needsKey();
      throw new AppError("NOT_FOUND");
    }
    const key = await keys.authenticate(bearer);
    if (key.organizationId !== organizationId.toLowerCase()) throw new AppError("NOT_FOUND");
    if (route.apiKeyScope && !key.scopes.includes(route.apiKeyScope as ApiKeyScope)) throw missingScope(route.apiKeyScope);
    return { principal: { kind: "apiKey", keyId: key.id, organizationId: key.organizationId, scopes: key.scopes } };
  };
}
