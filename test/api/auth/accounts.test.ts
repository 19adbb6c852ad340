import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { dataOf, signUp, uniqueEmail } from "../../fixtures.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("register and login", () => {
  it("registers, answering the session and the user", async () => {
    const email = uniqueEmail("Reg");
    const res = await api.call("register", { body: { email, password: "a long password", name: "Ada", locale: "zh-CN" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      code: "OK",
      message: { "en-US": "OK", "zh-CN": "成功" },
      data: {
        tokenType: "Bearer",
        accessToken: expect.stringMatching(/^ey/),
        accessTokenExpiresAt: iso,
        refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        refreshTokenExpiresAt: iso,
        user: { id: expect.any(String), email: email.toLowerCase(), name: "Ada", locale: "zh-CN", createdAt: iso },
      },
      requestId: anyRequestId,
    });
    const data = dataOf<{ accessTokenExpiresAt: string; refreshTokenExpiresAt: string }>(res);
    // JWT times are whole seconds.
    expect(Date.parse(data.accessTokenExpiresAt) - Math.floor(api.clock.now().getTime() / 1000) * 1000).toBe(15 * 60 * 1000);
    expect(Date.parse(data.refreshTokenExpiresAt) - api.clock.now().getTime()).toBe(30 * 24 * 3600 * 1000);
  });

  it("refuses a second account for the same email, whatever its case", async () => {
    const user = await signUp(api);
    const res = await api.call("register", { body: { email: user.email.toUpperCase(), password: "another password", name: "Twin" } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "EMAIL_TAKEN", data: null });
  });

  it.each([
    [{ email: "not-an-email", password: "a long password", name: "X" }, "email", "format"],
    [{ email: "x@example.com", password: "short", name: "X" }, "password", "minLength"],
    [{ email: "x@example.com", password: "a long password", name: "" }, "name", "minLength"],
    [{ email: "x@example.com", password: "a long password", name: "X", locale: "fr-FR" }, "locale", "enum"],
    [{ email: "x@example.com", password: "a long password", name: "X", admin: true }, "admin", "unevaluatedProperties"],
  ])("answers 400 for %j", async (body, field, rule) => {
    const res = await api.call("register", { body });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "VALIDATION_FAILED", fields: [{ location: "body", field, rule }] });
  });

  it("logs in, and answers INVALID_CREDENTIALS alike for a wrong password and an unknown email", async () => {
    const user = await signUp(api);
    const ok = await api.call("login", { body: { email: user.email, password: user.password } });
    expect(ok.status).toBe(200);
    expect(dataOf(ok)).toMatchObject({ tokenType: "Bearer", user: { id: user.id } });
    const wrong = await api.call("login", { body: { email: user.email, password: "wrong password" } });
    const unknown = await api.call("login", { body: { email: uniqueEmail(), password: "wrong password" } });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        code: "INVALID_CREDENTIALS",
        message: { "en-US": "The email or password is wrong.", "zh-CN": "邮箱或密码错误。" },
        data: null,
        requestId: anyRequestId,
      });
    }
  });

  it("answers me for the signed-in user, and 401 without a token or with a bad one", async () => {
    const user = await signUp(api, { name: "Me" });
    const me = await api.call("getMe", { headers: user.headers });
    expect(dataOf(me)).toEqual({ id: user.id, email: user.email, name: "Me", locale: "en-US", createdAt: iso });
    expect((await api.call("getMe")).body).toMatchObject({ code: "UNAUTHENTICATED" });
    expect((await api.call("getMe", { headers: bearer("not.a.jwt") })).body).toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("answers TOKEN_EXPIRED once the access token's 15 minutes are over", async () => {
    const user = await signUp(api);
    api.clock.advance(15 * 60 * 1000 + 1000);
    try {
      const res = await api.call("getMe", { headers: user.headers });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: "TOKEN_EXPIRED" });
    } finally {
      api.clock.advance(-(15 * 60 * 1000 + 1000));
    }
  });

  it("expires a token that was used before, to the second (verified tokens are remembered)", async () => {
    const user = await signUp(api);
    expect((await api.call("getMe", { headers: user.headers })).status).toBe(200);
    api.clock.advance(15 * 60 * 1000 - 1000);
    try {
      expect((await api.call("getMe", { headers: user.headers })).status).toBe(200);
      api.clock.advance(2000);
      const res = await api.call("getMe", { headers: user.headers });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: "TOKEN_EXPIRED" });
      // Tampering with the signature of a remembered token is not a hit: another text.
      api.clock.advance(-2000);
      const token = user.headers.authorization.slice("Bearer ".length);
      const tampered = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`;
      expect((await api.call("getMe", { headers: bearer(tampered) })).body).toMatchObject({ code: "UNAUTHENTICATED" });
    } finally {
      api.clock.advance(-(15 * 60 * 1000 - 1000));
    }
  });
});

describe("refresh rotation", () => {
  it("rotates: each refresh token works once and the answer carries its successor", async () => {
    const user = await signUp(api);
    const first = await api.call("refreshSession", { body: { refreshToken: user.refreshToken } });
    expect(first.status).toBe(200);
    const next = dataOf<{ refreshToken: string; accessToken: string }>(first);
    expect(next.refreshToken).not.toBe(user.refreshToken);
    expect((await api.call("getMe", { headers: bearer(next.accessToken) })).status).toBe(200);
    const second = await api.call("refreshSession", { body: { refreshToken: next.refreshToken } });
    expect(second.status).toBe(200);
  });

  it("revokes the whole family when a retired token comes back, and says so", async () => {
    const user = await signUp(api);
    const rotated = dataOf<{ refreshToken: string; accessToken: string }>(
      await api.call("refreshSession", { body: { refreshToken: user.refreshToken } }),
    );
    const reuse = await api.call("refreshSession", { body: { refreshToken: user.refreshToken } });
    expect(reuse.status).toBe(401);
    expect(reuse.body).toEqual({
      code: "REFRESH_TOKEN_REUSED",
      message: {
        "en-US": "This refresh token was already used, so the session was ended for safety. Sign in again.",
        "zh-CN": "该刷新令牌已被使用过，为安全起见会话已终止，请重新登录。",
      },
      data: null,
      requestId: anyRequestId,
    });
    // The newest token of the family and its access token are dead too.
    expect((await api.call("refreshSession", { body: { refreshToken: rotated.refreshToken } })).body).toMatchObject({
      code: "REFRESH_TOKEN_INVALID",
    });
    expect((await api.call("getMe", { headers: bearer(rotated.accessToken) })).body).toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("answers REFRESH_TOKEN_INVALID for an unknown or expired token", async () => {
    expect((await api.call("refreshSession", { body: { refreshToken: "nope" } })).body).toMatchObject({ code: "REFRESH_TOKEN_INVALID" });
    const user = await signUp(api);
    api.clock.advance(31 * 24 * 3600 * 1000);
    try {
      expect((await api.call("refreshSession", { body: { refreshToken: user.refreshToken } })).body).toMatchObject({
        code: "REFRESH_TOKEN_INVALID",
      });
    } finally {
      api.clock.advance(-31 * 24 * 3600 * 1000);
    }
  });
});

describe("logout", () => {
  it("ends this session only, and its access token stops working at once", async () => {
    const user = await signUp(api);
    const other = dataOf<{ accessToken: string }>(await api.call("login", { body: { email: user.email, password: user.password } }));
    const res = await api.call("logout", { body: {}, headers: user.headers });
    expect(dataOf(res)).toEqual({ sessionsEnded: 1 });
    expect((await api.call("getMe", { headers: user.headers })).status).toBe(401);
    expect((await api.call("getMe", { headers: bearer(other.accessToken) })).status).toBe(200);
    expect((await api.call("refreshSession", { body: { refreshToken: user.refreshToken } })).body).toMatchObject({
      code: "REFRESH_TOKEN_INVALID",
    });
  });

  it("ends every session with allSessions", async () => {
    const user = await signUp(api);
    const other = dataOf<{ accessToken: string }>(await api.call("login", { body: { email: user.email, password: user.password } }));
    expect(dataOf(await api.call("logout", { body: { allSessions: true }, headers: user.headers }))).toEqual({ sessionsEnded: 2 });
    expect((await api.call("getMe", { headers: bearer(other.accessToken) })).status).toBe(401);
  });
});

describe("sign-in throttling", () => {
  it("locks an account for the rest of its window after 5 failures, with Retry-After", async () => {
    const user = await signUp(api);
    for (let i = 0; i < 5; i++) {
      expect((await api.call("login", { body: { email: user.email, password: "wrong password" } })).status).toBe(401);
    }
    const locked = await api.call("login", { body: { email: user.email, password: user.password } });
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ code: "RATE_LIMITED", data: null });
    expect(Number(locked.headers.get("retry-after"))).toBe(15 * 60);
    api.clock.advance(15 * 60 * 1000);
    try {
      expect((await api.call("login", { body: { email: user.email, password: user.password } })).status).toBe(200);
    } finally {
      api.clock.advance(-15 * 60 * 1000);
    }
  });
});

describe("password reset", () => {
  const resetTokenFrom = (text: string) => /Reset token: (\S+)/.exec(text)?.[1] ?? "";

  it("answers the same whether or not the account exists, and mails only real accounts", async () => {
    const user = await signUp(api);
    const before = api.outbox().length;
    const known = await api.call("requestPasswordReset", { body: { email: user.email } });
    const unknown = await api.call("requestPasswordReset", { body: { email: uniqueEmail() } });
    expect(known.status).toBe(unknown.status);
    expect(dataOf(known)).toEqual(dataOf(unknown));
    expect(dataOf(known)).toEqual({ accepted: true });
    const mails = api.outbox().slice(before);
    expect(mails.map((m) => [m.to, m.kind, m.subject])).toEqual([[user.email, "password_reset", "Reset your password"]]);
  });

  it("sets the new password once, ending every session", async () => {
    const user = await signUp(api);
    await api.call("requestPasswordReset", { body: { email: user.email } });
    const token = resetTokenFrom(
      api
        .outbox()
        .filter((m) => m.to === user.email)
        .at(-1)!.text,
    );
    const res = await api.call("confirmPasswordReset", { body: { token, newPassword: "a brand new password" } });
    expect(res.status).toBe(200);
    expect(dataOf(res)).toMatchObject({ id: user.id, email: user.email });
    expect((await api.call("getMe", { headers: user.headers })).status).toBe(401);
    expect((await api.call("login", { body: { email: user.email, password: user.password } })).status).toBe(401);
    expect((await api.call("login", { body: { email: user.email, password: "a brand new password" } })).status).toBe(200);
    const again = await api.call("confirmPasswordReset", { body: { token, newPassword: "yet another password" } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: "RESET_TOKEN_INVALID" });
  });

  it("refuses an expired reset token", async () => {
    const user = await signUp(api);
    await api.call("requestPasswordReset", { body: { email: user.email } });
    const token = resetTokenFrom(
      api
        .outbox()
        .filter((m) => m.to === user.email)
        .at(-1)!.text,
    );
    api.clock.advance(3601 * 1000);
    try {
      expect((await api.call("confirmPasswordReset", { body: { token, newPassword: "a brand new password" } })).body).toMatchObject({
        code: "RESET_TOKEN_INVALID",
      });
    } finally {
      api.clock.advance(-3601 * 1000);
    }
  });
});
