import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import { newId } from "../ids.ts";

/** Who made a change, from where: taken from the request. */
export interface Actor {
  userId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

/** One audit entry to write. */
export interface AuditEntry {
  organizationId: string | null;
  workspaceId?: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

const SECRET_KEY = /password|secret|token|hash|api_?key|authorization/i;

/** A copy of `value` with every field whose name suggests a secret replaced by `[redacted]`. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? "[redacted]" : redact(v)]));
}

/**
 * Writes an audit entry. Call it with the transaction of the change itself, so a change that
 * fails leaves no entry and a change that is written always has one.
 */
export async function recordAudit(trx: Kysely<Database>, actor: Actor, entry: AuditEntry): Promise<void> {
  await trx
    .insertInto("audit_logs")
    .values({
      id: newId(),
      organization_id: entry.organizationId,
      workspace_id: entry.workspaceId ?? null,
      actor_user_id: actor.userId,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      changes: JSON.stringify(redact({ before: entry.before ?? null, after: entry.after ?? null })),
      ip: actor.ip,
      user_agent: actor.userAgent,
      request_id: actor.requestId,
    })
    .execute();
}
