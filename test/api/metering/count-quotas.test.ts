import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyRequestId, createTestApp, onPGlite, type TestApp } from "../../harness.ts";
import { addMember, createTenant, dataOf, inviteAndGetToken, signUp } from "../../fixtures.ts";
import { FREE } from "../../metering/support.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

describe("the team_members quota", () => {
  it("refuses a join past the plan's members with 429 QUOTA_EXCEEDED, leaving the invitation pending", async () => {
    const t = await createTenant(api);
    for (let i = 1; i < FREE.teamMembers; i++) await addMember(api, t.owner, t.rootTeamId, "member");
    const late = await signUp(api);
    const token = await inviteAndGetToken(api, t.owner, t.rootTeamId, late.email, "member");
    const res = await api.call("acceptInvitation", { body: { token }, headers: late.headers });
    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      code: "QUOTA_EXCEEDED",
      message: {
        "en-US": "This would exceed the team_members quota: 3 of 3 members used, 1 more asked.",
        "zh-CN": "超出配额 team_members：已用 3 / 3 members，本次请求 1。",
      },
      data: null,
      requestId: anyRequestId,
      quota: { metric: "team_members", unit: "members", limit: 3, used: 3, requested: 1, resetsAt: null },
    });
    expect([res.headers.get("x-quota-metric"), res.headers.get("x-quota-limit"), res.headers.get("x-quota-used")]).toEqual([
      "team_members",
      "3",
      "3",
    ]);
    expect(res.headers.get("retry-after")).toBeNull();
    const invitations = dataOf<{ items: { email: string; status: string }[] }>(
      await api.call("listInvitations", { path: { teamId: t.rootTeamId }, headers: t.owner.headers }),
    );
    expect(invitations.items.find((i) => i.email === late.email)?.status).toBe("pending");

    const warnings = dataOf<{ items: { metric: string; level: number; value: number; limit: number }[] }>(
      await api.call("getQuotaWarnings", {
        path: { organizationId: t.organizationId },
        query: { metric: "team_members" },
        headers: t.owner.headers,
      }),
    );
    expect(warnings.items.map((w) => [w.level, w.value, w.limit]).sort()).toEqual([
      [100, 3, 3],
      [80, 3, 3],
    ]);
  });

  it("counts people, not memberships: a member of a full organization still joins another of its teams", async () => {
    const t = await createTenant(api);
    const members = [];
    for (let i = 1; i < FREE.teamMembers; i++) members.push(await addMember(api, t.owner, t.rootTeamId, "member"));
    const team = await api.call("createTeam", {
      path: { organizationId: t.organizationId },
      body: { name: "Support" },
      headers: t.owner.headers,
    });
    expect(team.status).toBe(201);
    const teamId = dataOf<{ id: string }>(team).id;
    const member = members[0]!;
    const token = await inviteAndGetToken(api, t.owner, teamId, member.email, "member");
    const joined = await api.call("acceptInvitation", { body: { token }, headers: member.headers });
    expect([joined.status, dataOf<{ userId: string; role: string }>(joined)]).toEqual([
      200,
      expect.objectContaining({ userId: member.id, role: "member" }),
    ]);
    // Someone new still finds the organization full.
    const late = await signUp(api);
    const refused = await api.call("acceptInvitation", {
      body: { token: await inviteAndGetToken(api, t.owner, teamId, late.email, "member") },
      headers: late.headers,
    });
    expect(refused.status).toBe(429);
    const people = await api.db
      .selectFrom("team_members")
      .select((eb) => eb.fn.count<string>("user_id").distinct().as("n"))
      .where("organization_id", "=", t.organizationId)
      .executeTakeFirstOrThrow();
    expect(Number(people.n)).toBe(FREE.teamMembers);
  });

  it.runIf(!onPGlite())("lets exactly one of many concurrent joins take the last seat", async () => {
    const t = await createTenant(api);
    await addMember(api, t.owner, t.rootTeamId, "member");
    const joiners = await Promise.all(Array.from({ length: 8 }, () => signUp(api)));
    const tokens: string[] = [];
    for (const j of joiners) tokens.push(await inviteAndGetToken(api, t.owner, t.rootTeamId, j.email, "member"));
    const answers = await Promise.all(
      joiners.map((j, i) => api.call("acceptInvitation", { body: { token: tokens[i] }, headers: j.headers })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 429, 429, 429, 429, 429, 429, 429]);
    const members = await api.db
      .selectFrom("team_members")
      .select((eb) => eb.fn.count<string>("user_id").distinct().as("n"))
      .where("organization_id", "=", t.organizationId)
      .executeTakeFirstOrThrow();
    expect(Number(members.n)).toBe(FREE.teamMembers);
  });
});
