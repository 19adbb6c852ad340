import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEY_CACHE_TTL_MS } from "../../../server/api-keys/service.ts";
import { LOOKUP_CACHE_TTL_MS } from "../../../server/db/lookup-cache.ts";
import { anyRequestId, contractClient, createTestApp, type TestApp, type TestResponse } from "../../harness.ts";
import { addMember, createTenant, dataOf, inviteAndGetToken, signUp, type TestTenant, type TestUser } from "../../fixtures.ts";
import { createOrgKey } from "../../metering/support.ts";

// A live session, a caller's role and an API key are looked up before the handler, and kept a short
// while (server/db/lookup-cache.ts). Every test here first makes a request, so the grant is kept, and then
// takes it away: the server that took it must refuse the next request, and another server must
// refuse once the grant's life has passed.

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const unauthenticated = {
  code: "UNAUTHENTICATED",
  message: { "en-US": "This session has ended; sign in again.", "zh-CN": "会话已结束，请重新登录。" },
  data: null,
  requestId: anyRequestId,
};
const notFound = { code: "NOT_FOUND", message: expect.any(Object), data: null, requestId: anyRequestId };
const forbidden = { code: "FORBIDDEN", message: expect.any(Object), data: null, requestId: anyRequestId };
const codeOf = (res: TestResponse) => [res.status, (res.body as { code: string }).code];
const getMe = (headers: { authorization: string }, client: Pick<TestApp, "call"> = api) => client.call("getMe", { headers });

const keyRevoked = {
  code: "UNAUTHENTICATED",
  message: { "en-US": "This API key was revoked.", "zh-CN": "该 API 密钥已被吊销。" },
  data: null,
  requestId: anyRequestId,
};
/** One metered call with an organization API key: `recordUsage` with one record. */
const useKey = (t: TestTenant, key: { headers: Record<string, string> }, n: number, client: Pick<TestApp, "call"> = api) =>
  client.call("recordUsage", {
    path: { organizationId: t.organizationId },
    body: { records: [{ idempotencyKey: `kept-${n}`, resourceType: "api_call", quantity: 1 }] },
    headers: key.headers,
  });
const revokeKey = (t: TestTenant, key: { id: string }) =>
  api.call("revokeApiKey", { path: { organizationId: t.organizationId, apiKeyId: key.id }, headers: t.owner.headers });

async function login(user: TestUser): Promise<{ authorization: string }> {
  const res = await api.call("login", { body: { email: user.email, password: user.password } });
  return { authorization: `Bearer ${dataOf<{ accessToken: string }>(res).accessToken}` };
}

describe("a grant taken away, on the server that took it", () => {
  it("a lowered role is refused, and a removed member gets 404, from their next request", async () => {
    const t = await createTenant(api);
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    const rename = (name: string) =>
      api.call("updateWorkspace", { path: { workspaceId: t.workspaceId }, body: { name }, headers: admin.headers });
    expect(codeOf(await rename("Renamed by an admin"))).toEqual([200, "OK"]);

    const lowered = await api.call("updateTeamMember", {
      path: { teamId: t.rootTeamId, userId: admin.id },
      body: { role: "member" },
      headers: t.owner.headers,
    });
    expect(dataOf(lowered)).toMatchObject({ userId: admin.id, role: "member" });
    const refused = await rename("Renamed by a member");
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(forbidden);
    expect(codeOf(await api.call("getWorkspace", { path: { workspaceId: t.workspaceId }, headers: admin.headers }))).toEqual([200, "OK"]);

    await api.call("removeTeamMember", { path: { teamId: t.rootTeamId, userId: admin.id }, headers: t.owner.headers });
    const gone = await api.call("getWorkspace", { path: { workspaceId: t.workspaceId }, headers: admin.headers });
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual(notFound);
  });

  it("an owner who handed the team over is an admin from their next request", async () => {
    const t = await createTenant(api);
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    const transfer = (to: string, by: TestUser) =>
      api.call("transferTeamOwnership", { path: { teamId: t.rootTeamId }, body: { userId: to }, headers: by.headers });
    expect(codeOf(await transfer(admin.id, t.owner))).toEqual([200, "OK"]);
    const back = await transfer(t.owner.id, t.owner);
    expect(back.status).toBe(403);
    expect(back.body).toEqual(forbidden);
    expect(codeOf(await transfer(t.owner.id, admin))).toEqual([200, "OK"]);
  });

  it("a member who joins the root team as admin acts as one in the team they were already in", async () => {
    const t = await createTenant(api);
    const team = dataOf<{ id: string }>(
      await api.call("createTeam", { path: { organizationId: t.organizationId }, body: { name: "Support" }, headers: t.owner.headers }),
    );
    const workspace = dataOf<{ id: string }>(
      await api.call("createWorkspace", { path: { teamId: team.id }, body: { name: "Desk" }, headers: t.owner.headers }),
    );
    const member = await addMember(api, t.owner, team.id, "member");
    const rename = () =>
      api.call("updateWorkspace", { path: { workspaceId: workspace.id }, body: { name: "Help desk" }, headers: member.headers });
    expect(codeOf(await rename())).toEqual([403, "FORBIDDEN"]);

    const token = await inviteAndGetToken(api, t.owner, t.rootTeamId, member.email, "admin");
    expect(codeOf(await api.call("acceptInvitation", { body: { token }, headers: member.headers }))).toEqual([200, "OK"]);
    const renamed = await rename();
    expect(renamed.status).toBe(200);
    expect(dataOf(renamed)).toMatchObject({ id: workspace.id, name: "Help desk" });
  });

  it("every session ended by logging out of all of them, by a reused refresh token or by a password reset stops at once", async () => {
    const user = await signUp(api);
    const other = await login(user);
    expect((await getMe(user.headers)).status).toBe(200);
    expect((await getMe(other)).status).toBe(200);
    expect((await api.call("logout", { body: { allSessions: true }, headers: user.headers })).status).toBe(200);
    expect((await getMe(other)).body).toEqual(unauthenticated);

    const reused = await signUp(api);
    const rotated = dataOf<{ refreshToken: string; accessToken: string }>(
      await api.call("refreshSession", { body: { refreshToken: reused.refreshToken } }),
    );
    const rotatedHeaders = { authorization: `Bearer ${rotated.accessToken}` };
    expect((await getMe(rotatedHeaders)).status).toBe(200);
    expect(codeOf(await api.call("refreshSession", { body: { refreshToken: reused.refreshToken } }))).toEqual([
      401,
      "REFRESH_TOKEN_REUSED",
    ]);
    expect((await getMe(rotatedHeaders)).body).toEqual(unauthenticated);

    const reset = await signUp(api);
    expect((await getMe(reset.headers)).status).toBe(200);
    await api.call("requestPasswordReset", { body: { email: reset.email } });
    const mail = api
      .outbox()
      .filter((m) => m.to === reset.email)
      .at(-1)!.text;
    const resetToken = /Reset token: (\S+)/.exec(mail)![1]!;
    expect((await api.call("confirmPasswordReset", { body: { token: resetToken, newPassword: "a brand new password" } })).status).toBe(200);
    expect((await getMe(reset.headers)).body).toEqual(unauthenticated);
  });

  it("a revoked API key is refused from its next call", async () => {
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    expect(codeOf(await useKey(t, key, 1))).toEqual([201, "OK"]);
    expect(codeOf(await revokeKey(t, key))).toEqual([200, "OK"]);
    expect((await useKey(t, key, 2)).body).toEqual(keyRevoked);
  });
});

describe("a grant taken away on another server", () => {
  it(`is honoured for at most ${LOOKUP_CACHE_TTL_MS} ms, then refused`, async () => {
    let now = 0;
    const other = contractClient(api.anotherServer({ lookupClock: () => now }));
    const t = await createTenant(api);
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const user = await signUp(api);
    const read = () => other.call("getWorkspace", { path: { workspaceId: t.workspaceId }, headers: member.headers });
    expect(codeOf(await read())).toEqual([200, "OK"]);
    expect(codeOf(await getMe(user.headers, other))).toEqual([200, "OK"]);

    await api.call("removeTeamMember", { path: { teamId: t.rootTeamId, userId: member.id }, headers: t.owner.headers });
    expect((await api.call("logout", { body: {}, headers: user.headers })).status).toBe(200);
    now += LOOKUP_CACHE_TTL_MS;
    expect(codeOf(await read())).toEqual([200, "OK"]);
    expect(codeOf(await getMe(user.headers, other))).toEqual([200, "OK"]);

    now += 1;
    const removed = await read();
    expect(removed.status).toBe(404);
    expect(removed.body).toEqual(notFound);
    expect((await getMe(user.headers, other)).body).toEqual(unauthenticated);
  });

  it(`a revoked API key is honoured for at most ${KEY_CACHE_TTL_MS} ms, then refused`, async () => {
    let now = 0;
    const other = contractClient(api.anotherServer({ lookupClock: () => now }));
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    expect(codeOf(await useKey(t, key, 1, other))).toEqual([201, "OK"]);
    expect(codeOf(await revokeKey(t, key))).toEqual([200, "OK"]);
    now += KEY_CACHE_TTL_MS;
    expect(codeOf(await useKey(t, key, 2, other))).toEqual([201, "OK"]);
    now += 1;
    expect((await useKey(t, key, 3, other)).body).toEqual(keyRevoked);
  });

  it("a grant given there is honoured at once: denials are not kept", async () => {
    const other = contractClient(api.anotherServer({ lookupClock: () => 0 }));
    const t = await createTenant(api);
    const joining = await signUp(api);
    const read = () => other.call("getWorkspace", { path: { workspaceId: t.workspaceId }, headers: joining.headers });
    expect(codeOf(await read())).toEqual([404, "NOT_FOUND"]);
    const token = await inviteAndGetToken(api, t.owner, t.rootTeamId, joining.email, "member");
    expect(codeOf(await api.call("acceptInvitation", { body: { token }, headers: joining.headers }))).toEqual([200, "OK"]);
    expect(codeOf(await read())).toEqual([200, "OK"]);
  });
});
