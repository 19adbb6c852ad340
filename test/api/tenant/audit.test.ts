import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redact } from "../../../server/audit/record.ts";
import { anyRequestId, createTestApp, type TestApp, type TestResponse } from "../../harness.ts";
import { addMember, createTenant, dataOf, signUp, uniqueEmail } from "../../fixtures.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const requestIdOf = (res: TestResponse) => (res.body as { requestId: string }).requestId;
const auditRowsOf = (requestId: string) => api.db.selectFrom("audit_logs").select(["action"]).where("request_id", "=", requestId).execute();

describe("audit log", () => {
  it("has exactly one entry per successful mutating call and none for a failed one", async () => {
    const t = await createTenant(api);
    const calls: [TestResponse, string | null][] = [
      [await api.call("updateTeam", { path: { teamId: t.rootTeamId }, body: { name: "Core" }, headers: t.owner.headers }), "team.update"],
      [
        await api.call("createTeam", { path: { organizationId: t.organizationId }, body: { name: "core" }, headers: t.owner.headers }),
        null,
      ],
      [
        await api.call("createTeam", { path: { organizationId: t.organizationId }, body: { name: "Edge" }, headers: t.owner.headers }),
        "team.create",
      ],
      [
        await api.call("updateTeamMember", {
          path: { teamId: t.rootTeamId, userId: t.owner.id },
          body: { role: "member" },
          headers: t.owner.headers,
        }),
        null,
      ],
      [
        await api.call("createInvitation", {
          path: { teamId: t.rootTeamId },
          body: { email: uniqueEmail(), role: "member" },
          headers: t.owner.headers,
        }),
        "invitation.create",
      ],
      [await api.call("getOrganization", { path: { organizationId: t.organizationId }, headers: t.owner.headers }), null],
    ];
    for (const [res, action] of calls) {
      expect((await auditRowsOf(requestIdOf(res))).map((r) => r.action)).toEqual(action ? [action] : []);
    }
    const log = dataOf<{ items: { action: string }[] }>(
      await api.call("listAuditLogs", { path: { organizationId: t.organizationId }, headers: t.owner.headers }),
    );
    expect(log.items.map((e) => e.action)).toEqual([
      "invitation.create",
      "team.create",
      "team.update",
      "workspace.create",
      "organization.create",
    ]);
  });

  it("records who, what, before and after, from where", async () => {
    const t = await createTenant(api);
    const res = await api.call("updateTeam", {
      path: { teamId: t.rootTeamId },
      body: { name: "Platform" },
      headers: { ...t.owner.headers, "user-agent": "audit-test/1.0" },
    });
    const log = dataOf<{ items: unknown[] }>(
      await api.call("listAuditLogs", {
        path: { organizationId: t.organizationId },
        query: { action: "team.update" },
        headers: t.owner.headers,
      }),
    );
    expect(log.items).toEqual([
      {
        id: expect.any(String),
        organizationId: t.organizationId,
        workspaceId: null,
        actorId: t.owner.id,
        action: "team.update",
        targetType: "team",
        targetId: t.rootTeamId,
        changes: {
          before: { id: t.rootTeamId, organizationId: t.organizationId, name: "Root", isRoot: true, archivedAt: null, createdAt: iso },
          after: { id: t.rootTeamId, organizationId: t.organizationId, name: "Platform", isRoot: true, archivedAt: null, createdAt: iso },
        },
        ip: null,
        userAgent: "audit-test/1.0",
        requestId: requestIdOf(res),
        createdAt: iso,
      },
    ]);
  });

  it("filters by actor, target and time, pages, and is for root admins only", async () => {
    const t = await createTenant(api);
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    await api.call("createWorkspace", { path: { teamId: t.rootTeamId }, body: { name: "By admin" }, headers: admin.headers });
    const byAdmin = dataOf<{ items: { action: string; actorId: string }[] }>(
      await api.call("listAuditLogs", {
        path: { organizationId: t.organizationId },
        query: { actorId: admin.id },
        headers: t.owner.headers,
      }),
    );
    expect(byAdmin.items.map((e) => [e.action, e.actorId])).toEqual([
      ["workspace.create", admin.id],
      ["invitation.accept", admin.id],
    ]);
    const future = new Date(api.clock.now().getTime() + 3600_000).toISOString();
    const none = dataOf<{ items: unknown[] }>(
      await api.call("listAuditLogs", { path: { organizationId: t.organizationId }, query: { from: future }, headers: t.owner.headers }),
    );
    expect(none.items).toEqual([]);
    const page = dataOf<{ items: unknown[]; nextCursor: string }>(
      await api.call("listAuditLogs", { path: { organizationId: t.organizationId }, query: { limit: 2 }, headers: t.owner.headers }),
    );
    expect(page.items).toHaveLength(2);
    const rest = dataOf<{ items: unknown[] }>(
      await api.call("listAuditLogs", {
        path: { organizationId: t.organizationId },
        query: { cursor: page.nextCursor },
        headers: t.owner.headers,
      }),
    );
    expect(rest.items.length).toBeGreaterThan(0);
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const refused = await api.call("listAuditLogs", { path: { organizationId: t.organizationId }, headers: member.headers });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      code: "FORBIDDEN",
      message: { "en-US": "Your role does not allow this.", "zh-CN": "您的角色无权执行此操作。" },
      data: null,
      requestId: anyRequestId,
    });
  });

  it("never stores a secret: passwords and tokens are redacted or absent", async () => {
    const user = await signUp(api);
    const rows = await api.db.selectFrom("audit_logs").select(["action", "changes"]).where("target_id", "=", user.id).execute();
    expect(rows.map((r) => r.action)).toEqual(["user.register"]);
    expect(JSON.stringify(rows)).not.toContain(user.password);
    expect(redact({ name: "x", password: "p", nested: { refreshToken: "t", apiKey: "k" }, list: [{ secret: 1 }] })).toEqual({
      name: "x",
      password: "[redacted]",
      nested: { refreshToken: "[redacted]", apiKey: "[redacted]" },
      list: [{ secret: "[redacted]" }],
    });
  });
});
