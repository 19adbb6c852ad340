import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../harness.ts";
import { addMember, createTenant, dataOf, inviteAndGetToken, relogin, signUp, uniqueEmail } from "../../fixtures.ts";

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

describe("invitations", () => {
  it("invites by email with a role; the invitee accepts once", async () => {
    const t = await createTenant(api);
    const invitee = await signUp(api, { name: "Invitee" });
    const created = await api.call("createInvitation", {
      path: { teamId: t.rootTeamId },
      body: { email: invitee.email, role: "editor" },
      headers: t.owner.headers,
    });
    expect(created.status).toBe(201);
    expect(dataOf(created)).toEqual({
      id: expect.any(String),
      teamId: t.rootTeamId,
      email: invitee.email,
      role: "editor",
      status: "pending",
      invitedBy: t.owner.id,
      expiresAt: iso,
      createdAt: iso,
    });
    const invitation = dataOf<{ id: string; expiresAt: string }>(created);
    expect(Date.parse(invitation.expiresAt) - api.clock.now().getTime()).toBe(72 * 3600 * 1000);
    const mail = api
      .outbox()
      .filter((m) => m.to === invitee.email)
      .at(-1)!;
    const token = /Invitation token: (\S+)/.exec(mail.text)![1]!;
    expect(mail.kind).toBe("invitation");

    const accepted = await api.call("acceptInvitation", { body: { token }, headers: invitee.headers });
    expect(dataOf(accepted)).toEqual({
      teamId: t.rootTeamId,
      userId: invitee.id,
      email: invitee.email,
      name: "Invitee",
      role: "editor",
      joinedAt: iso,
    });
    const twice = await api.call("acceptInvitation", { body: { token }, headers: invitee.headers });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ code: "INVITATION_ALREADY_ACCEPTED" });
    const listed = dataOf<{ items: { id: string; status: string }[] }>(
      await api.call("listInvitations", { path: { teamId: t.rootTeamId }, headers: t.owner.headers }),
    );
    expect(listed.items).toEqual([expect.objectContaining({ id: invitation.id, status: "accepted" })]);
  });

  it("refuses another signed-in user than the invitee", async () => {
    const t = await createTenant(api);
    const token = await inviteAndGetToken(api, t.owner, t.rootTeamId, uniqueEmail(), "member");
    const stranger = await signUp(api);
    const res = await api.call("acceptInvitation", { body: { token }, headers: stranger.headers });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: "INVITATION_EMAIL_MISMATCH" });
  });

  it("answers INVITATION_EXPIRED after 72 hours and INVITATION_REVOKED after a revoke", async () => {
    const t = await createTenant(api);
    const late = await signUp(api);
    const lateToken = await inviteAndGetToken(api, t.owner, t.rootTeamId, late.email, "member");
    api.clock.advance(72 * 3600 * 1000 + 1);
    try {
      const lateHeaders = await relogin(api, late);
      expect((await api.call("acceptInvitation", { body: { token: lateToken }, headers: lateHeaders })).body).toMatchObject({
        code: "INVITATION_EXPIRED",
      });
      const ownerHeaders = await relogin(api, t.owner);
      const expired = dataOf<{ items: { status: string }[] }>(
        await api.call("listInvitations", { path: { teamId: t.rootTeamId }, query: { status: "expired" }, headers: ownerHeaders }),
      );
      expect(expired.items.map((i) => i.status)).toEqual(["expired"]);
    } finally {
      api.clock.advance(-(72 * 3600 * 1000 + 1));
    }
    const withdrawn = await signUp(api);
    const token = await inviteAndGetToken(api, t.owner, t.rootTeamId, withdrawn.email, "member");
    const pending = dataOf<{ items: { id: string; email: string }[] }>(
      await api.call("listInvitations", { path: { teamId: t.rootTeamId }, query: { status: "pending" }, headers: t.owner.headers }),
    );
    const id = pending.items.find((i) => i.email === withdrawn.email)!.id;
    expect(
      dataOf(await api.call("revokeInvitation", { path: { teamId: t.rootTeamId, invitationId: id }, headers: t.owner.headers })),
    ).toMatchObject({ status: "revoked" });
    expect((await api.call("acceptInvitation", { body: { token }, headers: withdrawn.headers })).body).toMatchObject({
      code: "INVITATION_REVOKED",
    });
    expect(
      (await api.call("revokeInvitation", { path: { teamId: t.rootTeamId, invitationId: id }, headers: t.owner.headers })).body,
    ).toMatchObject({ code: "INVITATION_REVOKED" });
  });

  it("registers and accepts in one step, signing the new account in", async () => {
    const t = await createTenant(api);
    const email = uniqueEmail("new");
    const token = await inviteAndGetToken(api, t.owner, t.rootTeamId, email, "admin");
    const res = await api.call("registerAndAcceptInvitation", { body: { token, password: "a fresh password", name: "Newcomer" } });
    expect(res.status).toBe(201);
    const session = dataOf<{ accessToken: string; user: { email: string } }>(res);
    expect(session.user.email).toBe(email);
    const members = dataOf<{ items: { email: string; role: string }[] }>(
      await api.call("listTeamMembers", { path: { teamId: t.rootTeamId }, headers: { authorization: `Bearer ${session.accessToken}` } }),
    );
    expect(members.items.map((m) => [m.email, m.role])).toContainEqual([email, "admin"]);
    expect(
      (await api.call("registerAndAcceptInvitation", { body: { token, password: "a fresh password", name: "Again" } })).body,
    ).toMatchObject({ code: "INVITATION_ALREADY_ACCEPTED" });
  });

  it("refuses to invite a member, lets only owners invite owners, and needs admin", async () => {
    const t = await createTenant(api);
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    const editor = await addMember(api, t.owner, t.rootTeamId, "editor");
    expect(
      (
        await api.call("createInvitation", {
          path: { teamId: t.rootTeamId },
          body: { email: editor.email, role: "member" },
          headers: t.owner.headers,
        })
      ).body,
    ).toMatchObject({ code: "ALREADY_MEMBER" });
    expect(
      (
        await api.call("createInvitation", {
          path: { teamId: t.rootTeamId },
          body: { email: uniqueEmail(), role: "owner" },
          headers: admin.headers,
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api.call("createInvitation", {
          path: { teamId: t.rootTeamId },
          body: { email: uniqueEmail(), role: "member" },
          headers: editor.headers,
        })
      ).status,
    ).toBe(403);
  });
});

describe("roles", () => {
  it("changes a role; only owners grant ownership", async () => {
    const t = await createTenant(api);
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const promoted = await api.call("updateTeamMember", {
      path: { teamId: t.rootTeamId, userId: member.id },
      body: { role: "editor" },
      headers: admin.headers,
    });
    expect(dataOf(promoted)).toMatchObject({ userId: member.id, role: "editor" });
    const refused = await api.call("updateTeamMember", {
      path: { teamId: t.rootTeamId, userId: member.id },
      body: { role: "owner" },
      headers: admin.headers,
    });
    expect(refused.status).toBe(403);
    expect(
      (
        await api.call("updateTeamMember", {
          path: { teamId: t.rootTeamId, userId: t.owner.id },
          body: { role: "admin" },
          headers: admin.headers,
        })
      ).status,
    ).toBe(403);
  });

  it("protects the last owner from demotion and removal", async () => {
    const t = await createTenant(api);
    const demote = await api.call("updateTeamMember", {
      path: { teamId: t.rootTeamId, userId: t.owner.id },
      body: { role: "admin" },
      headers: t.owner.headers,
    });
    expect(demote.status).toBe(422);
    expect(demote.body).toMatchObject({ code: "LAST_OWNER", message: { "en-US": "A team must keep at least one owner." } });
    expect(
      (await api.call("removeTeamMember", { path: { teamId: t.rootTeamId, userId: t.owner.id }, headers: t.owner.headers })).body,
    ).toMatchObject({ code: "LAST_OWNER" });
    const second = await addMember(api, t.owner, t.rootTeamId, "owner");
    expect(
      (
        await api.call("updateTeamMember", {
          path: { teamId: t.rootTeamId, userId: t.owner.id },
          body: { role: "admin" },
          headers: second.headers,
        })
      ).status,
    ).toBe(200);
  });

  it("removes a member, who then gets 404 for the organization", async () => {
    const t = await createTenant(api);
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const removed = await api.call("removeTeamMember", { path: { teamId: t.rootTeamId, userId: member.id }, headers: t.owner.headers });
    expect(dataOf(removed)).toMatchObject({ userId: member.id, role: "member" });
    expect((await api.call("getOrganization", { path: { organizationId: t.organizationId }, headers: member.headers })).status).toBe(404);
    expect(
      (await api.call("removeTeamMember", { path: { teamId: t.rootTeamId, userId: member.id }, headers: t.owner.headers })).status,
    ).toBe(404);
  });

  it("transfers ownership: the target becomes owner, the caller admin", async () => {
    const t = await createTenant(api);
    const admin = await addMember(api, t.owner, t.rootTeamId, "admin");
    expect(
      (await api.call("transferTeamOwnership", { path: { teamId: t.rootTeamId }, body: { userId: t.owner.id }, headers: admin.headers }))
        .status,
    ).toBe(403);
    const res = await api.call("transferTeamOwnership", {
      path: { teamId: t.rootTeamId },
      body: { userId: admin.id },
      headers: t.owner.headers,
    });
    expect(dataOf<{ userId: string; role: string }[]>(res).map((m) => [m.userId, m.role])).toEqual([
      [t.owner.id, "admin"],
      [admin.id, "owner"],
    ]);
    expect(dataOf(await api.call("getOrganization", { path: { organizationId: t.organizationId }, headers: admin.headers }))).toMatchObject(
      { myRole: "owner" },
    );
  });
});
