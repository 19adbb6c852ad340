import type { components } from "../../generated/api-types.ts";
import type { ApiKeyRow } from "./queries.ts";

export type ApiKey = components["schemas"]["Metering.ApiKey"];
export type ApiKeyScope = components["schemas"]["Metering.ApiKeyScope"];

/** A stored key as the contract's `ApiKey` (never its hash). */
export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    kind: row.kind as ApiKey["kind"],
    organizationId: row.organization_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as ApiKeyScope[],
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
