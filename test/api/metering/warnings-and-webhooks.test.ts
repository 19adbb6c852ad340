import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackgroundJobs } from "../../../server/metering/background.ts";
import { anyRequestId, createTestApp, TEST_AUTH_SECRET, type TestApp } from "../../harness.ts";
import { addMember, createTenant, dataOf, relogin, type TestTenant } from "../../fixtures.ts";
import { createOrgKey, recordUsage, useCalendarMonths } from "../../metering/support.ts";

/** A webhook endpoint on 127.0.0.1 that records what it receives and answers the statuses it is told to, in turn. */
function endpoint() {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(answers.shift() ?? 204).end();
    });
  });
  return {
    received,
    answers,
    async start() {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/usage`;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let api: TestApp;
let hooks: ReturnType<typeof endpoint>;
let hookUrl: string;
/** The endpoint is on loopback, which webhooks may reach only when the server allows it. */
const loopbackAllowed = { allowPrivateNetwork: true };
beforeAll(async () => {
  api = await createTestApp({ webhooks: loopbackAllowed });
  hooks = endpoint();
  hookUrl = await hooks.start();
});
afterAll(async () => {
  await hooks.stop();
  await api.close();
});

const jobs = () =>
  createBackgroundJobs({
    db: api.db,
    logger: pino({ level: "silent" }),
    authSecret: TEST_AUTH_SECRET,
    now: api.clock.now,
    webhooks: loopbackAllowed,
  });

async function warningsOf(t: TestTenant, query: Record<string, string | boolean> = {}) {
  const headers = await relogin(api, t.owner);
  const res = await api.call("getQuotaWarnings", { path: { organizationId: t.organizationId }, query, headers });
  expect(res.status).toBe(200);
  return dataOf<{
    items: { id: string; metric: string; level: number; value: number; limit: number; periodStart: string; crossedAt: string }[];
  }>(res).items;
}

describe("quota warnings", () => {
  it("are written once per quota, level and period, at the record that crosses 80 % and 100 %", async () => {
    api.clock.set(new Date("2032-01-20T08:00:00Z"));
    const t = await createTenant(api);
    await useCalendarMonths(api, t.organizationId);
    const key = await createOrgKey(api, t);
    // Each recordUsage call is an api_call too: 797 and the call make 798.
    await recordUsage(api, t, key, [{ idempotencyKey: "w-1", resourceType: "api_call", quantity: 797 }]);
    expect(await warningsOf(t)).toEqual([]);
    api.clock.set(new Date("2032-01-20T09:00:00Z"));
    await recordUsage(api, t, key, [{ idempotencyKey: "w-2", resourceType: "api_call", quantity: 1 }]); // 800
    await recordUsage(api, t, key, [{ idempotencyKey: "w-3", resourceType: "api_call", quantity: 150 }]); // 951
    expect((await recordUsage(api, t, key, [{ idempotencyKey: "w-4", resourceType: "api_call", quantity: 51 }])).status).toBe(429);
    const eighty = {
      id: expect.any(String),
      metric: "api_calls_per_month",
      level: 80,
      value: 800,
      limit: 1000,
      periodStart: "2032-01-01T00:00:00.000Z",
      periodEnd: "2032-02-01T00:00:00.000Z",
      crossedAt: "2032-01-20T09:00:00.000Z",
    };
    expect(await warningsOf(t)).toEqual([eighty]);

    api.clock.set(new Date("2032-01-21T10:00:00Z"));
    await recordUsage(api, t, key, [{ idempotencyKey: "tokens", resourceType: "token", quantity: 100_000 }]); // 952 calls
    await recordUsage(api, t, key, [{ idempotencyKey: "w-5", resourceType: "api_call", quantity: 47 }]); // 1000
    const hundred = { ...eighty, level: 100, value: 1000, crossedAt: "2032-01-21T10:00:00.000Z" };
    const tokens80 = { ...eighty, metric: "tokens_per_month", value: 100_000, limit: 100_000, crossedAt: "2032-01-21T10:00:00.000Z" };
    const tokens100 = { ...tokens80, level: 100 };
    // Newest first; warnings of one instant come in no particular order.
    const all = await warningsOf(t);
    expect(all.slice(3)).toEqual([eighty]);
    expect(all.slice(0, 3)).toEqual(expect.arrayContaining([tokens100, tokens80, hundred]));
    expect(await warningsOf(t, { metric: "api_calls_per_month" })).toEqual([hundred, eighty]);

    // The next period starts from zero and warns again.
    api.clock.set(new Date("2032-02-01T00:00:01Z"));
    await recordUsage(api, t, key, [{ idempotencyKey: "feb", resourceType: "api_call", quantity: 899 }]); // 900
    const current = await warningsOf(t, { currentPeriodOnly: true });
    expect(current).toEqual([
      {
        ...eighty,
        value: 900,
        periodStart: "2032-02-01T00:00:00.000Z",
        periodEnd: "2032-03-01T00:00:00.000Z",
        crossedAt: "2032-02-01T00:00:01.000Z",
      },
    ]);
    expect(await warningsOf(t)).toHaveLength(5);
    api.clock.set(new Date());
  });
});

describe("the organization's webhook", () => {
  it("shows the signing secret once, keeps it until rotated, and is for root-team admins", async () => {
    const t = await createTenant(api);
    const path = { organizationId: t.organizationId };
    expect(dataOf(await api.call("getWebhook", { path, headers: t.owner.headers }))).toBeNull();
    const set = await api.call("setWebhook", { path, body: { url: hookUrl }, headers: t.owner.headers });
    expect(set.status).toBe(200);
    const created = dataOf<{ secret: string; secretPrefix: string }>(set);
    expect(created).toEqual({
      url: hookUrl,
      enabled: true,
      secretPrefix: created.secret.slice(0, 12),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const again = dataOf<{ secret: string | null; secretPrefix: string }>(
      await api.call("setWebhook", { path, body: { url: `${hookUrl}?v=2`, enabled: false }, headers: t.owner.headers }),
    );
    expect([again.secret, again.secretPrefix]).toEqual([null, created.secretPrefix]);
    const rotated = dataOf<{ secret: string }>(
      await api.call("setWebhook", { path, body: { url: hookUrl, rotateSecret: true }, headers: t.owner.headers }),
    );
    expect(rotated.secret).not.toBe(created.secret);
    expect(dataOf(await api.call("getWebhook", { path, headers: t.owner.headers }))).toEqual({
      url: hookUrl,
      enabled: true,
      secretPrefix: rotated.secret.slice(0, 12),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const audit = dataOf<{ items: { action: string; changes: unknown }[] }>(
      await api.call("listAuditLogs", { path, query: { action: "webhook.set" }, headers: t.owner.headers }),
    );
    expect(audit.items).toHaveLength(3);
    expect(JSON.stringify(audit.items)).not.toContain(rotated.secret);

    const bad = await api.call("setWebhook", { path, body: { url: "ftp://example.com/x" }, headers: t.owner.headers });
    expect(bad.body).toMatchObject({ code: "VALIDATION_FAILED", fields: [{ field: "url", rule: "scheme" }] });
    const removed = await api.call("deleteWebhook", { path, headers: t.owner.headers });
    expect([removed.status, dataOf(await api.call("getWebhook", { path, headers: t.owner.headers }))]).toEqual([200, null]);
    expect((await api.call("deleteWebhook", { path, headers: t.owner.headers })).status).toBe(404);
  });

  it("receives each warning signed with HMAC-SHA256, retried with backoff until it answers 2xx, every attempt recorded", async () => {
    api.clock.set(new Date());
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const path = { organizationId: t.organizationId };
    const { secret } = dataOf<{ secret: string }>(await api.call("setWebhook", { path, body: { url: hookUrl }, headers: t.owner.headers }));
    hooks.received.length = 0;
    hooks.answers.push(500);
    await recordUsage(api, t, key, [{ idempotencyKey: "big", resourceType: "message", quantity: 450 }]);
    const [warning] = await warningsOf(t);

    const runner = jobs();
    expect(await runner.runOnce()).toBe(1);
    expect(hooks.received).toHaveLength(1);
    expect(await runner.runOnce()).toBe(0);
    api.clock.advance(29_000);
    expect(await runner.runOnce()).toBe(0);
    api.clock.advance(1_000);
    expect(await runner.runOnce()).toBe(1);
    expect(hooks.received).toHaveLength(2);

    for (const { headers, body } of hooks.received) {
      const id = String(headers["webhook-id"]);
      const timestamp = String(headers["webhook-timestamp"]);
      const expected = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
        .update(`${id}.${timestamp}.${body}`)
        .digest("base64");
      expect(headers["webhook-signature"]).toBe(`v1,${expected}`);
      expect(headers["content-type"]).toBe("application/json");
      expect(id).toBe(warning!.id);
      expect(JSON.parse(body)).toEqual({
        id: warning!.id,
        type: "quota.warning",
        createdAt: warning!.crossedAt,
        organizationId: t.organizationId,
        data: warning,
      });
    }
    const deliveries = dataOf<{ items: Record<string, unknown>[] }>(
      await api.call("listWebhookDeliveries", { path, headers: await relogin(api, t.owner) }),
    );
    expect(deliveries.items).toEqual([
      {
        id: expect.any(String),
        eventType: "quota.warning",
        eventId: warning!.id,
        attempt: 2,
        url: hookUrl,
        status: "succeeded",
        responseStatus: 204,
        error: null,
        durationMs: expect.any(Number),
        nextAttemptAt: null,
        createdAt: expect.any(String),
      },
      {
        id: expect.any(String),
        eventType: "quota.warning",
        eventId: warning!.id,
        attempt: 1,
        url: hookUrl,
        status: "failed",
        responseStatus: 500,
        error: "the endpoint answered 500",
        durationMs: expect.any(Number),
        nextAttemptAt: expect.any(String),
        createdAt: expect.any(String),
      },
    ]);
    expect(Date.parse(deliveries.items[1]!.nextAttemptAt as string) - Date.parse(deliveries.items[1]!.createdAt as string)).toBe(30_000);
    api.clock.set(new Date());
  });

  it("drops queued deliveries when the webhook is removed, and sends nothing for an organization without one", async () => {
    api.clock.set(new Date());
    const t = await createTenant(api);
    const key = await createOrgKey(api, t);
    const path = { organizationId: t.organizationId };
    await api.call("setWebhook", { path, body: { url: hookUrl }, headers: t.owner.headers });
    await recordUsage(api, t, key, [{ idempotencyKey: "m", resourceType: "message", quantity: 400 }]);
    await api.call("deleteWebhook", { path, headers: t.owner.headers });
    const quiet = await createTenant(api);
    const quietKey = await createOrgKey(api, quiet);
    await recordUsage(api, quiet, quietKey, [{ idempotencyKey: "m", resourceType: "message", quantity: 500 }]);
    expect(await warningsOf(quiet)).toHaveLength(2);
    hooks.received.length = 0;
    await jobs().runOnce();
    expect(hooks.received).toEqual([]);
    const queued = await api.db
      .selectFrom("background_jobs")
      .select(["status", "last_error"])
      .where("organization_id", "in", [t.organizationId, quiet.organizationId])
      .execute();
    expect(queued).toEqual([{ status: "failed", last_error: "the webhook was removed" }]);
  });

  it("is an admin's: a member gets 403, someone outside 404", async () => {
    const t = await createTenant(api);
    const stranger = await createTenant(api);
    const member = await addMember(api, t.owner, t.rootTeamId, "member");
    const set = (headers: Record<string, string>) =>
      api.call("setWebhook", { path: { organizationId: t.organizationId }, body: { url: hookUrl }, headers });
    expect((await set(stranger.owner.headers)).body).toEqual({
      code: "NOT_FOUND",
      message: expect.any(Object),
      data: null,
      requestId: anyRequestId,
    });
    expect((await set(member.headers)).body).toEqual({
      code: "FORBIDDEN",
      message: expect.any(Object),
      data: null,
      requestId: anyRequestId,
    });
  });
});
