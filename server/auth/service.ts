import type { Kysely } from "kysely";
import type { components } from "../../generated/api-types.ts";
import type { Database } from "../../generated/db.ts";
import { recordAudit, type Actor } from "../audit/record.ts";
import { isUniqueViolation } from "../db/errors.ts";
import type { LookupCache } from "../db/lookup-cache.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { message } from "../messages.ts";
import type { AccessTokens } from "./access-tokens.ts";
import type { Mailer } from "./mailer.ts";
import { DECOY_HASH, hashPassword, verifyPassword } from "./passwords.ts";
import * as q from "./queries.ts";
import { hashToken, newOpaqueToken } from "./secrets.ts";

export type User = components["schemas"]["Auth.User"];
export type Session = components["schemas"]["Auth.Session"];

/** Token lifetimes and sign-in throttle limits. */
export const AUTH_POLICY = {
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  passwordResetTtlSeconds: 3600,
  throttleWindowSeconds: 15 * 60,
  failuresPerAccount: 5,
  failuresPerIp: 20,
} as const;

export function toUser(row: q.UserRow): User {
  return { id: row.id, email: row.email, name: row.name, locale: row.locale as User["locale"], createdAt: row.created_at.toISOString() };
}

const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** What the account rules need. */
export interface AuthDeps {
  db: Kysely<Database>;
  tokens: AccessTokens;
  mailer: Mailer;
  now: () => Date;
  /** The base URL put in mailed links. */
  publicUrl: string;
  /** The live sessions the console authenticator keeps (`consoleTokenAuthenticator`): a session ended here leaves it at once. */
  liveSessions?: LookupCache<boolean>;
}

/** Accounts and sessions: registration, sign-in with throttling, refresh rotation with reuse detection, logout, password reset. */
export function createAuthService(deps: AuthDeps) {
  const { db, now } = deps;

  /** Starts a session (a new refresh-token family) inside `trx`, and signs its first access token. */
  async function startSession(trx: Kysely<Database>, user: q.UserRow, actor: Actor): Promise<Session> {
    const sessionId = newId();
    await q.insertSession(trx, { id: sessionId, userId: user.id, ip: actor.ip, userAgent: actor.userAgent });
    return issuePair(trx, user, sessionId);
  }

  async function issuePair(trx: Kysely<Database>, user: q.UserRow, sessionId: string): Promise<Session> {
    const refreshToken = newOpaqueToken();
    const refreshTokenExpiresAt = new Date(now().getTime() + AUTH_POLICY.refreshTokenTtlSeconds * 1000);
    await q.insertRefreshToken(trx, {
      id: newId(),
      sessionId,
      userId: user.id,
      tokenHash: hashToken(refreshToken),
      expiresAt: refreshTokenExpiresAt,
    });
    const access = await deps.tokens.issue({ userId: user.id, sessionId });
    return {
      tokenType: "Bearer",
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken,
      refreshTokenExpiresAt: refreshTokenExpiresAt.toISOString(),
      user: toUser(user),
    };
  }

  async function createAccount(
    trx: Kysely<Database>,
    input: { email: string; password: string; name: string; locale: string },
    actor: Actor,
  ): Promise<q.UserRow> {
    const email = normalizeEmail(input.email);
    if (await q.selectUserByEmail(trx, email)) throw new AppError("EMAIL_TAKEN");
    const passwordHash = await hashPassword(input.password);
    let user: q.UserRow;
    try {
      user = await q.insertUser(trx, { id: newId(), email, name: input.name.trim(), locale: input.locale, passwordHash });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError("EMAIL_TAKEN", { cause: error });
      throw error;
    }
    await recordAudit(
      trx,
      { ...actor, userId: user.id },
      { organizationId: null, action: "user.register", targetType: "user", targetId: user.id, after: toUser(user) },
    );
    return user;
  }

  return {
    createAccount,
    startSession,

    async register(input: { email: string; password: string; name: string; locale?: string }, actor: Actor): Promise<Session> {
      return db.transaction().execute(async (trx) => {
        const user = await createAccount(trx, { ...input, locale: input.locale ?? "en-US" }, actor);
        return startSession(trx, user, actor);
      });
    },

    async login(input: { email: string; password: string }, actor: Actor): Promise<Session> {
      const email = normalizeEmail(input.email);
      const keys = [`account:${email}`, ...(actor.ip ? [`ip:${actor.ip}`] : [])];
      const lockedUntil = await q.selectLockedUntil(db, keys, now());
      if (lockedUntil) {
        const seconds = Math.max(1, Math.ceil((lockedUntil.getTime() - now().getTime()) / 1000));
        throw new AppError("RATE_LIMITED", {
          message: message("Too many failed sign-ins; try again later.", "登录失败次数过多，请稍后再试。"),
          headers: { "Retry-After": String(seconds) },
        });
      }
      const user = await q.selectUserByEmail(db, email);
      const matches = await verifyPassword(user?.password_hash ?? DECOY_HASH, input.password);
      if (!user || !matches) {
        const window = AUTH_POLICY.throttleWindowSeconds;
        await q.recordFailure(db, `account:${email}`, now(), AUTH_POLICY.failuresPerAccount, window);
        if (actor.ip) await q.recordFailure(db, `ip:${actor.ip}`, now(), AUTH_POLICY.failuresPerIp, window);
        throw new AppError("INVALID_CREDENTIALS");
      }
      return db.transaction().execute(async (trx) => {
        await q.clearFailures(trx, `account:${email}`);
        const session = await startSession(trx, user, actor);
        await recordAudit(
          trx,
          { ...actor, userId: user.id },
          { organizationId: null, action: "session.login", targetType: "user", targetId: user.id },
        );
        return session;
      });
    },

    async refresh(refreshToken: string): Promise<Session> {
      const tokenHash = hashToken(refreshToken);
      const rotated = await db.transaction().execute(async (trx) => {
        const token = await q.rotateRefreshToken(trx, tokenHash, now());
        if (!token || token.session_revoked_at !== null || token.expires_at <= now()) return token ? "invalid" : null;
        const user = await q.selectUserById(trx, token.user_id);
        if (!user) return "invalid";
        return issuePair(trx, user, token.session_id);
      });
      if (rotated === "invalid") throw new AppError("REFRESH_TOKEN_INVALID");
      if (rotated) return rotated;
      const known = await q.selectRefreshTokenByHash(db, tokenHash);
      if (!known) throw new AppError("REFRESH_TOKEN_INVALID");
      // A retired token came back: someone holds a copy. End the whole family; the holder of the
      // newest token signs in again.
      await q.revokeSessions(db, known.user_id, { sessionId: known.session_id, reason: "refresh_reuse", now: now() });
      deps.liveSessions?.evictOwner(known.user_id);
      throw new AppError("REFRESH_TOKEN_REUSED");
    },

    async logout(principal: { userId: string; sessionId: string }, allSessions: boolean, actor: Actor): Promise<number> {
      const sessionsEnded = await db.transaction().execute(async (trx) => {
        const ended = await q.revokeSessions(trx, principal.userId, {
          ...(allSessions ? {} : { sessionId: principal.sessionId }),
          reason: allSessions ? "logout_all" : "logout",
          now: now(),
        });
        await recordAudit(trx, actor, {
          organizationId: null,
          action: allSessions ? "session.logout_all" : "session.logout",
          targetType: "user",
          targetId: principal.userId,
          after: { sessionsEnded: ended },
        });
        return ended;
      });
      deps.liveSessions?.evictOwner(principal.userId);
      return sessionsEnded;
    },

    async me(userId: string): Promise<User> {
      const user = await q.selectUserById(db, userId);
      if (!user) throw new AppError("UNAUTHENTICATED");
      return toUser(user);
    },

    async requestPasswordReset(emailInput: string, actor: Actor): Promise<void> {
      const user = await q.selectUserByEmail(db, normalizeEmail(emailInput));
      if (!user) return;
      const token = newOpaqueToken();
      await db.transaction().execute(async (trx) => {
        const id = newId();
        await q.insertPasswordReset(trx, {
          id,
          userId: user.id,
          tokenHash: hashToken(token),
          expiresAt: new Date(now().getTime() + AUTH_POLICY.passwordResetTtlSeconds * 1000),
        });
        await recordAudit(
          trx,
          { ...actor, userId: null },
          { organizationId: null, action: "password_reset.request", targetType: "user", targetId: user.id },
        );
      });
      const link = `${deps.publicUrl}/reset-password?token=${token}`;
      const zh = user.locale === "zh-CN";
      await deps.mailer.send({
        kind: "password_reset",
        to: user.email,
        subject: zh ? "重置您的密码" : "Reset your password",
        text: zh
          ? `有人请求重置您的密码。如果是您本人，请在一小时内打开此链接：\n${link}\n重置令牌：${token}`
          : `Someone asked to reset your password. If it was you, open this link within an hour:\n${link}\nReset token: ${token}`,
      });
    },

    async confirmPasswordReset(token: string, newPassword: string, actor: Actor): Promise<User> {
      const passwordHash = await hashPassword(newPassword);
      const account = await db.transaction().execute(async (trx) => {
        const reset = await q.consumePasswordReset(trx, hashToken(token), now());
        if (!reset) throw new AppError("RESET_TOKEN_INVALID");
        const user = await q.updateUserPassword(trx, reset.user_id, passwordHash, now());
        const ended = await q.revokeSessions(trx, user.id, { reason: "password_reset", now: now() });
        await recordAudit(
          trx,
          { ...actor, userId: null },
          {
            organizationId: null,
            action: "password_reset.confirm",
            targetType: "user",
            targetId: user.id,
            after: { passwordHash: true, sessionsEnded: ended },
          },
        );
        return toUser(user);
      });
      deps.liveSessions?.evictOwner(account.id);
      return account;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
