import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../../generated/routes.ts";
import { createTestApp, type TestApp } from "../../harness.ts";
import { createTenant, dataOf, inviteAndGetToken, uniqueEmail, type TestTenant } from "../../fixtures.ts";

/**
 * Walks the generated route table: every operation whose path names an organization, team or
 * workspace is called by a user of another organization with tenant A's real ids, and must answer
 * 404 — never 403, never the row. Operations added to the spec later are covered without a new test.
 */
const TENANT_PARAM = /\{(organizationId|teamId|workspaceId)\}/;
const scoped = routes.filter((r) => TENANT_PARAM.test(r.path));

let api: TestApp;
let a: TestTenant;
let b: TestTenant;
let ids: Record<string, string>;

beforeAll(async () => {
  api = await createTestApp();
  a = await createTenant(api);
  b = await createTenant(api);
  await inviteAndGetToken(api, a.owner, a.rootTeamId, uniqueEmail(), "member");
  const invitations = dataOf<{ items: { id: string }[] }>(
    await api.call("listInvitations", { path: { teamId: a.rootTeamId }, headers: a.owner.headers }),
  );
  ids = {
    organizationId: a.organizationId,
    teamId: a.rootTeamId,
    workspaceId: a.workspaceId,
    userId: a.owner.id,
    invitationId: invitations.items[0]!.id,
  };
});
afterAll(() => api.close());

describe("tenant isolation", () => {
  it("covers every tenant-scoped operation of the spec", () => {
    console.info(`tenant isolation: ${scoped.length} operations covered: ${scoped.map((r) => r.operationId).join(", ")}`);
    expect(scoped.length).toBeGreaterThanOrEqual(20);
  });

  it.each(scoped.map((r) => [r.operationId, r] as const))("%s answers 404 to another organization's user", async (_id, route) => {
    const path = route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => ids[name] ?? randomUUID());
    const body = route.requestBody ? JSON.stringify({}) : undefined;
    const res = await api.raw(route.method.toUpperCase(), path, {
      headers: { ...b.owner.headers, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body } : {}),
    });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: "NOT_FOUND", data: null });
  });

  it("answers 200 to the owner for the same ids, so the 404s are about the caller, not the ids", async () => {
    for (const operationId of ["getOrganization", "getTeam", "getWorkspace", "listTeamMembers", "listInvitations"] as const) {
      const route = scoped.find((r) => r.operationId === operationId)!;
      const path = route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => ids[name]!);
      expect((await api.raw("GET", path, { headers: a.owner.headers })).status).toBe(200);
    }
  });
});
