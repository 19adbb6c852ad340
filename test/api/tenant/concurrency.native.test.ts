import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../harness.ts";
import { addMember, createTenant, signUp } from "../../fixtures.ts";

/** Races that only a server with real concurrent sessions can show (`*.native.test.ts`: the native project only). */
describe("identity under concurrency (native Postgres)", () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await createTestApp();
  });
  afterAll(() => api.close());

  it("lets two owners demote each other at once: exactly one wins, the team keeps an owner", async () => {
    for (let round = 0; round < 5; round++) {
      const t = await createTenant(api);
      const second = await addMember(api, t.owner, t.rootTeamId, "owner");
      const [a, b] = await Promise.all([
        api.call("updateTeamMember", {
          path: { teamId: t.rootTeamId, userId: second.id },
          body: { role: "admin" },
          headers: t.owner.headers,
        }),
        api.call("updateTeamMember", {
          path: { teamId: t.rootTeamId, userId: t.owner.id },
          body: { role: "admin" },
          headers: second.headers,
        }),
      ]);
      const statuses = [a.status, b.status].sort();
      // The loser either meets the last-owner rule or has already lost the owner role it acted with.
      expect(statuses[0]).toBe(200);
      expect([403, 422]).toContain(statuses[1]);
      const owners = await api.db
        .selectFrom("team_members")
        .select("user_id")
        .where("team_id", "=", t.rootTeamId)
        .where("role", "=", "owner")
        .execute();
      expect(owners).toHaveLength(1);
    }
  });

  it("rotates a refresh token once when two refreshes race: one new pair, and the copy is treated as reuse", async () => {
    for (let round = 0; round < 5; round++) {
      const user = await signUp(api);
      const results = await Promise.all([
        api.call("refreshSession", { body: { refreshToken: user.refreshToken } }),
        api.call("refreshSession", { body: { refreshToken: user.refreshToken } }),
      ]);
      const codes = results.map((r) => (r.body as { code: string }).code).sort();
      expect(codes).toEqual(["OK", "REFRESH_TOKEN_REUSED"]);
      const rotated = await api.db
        .selectFrom("refresh_tokens")
        .select("id")
        .where("user_id", "=", user.id)
        .where("rotated_at", "is not", null)
        .execute();
      expect(rotated).toHaveLength(1);
    }
  });
});
