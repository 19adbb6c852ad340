import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, UsersTable } from "../../generated/db.ts";

/** A row of `users`. Accounts are global: a user may belong to several organizations. */
export type UserRow = Selectable<UsersTable>;

export function selectUserByEmail(db: Kysely<Database>, email: string) {
  return db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst();
}

export function selectUserById(db: Kysely<Database>, id: string) {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

export function insertUser(db: Kysely<Database>, user: { id: string; email: string; name: string; locale: string; passwordHash: string }) {
  return db
    .insertInto("users")
    .values({ id: user.id, email: user.email, name: user.name, locale: user.locale, password_hash: user.passwordHash })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function updateUserPassword(db: Kysely<Database>, userId: string, passwordHash: string, now: Date) {
  return db
    .updateTable("users")
    .set({ password_hash: passwordHash, password_changed_at: now, updated_at: now })
    .where("id", "=", userId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function insertSession(db: Kysely<Database>, session: { id: string; userId: string; ip: string | null; userAgent: string | null }) {
  return db
    .insertInto("sessions")
    .values({ id: session.id, user_id: session.userId, ip: session.ip, user_agent: session.userAgent })
    .execute();
}

/** Whether each session is its user's and not revoked, in order: one statement for many requests (sql/0024). */
export async function selectLiveSessions(db: Kysely<Database>, sessions: readonly { id: string; userId: string }[]): Promise<boolean[]> {
  const input = sessions.map((s, ord) => ({ ord, id: s.id, user_id: s.userId }));
  const { rows } = await sql<{ o_ord: number; o_live: boolean }>`select * from live_sessions(${JSON.stringify(input)}::jsonb)`.execute(db);
  const live = new Array<boolean>(sessions.length).fill(false);
  for (const row of rows) live[row.o_ord] = row.o_live;
  return live;
}

/** Revokes sessions of `userId`: one (`sessionId`) or all; returns how many were live. */
export async function revokeSessions(
  db: Kysely<Database>,
  userId: string,
  options: { sessionId?: string; reason: "logout" | "logout_all" | "refresh_reuse" | "password_reset"; now: Date },
): Promise<number> {
  let query = db
    .updateTable("sessions")
    .set({ revoked_at: options.now, revoked_reason: options.reason })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null);
  if (options.sessionId) query = query.where("id", "=", options.sessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export function insertRefreshToken(
  db: Kysely<Database>,
  token: { id: string; sessionId: string; userId: string; tokenHash: string; expiresAt: Date },
) {
  return db
    .insertInto("refresh_tokens")
    .values({ id: token.id, session_id: token.sessionId, user_id: token.userId, token_hash: token.tokenHash, expires_at: token.expiresAt })
    .execute();
}

/**
 * Retires the refresh token with `tokenHash` if it was never used, in one statement, so two
 * concurrent refreshes with the same token cannot both succeed. Returns the token and its session.
 */
export function rotateRefreshToken(db: Kysely<Database>, tokenHash: string, now: Date) {
  return db
    .updateTable("refresh_tokens")
    .set({ rotated_at: now })
    .from("sessions")
    .whereRef("sessions.id", "=", "refresh_tokens.session_id")
    .where("refresh_tokens.token_hash", "=", tokenHash)
    .where("refresh_tokens.rotated_at", "is", null)
    .returning([
      "refresh_tokens.session_id",
      "refresh_tokens.user_id",
      "refresh_tokens.expires_at",
      "sessions.revoked_at as session_revoked_at",
    ])
    .executeTakeFirst();
}

export function selectRefreshTokenByHash(db: Kysely<Database>, tokenHash: string) {
  return db
    .selectFrom("refresh_tokens")
    .select(["session_id", "user_id", "rotated_at"])
    .where("token_hash", "=", tokenHash)
    .executeTakeFirst();
}

export function insertPasswordReset(db: Kysely<Database>, reset: { id: string; userId: string; tokenHash: string; expiresAt: Date }) {
  return db
    .insertInto("password_resets")
    .values({ id: reset.id, user_id: reset.userId, token_hash: reset.tokenHash, expires_at: reset.expiresAt })
    .execute();
}

/** Uses the reset token once: succeeds only if it is unused and unexpired. */
export function consumePasswordReset(db: Kysely<Database>, tokenHash: string, now: Date) {
  return db
    .updateTable("password_resets")
    .set({ used_at: now })
    .where("token_hash", "=", tokenHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", now)
    .returning(["user_id"])
    .executeTakeFirst();
}

/** The latest `locked_until` among `keys` that is still in the future. */
export async function selectLockedUntil(db: Kysely<Database>, keys: string[], now: Date): Promise<Date | null> {
  const row = await db
    .selectFrom("auth_throttle")
    .select((eb) => eb.fn.max("locked_until").as("until"))
    .where("key", "in", keys)
    .where("locked_until", ">", now)
    .executeTakeFirst();
  return (row?.until as Date | null | undefined) ?? null;
}

/**
 * Counts one failure for `key` in a fixed window, atomically; once `limit` failures are reached
 * the key is locked until its window ends.
 */
export async function recordFailure(db: Kysely<Database>, key: string, now: Date, limit: number, windowSeconds: number) {
  const windowStart = new Date(now.getTime() - windowSeconds * 1000);
  await sql`
    insert into auth_throttle as t (key, failures, window_started_at)
    values (${key}, 1, ${now})
    on conflict (key) do update set
      failures = case when t.window_started_at <= ${windowStart} then 1 else t.failures + 1 end,
      window_started_at = case when t.window_started_at <= ${windowStart} then ${now} else t.window_started_at end,
      locked_until = case
        when t.window_started_at <= ${windowStart} then case when 1 >= ${limit} then ${now}::timestamptz + make_interval(secs => ${windowSeconds}) end
        when t.failures + 1 >= ${limit} then t.window_started_at + make_interval(secs => ${windowSeconds})
      end`.execute(db);
}

export function clearFailures(db: Kysely<Database>, key: string) {
  return db.deleteFrom("auth_throttle").where("key", "=", key).execute();
}
