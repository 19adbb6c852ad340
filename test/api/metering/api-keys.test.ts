import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { addMember, createTenant, dataOf } from "../../fixtures.ts";
import { recordUsage } from "../../metering/support.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

describe("organization API keys", () => {
  it("shows the secret once, lists keys by prefix only, and revokes them for good", async () => {
    const t = await createTenant(api);
    const path = { organizationId: t.organizationId };
    const created = await api.call("createApiKey", { path, body: { name: " Ingest ", scopes: ["usage:write"] }, headers: t.owner.headers });
    expect(created.status).toBe(201);
    const key = dataOf<{ id: string; secret: string; prefix: string }>(created);
    const listed = {
      id: key.id,
      kind: "organization",
      organizationId: t.organizationId,
      name: "Ingest",
      prefix: key.secret.slice(0, 12),
      scopes: ["usage:write"],
      expiresAt: null,
      lastUsedAt: null,
      createdBy: t.owner.id,
      createdAt: iso,
      revokedAt: null,
    };
    expect(created.body).toEqual({
      code: "OK",
      message: expect.any(Object),
      data: { ...listed, secret: expect.stringMatching(/^org_[A-Za-z0-9_-]{40}$/) },
      requestId: anyRequestId,
    });
    const list = await api.call("listApiKeys", { path, headers: t.owner.headers });
    expect(dataOf(list)).toEqual({ items: [listed], nextCursor: null });
    expect(JSON.stringify(list.body)).not.toContain(key.secret);
    const stored = await api.db.selectFrom("api_keys").select("secret_hash").where("id", "=", key.id).executeTakeFirstOrThrow();
    expect(stored.secret_hash).toMatch(/^[0-9a-f]{64}$/);

    const revoked = await api.call("revokeApiKey", { path: { ...path, apiKeyId: key.id }, headers: t.owner.headers });
    expect(dataOf(revoked)).toEqual({ ...listed, revokedAt: iso });
    const twice = await api.call("revokeApiKey", { path: { ...path, apiKeyId: key.id }, headers: t.owner.headers });
    expect([twice.status, (twice.body as { code: string }).code]).toEqual([409, "CONFLICT"]);
    expect(dataOf<{ items: unknown[] }>(await api.call("listApiKeys", { path, headers: t.owner.headers })).items).toEqual([]);
    expect(
      dataOf<{ items: unknown[] }>(await api.call("listApiKeys", { path, query: { includeRevoked: true }, headers: t.owner.headers }))
        .items,
    ).toHaveLength(1);

    const audit = dataOf<{ items: { action: string; targetId: string }[] }>(
      await api.call("listAuditLogs", { path, query: { targetType: "api_key" }, headers: t.owner.headers }),
    );
    expect(audit.items.map((e) => [e.action, e.targetId])).toEqual([
      ["api_key.revoke", key.id],
      ["api_key.create", key.id],
    ]);
    expect(JSON.stringify(audit.items)).not.toContain(key.secret);
  });

  it("notes when a key was last used, at most once a minute", async () => {
    const t = await createTenant(api);
    const path = { organizationId: t.organizationId };
    const key = dataOf<{ id: string; secret: string }>(
      await api.call("createApiKey", { path, body: { name: "k", scopes: ["usage:write"] }, headers: t.owner.headers }),
    );
    const headers = { authorization: `Bearer ${key.secret}` };
    const used = async () =>
      dataOf<{ items: { lastUsedAt: string | null }[] }>(await api.call("listApiKeys", { path, headers: t.owner.headers })).items[0]!
        .lastUsedAt;
    await recordUsage(api, t, { headers }, [{ idempotencyKey: "1", resourceType: "api_call", quantity: 1 }]);
    const first = await used();
    expect(first).toBe(api.clock.now().toISOString());
    api.clock.advance(30_000);
    await recordUsage(api, t, { headers }, [{ idempotencyKey: "2", resourceType: "api_call", quantity: 1 }]);
    expect(await used()).toBe(first);
    api.clock.advance(31_000);
    await recordUsage(api, t, { headers }, [{ idempotencyKey: "3", resourceType: "api_call", quantity: 1 }]);
    expect(await used()).toBe(api.clock.now().toISOString());
    api.clock.advance(-61_000);
  });

  it("refuses an expiry in the past, and is for root-team admins only", async () => {
    const t = await createTenant(api);
    const path = { organizationId: t.organizationId };
    const past = await api.call("createApiKey", {
      path,
      body: { name: "old", scopes: ["usage:write"], expiresAt: new Date(api.clock.now().getTime() - 1000).toISOString() },
      headers: t.owner.headers,
    });
    expect(past.body).toMatchObject({ code: "VALIDATION_FAILED", fields: [{ location: "body", field: "expiresAt", rule: "future" }] });
    const noScope = await api.call("createApiKey", { path, body: { name: "none", scopes: [] }, headers: t.owner.headers });
    expect(noScope.body).toMatchObject({ code: "VALIDATION_FAILED", fields: [{ field: "scopes", rule: "minItems" }] });
    const editor = await addMember(api, t.owner, t.rootTeamId, "editor");
    const denied = await api.call("listApiKeys", { path, headers: editor.headers });
    expect([denied.status, (denied.body as { code: string }).code]).toEqual([403, "FORBIDDEN"]);
    const stranger = await createTenant(api);
    expect(
      (await api.call("createApiKey", { path, body: { name: "x", scopes: ["usage:write"] }, headers: stranger.owner.headers })).status,
    ).toBe(404);
  });
});
