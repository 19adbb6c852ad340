import type { Kysely, Selectable } from "kysely";
import type { ApiKeysTable, Database } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { TenantScope } from "../tenancy/scope.ts";

export type ApiKeyRow = Selectable<ApiKeysTable>;

/** What authenticating a key needs, found by its hash. */
export type ApiKeyCredential = Pick<ApiKeyRow, "id" | "organization_id" | "kind" | "scopes" | "expires_at" | "revoked_at">;

export async function insertApiKey(
  trx: Kysely<Database>,
  scope: TenantScope,
  key: { id: string; name: string; prefix: string; hash: string; scopes: string[]; expiresAt: Date | null; createdAt: Date },
): Promise<ApiKeyRow> {
  return trx
    .insertInto("api_keys")
    .values({
      id: key.id,
      organization_id: scope.organizationId,
      kind: "organization",
      name: key.name,
      prefix: key.prefix,
      secret_hash: key.hash,
      scopes: key.scopes,
      expires_at: key.expiresAt,
      created_by: scope.userId,
      created_at: key.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The organization's keys, newest first (ids are UUID v7). */
export async function selectApiKeys(
  db: Kysely<Database>,
  scope: TenantScope,
  options: { includeRevoked: boolean; after: CursorKey | null; limit: number },
): Promise<ApiKeyRow[]> {
  let query = db.selectFrom("api_keys").selectAll().where("organization_id", "=", scope.organizationId).where("kind", "=", "organization");
  if (!options.includeRevoked) query = query.where("revoked_at", "is", null);
  if (options.after) query = query.where("id", "<", String(options.after[0]));
  return query
    .orderBy("id", "desc")
    .limit(options.limit + 1)
    .execute();
}

/** One of the organization's keys, locked for a change. */
export async function selectApiKeyForUpdate(trx: Kysely<Database>, scope: TenantScope, id: string): Promise<ApiKeyRow | undefined> {
  return trx
    .selectFrom("api_keys")
    .selectAll()
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
}

export async function markRevoked(trx: Kysely<Database>, scope: TenantScope, id: string, at: Date): Promise<ApiKeyRow> {
  return trx
    .updateTable("api_keys")
    .set({ revoked_at: at })
    .where("organization_id", "=", scope.organizationId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The key with this hash, live or not: the caller decides what revoked and expired answer. */
export async function selectCredentialByHash(db: Kysely<Database>, hash: string): Promise<ApiKeyCredential | undefined> {
  return db
    .selectFrom("api_keys")
    .select(["id", "organization_id", "kind", "scopes", "expires_at", "revoked_at"])
    .where("secret_hash", "=", hash)
    .executeTakeFirst();
}

export async function touchLastUsed(db: Kysely<Database>, keyId: string, at: Date): Promise<void> {
  await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", keyId).execute();
}

/** Whether the user has a role in any team of the organization. */
export async function isOrganizationMember(db: Kysely<Database>, userId: string, organizationId: string): Promise<boolean> {
  const row = await db
    .selectFrom("team_members")
    .select("user_id")
    .where("organization_id", "=", organizationId)
    .where("user_id", "=", userId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
