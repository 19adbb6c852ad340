import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../harness.ts";
import { createTenant, dataOf, signUp } from "../../fixtures.ts";

// Every console request checks that its session is live and resolves the tenant its path names.
// Requests that arrive together share one statement for each (sql/0024, server/db/coalescer.ts);
// each must still get its own answer, whatever else its batch holds.

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

describe("lookups gathered from concurrent requests", () => {
  it("answers each request by its own session and role", async () => {
    const a = await createTenant(api);
    const b = await createTenant(api);
    const ended = await signUp(api);
    expect((await api.call("logout", { body: {}, headers: ended.headers })).status).toBe(200);
    const workspace = (t: typeof a) => ({ workspaceId: t.workspaceId });

    const answers = await Promise.all([
      api.call("getWorkspace", { path: workspace(a), headers: a.owner.headers }),
      api.call("getWorkspace", { path: workspace(a), headers: b.owner.headers }),
      api.call("getWorkspace", { path: workspace(b), headers: b.owner.headers }),
      api.call("getWorkspace", { path: workspace(a), headers: ended.headers }),
      api.call("getWorkspace", { path: { workspaceId: randomUUID() }, headers: a.owner.headers }),
      api.call("getOrganization", { path: { organizationId: a.organizationId }, headers: a.owner.headers }),
      api.call("getOrganization", { path: { organizationId: a.organizationId }, headers: b.owner.headers }),
      api.call("getMe", { headers: a.owner.headers }),
      api.call("getMe", { headers: ended.headers }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 404, 200, 401, 404, 200, 404, 200, 401]);
    expect(dataOf<{ id: string }>(answers[0]!).id).toBe(a.workspaceId);
    expect(dataOf<{ id: string }>(answers[2]!).id).toBe(b.workspaceId);
    expect(dataOf<{ id: string }>(answers[5]!).id).toBe(a.organizationId);
    expect(dataOf<{ id: string }>(answers[7]!).id).toBe(a.owner.id);
    expect(answers[3]!.body).toMatchObject({
      code: "UNAUTHENTICATED",
      message: { "en-US": "This session has ended; sign in again.", "zh-CN": "会话已结束，请重新登录。" },
    });
    expect(answers[1]!.body).toMatchObject({ code: "NOT_FOUND", data: null });
  });

  it("answers an ended session 401 before anything its path would get: another tenant's 404, a malformed id's 400", async () => {
    const a = await createTenant(api);
    const ended = await signUp(api);
    expect((await api.call("logout", { body: {}, headers: ended.headers })).status).toBe(200);
    const answers = await Promise.all([
      api.call("getWorkspace", { path: { workspaceId: a.workspaceId }, headers: ended.headers }),
      api.call("getWorkspace", { path: { workspaceId: "not-a-uuid" }, headers: ended.headers }),
      api.call("getWorkspace", { path: { workspaceId: "not-a-uuid" }, headers: a.owner.headers }),
    ]);
    expect(answers.map((r) => [r.status, (r.body as { code: string }).code])).toEqual([
      [401, "UNAUTHENTICATED"],
      [401, "UNAUTHENTICATED"],
      [400, "VALIDATION_FAILED"],
    ]);
  });
});
