import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { decodeCursor, toPage } from "../db/cursor.ts";
import { createLookupCache } from "../db/lookup-cache.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { hashKey, newOrganizationKey } from "./key-format.ts";
import { toApiKey, type ApiKey, type ApiKeyScope } from "./mappers.ts";
import * as q from "./queries.ts";

/** `last_used_at` is written at most this often per key and server, so using a key is not a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** How long a looked-up key is trusted without asking the database again. */
export const KEY_CACHE_TTL_MS = 10_000;

const keyNotValid = (why: string, zh: string) => new AppError("UNAUTHENTICATED", { message: message(why, zh) });

/** A key that authenticated: who it acts for and what it may do. */
export interface AuthenticatedKey {
  id: string;
  organizationId: string;
  scopes: readonly string[];
}

/** Organization API keys: created and revoked by root-team admins, used by trusted server-side callers. */
export function createApiKeyService(deps: { db: Kysely<Database>; now: () => Date; lookupClock?: () => number }) {
  const { db, now } = deps;
  // Keys by hash, so a metered call costs no key lookup (server/db/lookup-cache.ts, owned by their
  // hash). Unknown keys are not kept, so a key created on another server works at once; a revoke
  // evicts the key here at once, and other servers stop honouring it within the TTL.
  const cache = createLookupCache<q.ApiKeyCredential | undefined>({
    ttlMs: KEY_CACHE_TTL_MS,
    keep: (credential) => credential !== undefined,
    clock: deps.lookupClock,
  });
  const lastTouched = new Map<string, number>();

  async function touch(keyId: string): Promise<void> {
    const at = now();
    const last = lastTouched.get(keyId);
    if (last !== undefined && at.getTime() - last < LAST_USED_RESOLUTION_MS) return;
    lastTouched.set(keyId, at.getTime());
    await q.touchLastUsed(db, keyId, at);
  }

  return {
    async create(scope: TenantScope, input: { name: string; scopes: ApiKeyScope[]; expiresAt?: string }, actor: Actor) {
      const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
      if (expiresAt && expiresAt <= now()) {
        throw new AppError("VALIDATION_FAILED", {
          fields: [{ location: "body", field: "expiresAt", rule: "future", message: message("must be in the future", "必须是将来的时间") }],
        });
      }
      const key = newOrganizationKey();
      return db.transaction().execute(async (trx) => {
        const row = await q.insertApiKey(trx, scope, {
          id: newId(),
          name: input.name.trim(),
          prefix: key.prefix,
          hash: key.hash,
          scopes: [...new Set(input.scopes)].sort(),
          expiresAt,
          createdAt: now(),
        });
        const created = toApiKey(row);
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "api_key.create",
          targetType: "api_key",
          targetId: row.id,
          after: created,
        });
        return { ...created, secret: key.secret };
      });
    },

    async list(scope: TenantScope, options: { includeRevoked: boolean; cursor?: string; limit: number }) {
      const after = options.cursor ? decodeCursor(options.cursor, ["string"]) : null;
      const rows = await q.selectApiKeys(db, scope, { includeRevoked: options.includeRevoked, after, limit: options.limit });
      return toPage(rows, options.limit, (row) => [row.id], toApiKey);
    },

    async revoke(scope: TenantScope, keyId: string, actor: Actor): Promise<ApiKey> {
      const [revoked, hash] = await db.transaction().execute(async (trx) => {
        const row = await q.selectApiKeyForUpdate(trx, scope, keyId);
        if (!row || row.kind !== "organization") throw new AppError("NOT_FOUND");
        if (row.revoked_at) throw new AppError("CONFLICT", { message: message("This key is already revoked.", "该密钥已被吊销。") });
        const after = toApiKey(await q.markRevoked(trx, scope, keyId, now()));
        await recordAudit(trx, actor, {
          organizationId: scope.organizationId,
          action: "api_key.revoke",
          targetType: "api_key",
          targetId: keyId,
          before: toApiKey(row),
          after,
        });
        return [after, row.secret_hash] as const;
      });
      cache.evictOwner(hash);
      return revoked;
    },

    /** The key `secret` names, if it works now; `UNAUTHENTICATED` otherwise. Served from the cache when it can be. */
    async authenticate(secret: string): Promise<AuthenticatedKey> {
      const hash = hashKey(secret);
      const credential = await cache.lookUp(hash, hash, () => q.selectCredentialByHash(db, hash));
      if (!credential) throw keyNotValid("This API key is not valid.", "该 API 密钥无效。");
      if (credential.revoked_at) throw keyNotValid("This API key was revoked.", "该 API 密钥已被吊销。");
      if (credential.expires_at && credential.expires_at <= now()) throw keyNotValid("This API key has expired.", "该 API 密钥已过期。");
      await touch(credential.id);
      return { id: credential.id, organizationId: credential.organization_id, scopes: credential.scopes };
    },

    /** Whether the user has a role in the organization (to answer a console session 404 or 401). */
    isMember: (userId: string, organizationId: string) => q.isOrganizationMember(db, userId, organizationId),
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
