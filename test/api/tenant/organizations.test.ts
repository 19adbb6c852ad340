import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FREE_PLAN_ID, currentPlanOf } from "../../../server/billing/current-plan.ts";
import { anyRequestId, createTestApp, type TestApp } from "../../harness.ts";
import { addMember, createTenant, dataOf, signUp } from "../../fixtures.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const uuid = expect.stringMatching(/^[0-9a-f-]{36}$/);

describe("organizations", () => {
  it("creates an organization whose creator owns its root team", async () => {
    const owner = await signUp(api);
    const res = await api.call("createOrganization", { body: { name: "Acme" }, headers: owner.headers });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      code: "OK",
      message: { "en-US": "OK", "zh-CN": "成功" },
      data: { id: uuid, name: "Acme", rootTeamId: uuid, myRole: "owner", createdAt: iso, updatedAt: iso },
      requestId: anyRequestId,
    });
    const org = dataOf<{ id: string; rootTeamId: string }>(res);
    const teams = await api.call("listTeams", { path: { organizationId: org.id }, headers: owner.headers });
    expect(dataOf(teams)).toEqual({
      items: [{ id: org.rootTeamId, organizationId: org.id, name: "Root", isRoot: true, archivedAt: null, createdAt: iso }],
      nextCursor: null,
    });
    const members = await api.call("listTeamMembers", { path: { teamId: org.rootTeamId }, headers: owner.headers });
    expect(dataOf(members)).toEqual({
      items: [{ teamId: org.rootTeamId, userId: owner.id, email: owner.email, name: "Test User", role: "owner", joinedAt: iso }],
      nextCursor: null,
    });
  });

  it("starts a new organization on the free plan, monthly, from its creation", async () => {
    const t = await createTenant(api);
    const plan = await currentPlanOf(api.db, t.organizationId, api.clock.now());
    expect(plan).toMatchObject({ planId: FREE_PLAN_ID, status: "active", quotas: { api_calls_per_month: 1000, team_members: 3 } });
    const months =
      (plan!.periodEnd.getUTCFullYear() - plan!.periodStart.getUTCFullYear()) * 12 +
      plan!.periodEnd.getUTCMonth() -
      plan!.periodStart.getUTCMonth();
    expect(months).toBe(1);
  });

  it("lists the caller's organizations newest first, with their role", async () => {
    const user = await signUp(api);
    const a = await createTenant(api, user);
    const b = await createTenant(api, user);
    const other = await createTenant(api);
    const member = await addMember(api, other.owner, other.rootTeamId, "editor");
    const mine = dataOf<{ items: { id: string; myRole: string }[] }>(await api.call("listOrganizations", { headers: user.headers }));
    expect(mine.items.map((o) => [o.id, o.myRole])).toEqual([
      [b.organizationId, "owner"],
      [a.organizationId, "owner"],
    ]);
    const theirs = dataOf<{ items: { id: string; myRole: string }[] }>(await api.call("listOrganizations", { headers: member.headers }));
    expect(theirs.items.map((o) => [o.id, o.myRole])).toEqual([[other.organizationId, "editor"]]);
  });

  it("lets root admins rename it, and refuses members with 403", async () => {
    const t = await createTenant(api);
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const renamed = await api.call("updateOrganization", {
      path: { organizationId: t.organizationId },
      body: { name: "Renamed" },
      headers: admin.headers,
    });
    expect(dataOf(renamed)).toMatchObject({ name: "Renamed", myRole: "admin" });
    const refused = await api.call("updateOrganization", {
      path: { organizationId: t.organizationId },
      body: { name: "Nope" },
      headers: member.headers,
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "FORBIDDEN" });
    expect(
      dataOf(await api.call("getOrganization", { path: { organizationId: t.organizationId }, headers: member.headers })),
    ).toMatchObject({ name: "Renamed", myRole: "member" });
  });
});

describe("teams", () => {
  it("creates, renames and archives a team (and its workspaces); names are unique among live teams", async () => {
    const t = await createTenant(api);
    const created = await api.call("createTeam", {
      path: { organizationId: t.organizationId },
      body: { name: "Research" },
      headers: t.owner.headers,
    });
    expect(created.status).toBe(201);
    const team = dataOf<{ id: string }>(created);
    expect(dataOf(created)).toEqual({
      id: uuid,
      organizationId: t.organizationId,
      name: "Research",
      isRoot: false,
      archivedAt: null,
      createdAt: iso,
    });
    const dup = await api.call("createTeam", {
      path: { organizationId: t.organizationId },
      body: { name: "research" },
      headers: t.owner.headers,
    });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ code: "CONFLICT" });
    expect(
      dataOf(await api.call("updateTeam", { path: { teamId: team.id }, body: { name: "R&D" }, headers: t.owner.headers })),
    ).toMatchObject({ name: "R&D" });
    const ws = dataOf<{ id: string }>(
      await api.call("createWorkspace", { path: { teamId: team.id }, body: { name: "Lab" }, headers: t.owner.headers }),
    );
    const archived = await api.call("archiveTeam", { path: { teamId: team.id }, headers: t.owner.headers });
    expect(dataOf(archived)).toMatchObject({ id: team.id, archivedAt: iso });
    expect(dataOf(await api.call("getWorkspace", { path: { workspaceId: ws.id }, headers: t.owner.headers }))).toMatchObject({
      archivedAt: iso,
    });
    const rename = await api.call("updateTeam", { path: { teamId: team.id }, body: { name: "Again" }, headers: t.owner.headers });
    expect(rename.status).toBe(422);
    expect(rename.body).toMatchObject({ code: "ARCHIVED" });
    const live = dataOf<{ items: { name: string }[] }>(
      await api.call("listTeams", { path: { organizationId: t.organizationId }, headers: t.owner.headers }),
    );
    expect(live.items.map((x) => x.name)).toEqual(["Root"]);
    const all = dataOf<{ items: { name: string }[] }>(
      await api.call("listTeams", {
        path: { organizationId: t.organizationId },
        query: { includeArchived: true },
        headers: t.owner.headers,
      }),
    );
    expect(all.items.map((x) => x.name)).toEqual(["Root", "R&D"]);
  });

  it("keeps the root team from being archived", async () => {
    const t = await createTenant(api);
    const res = await api.call("archiveTeam", { path: { teamId: t.rootTeamId }, headers: t.owner.headers });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: "UNPROCESSABLE", message: { "en-US": "The root team cannot be archived." } });
  });

  it("gives root admins admin rights on every team, and team roles no rights on the organization", async () => {
    const t = await createTenant(api);
    const rootAdmin = await addMember(api, t.owner, t.rootTeamId, "admin");
    const team = dataOf<{ id: string }>(
      await api.call("createTeam", { path: { organizationId: t.organizationId }, body: { name: "Ops" }, headers: t.owner.headers }),
    );
    const teamAdmin = await addMember(api, t.owner, team.id, "admin");
    expect((await api.call("updateTeam", { path: { teamId: team.id }, body: { name: "Ops 2" }, headers: rootAdmin.headers })).status).toBe(
      200,
    );
    expect(
      (await api.call("createTeam", { path: { organizationId: t.organizationId }, body: { name: "X" }, headers: teamAdmin.headers }))
        .status,
    ).toBe(403);
    expect((await api.call("archiveTeam", { path: { teamId: team.id }, headers: teamAdmin.headers })).status).toBe(403);
    // The team admin cannot see the root team at all: it is not theirs.
    expect((await api.call("getTeam", { path: { teamId: t.rootTeamId }, headers: teamAdmin.headers })).status).toBe(404);
  });
});

describe("workspaces", () => {
  it("creates, lists, renames and archives workspaces; editors cannot create them", async () => {
    const t = await createTenant(api);
    const editor = await addMember(api, t.owner, t.rootTeamId, "editor");
    const res = await api.call("createWorkspace", { path: { teamId: t.rootTeamId }, body: { name: "Second" }, headers: t.owner.headers });
    expect(dataOf(res)).toEqual({
      id: uuid,
      organizationId: t.organizationId,
      teamId: t.rootTeamId,
      name: "Second",
      archivedAt: null,
      createdAt: iso,
    });
    const ws = dataOf<{ id: string }>(res);
    expect(
      (await api.call("createWorkspace", { path: { teamId: t.rootTeamId }, body: { name: "Third" }, headers: editor.headers })).status,
    ).toBe(403);
    expect(
      (await api.call("createWorkspace", { path: { teamId: t.rootTeamId }, body: { name: "second" }, headers: t.owner.headers })).body,
    ).toMatchObject({ code: "CONFLICT" });
    const list = dataOf<{ items: { name: string }[] }>(
      await api.call("listWorkspaces", { path: { teamId: t.rootTeamId }, headers: editor.headers }),
    );
    expect(list.items.map((w) => w.name)).toEqual(["Main", "Second"]);
    expect(
      dataOf(await api.call("updateWorkspace", { path: { workspaceId: ws.id }, body: { name: "Renamed" }, headers: t.owner.headers })),
    ).toMatchObject({ name: "Renamed" });
    expect(dataOf(await api.call("archiveWorkspace", { path: { workspaceId: ws.id }, headers: t.owner.headers }))).toMatchObject({
      archivedAt: iso,
    });
    expect(
      (await api.call("updateWorkspace", { path: { workspaceId: ws.id }, body: { name: "X" }, headers: t.owner.headers })).body,
    ).toMatchObject({ code: "ARCHIVED" });
    // The name of an archived workspace is free again.
    expect(
      (await api.call("createWorkspace", { path: { teamId: t.rootTeamId }, body: { name: "Renamed" }, headers: t.owner.headers })).status,
    ).toBe(201);
  });
});
