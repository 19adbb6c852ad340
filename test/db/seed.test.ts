import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createOutboxMailer } from "../../server/auth/mailer.ts";
import { migrateToLatest } from "../../server/db/migrate.ts";
import { DEMO, seedDemoData } from "../../server/seed.ts";
import { createApp } from "../../server/app.ts";
import { TEST_AUTH_SECRET } from "../harness.ts";
import { closeEmptyDatabases, emptyDatabase } from "./empty-database.ts";

afterAll(closeEmptyDatabases);

describe("demo data", () => {
  it("creates a demo user, organization, root team and workspace on an empty database, once", async () => {
    const { db } = await emptyDatabase();
    await migrateToLatest(db);
    const logger = pino({ level: "silent" });
    const deps = { db, logger, authSecret: TEST_AUTH_SECRET, mailer: createOutboxMailer("/tmp/outbox-seed-test", logger) };
    expect(await seedDemoData(deps, logger)).toBe(true);
    expect(await seedDemoData(deps, logger)).toBe(false);

    const app = createApp(deps);
    const login = await app.request("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: DEMO.email, password: DEMO.password }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { data: { accessToken: string } }).data.accessToken;
    const orgs = (await (await app.request("/api/v1/organizations", { headers: { authorization: `Bearer ${token}` } })).json()) as {
      data: { items: { name: string; rootTeamId: string; myRole: string }[] };
    };
    expect(orgs.data.items).toEqual([expect.objectContaining({ name: DEMO.organization, myRole: "owner" })]);
    const workspaces = (await (
      await app.request(`/api/v1/teams/${orgs.data.items[0]!.rootTeamId}/workspaces`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { data: { items: { name: string }[] } };
    expect(workspaces.data.items.map((w) => w.name)).toEqual([DEMO.workspace]);
  });
});
