import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackgroundJobs } from "../../../server/metering/background.ts";
import type { WebhookNetworkPolicy } from "../../../server/metering/webhooks/endpoint.ts";
import type { HostResolver } from "../../../server/net/public-address.ts";
import { anyRequestId, createTestApp, TEST_AUTH_SECRET, type TestApp } from "../../harness.ts";
import { createTenant, dataOf, relogin, type TestTenant } from "../../fixtures.ts";
import { createOrgKey, recordUsage } from "../../metering/support.ts";

let api: TestApp;
let server: Server;
let port: number;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  // The server's default: webhooks reach public addresses only.
  api = await createTestApp();
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await api.close();
});

/** A name the save-time check cannot judge, which DNS (as injected here) answers with loopback, where the endpoint listens. */
const toLoopback: HostResolver = async () => [{ address: "127.0.0.1", family: 4 }];
const hookUrl = () => `http://hooks.example:${port}/hooks/usage`;

const jobs = (webhooks: WebhookNetworkPolicy) =>
  createBackgroundJobs({ db: api.db, logger: pino({ level: "silent" }), authSecret: TEST_AUTH_SECRET, now: api.clock.now, webhooks });

/** A tenant with the webhook set to `hookUrl()` and one quota warning queued for delivery. */
async function tenantWithQueuedWarning(): Promise<TestTenant> {
  const t = await createTenant(api);
  const set = await api.call("setWebhook", {
    path: { organizationId: t.organizationId },
    body: { url: hookUrl() },
    headers: t.owner.headers,
  });
  expect(set.status).toBe(200);
  const key = await createOrgKey(api, t);
  expect((await recordUsage(api, t, key, [{ idempotencyKey: "m", resourceType: "message", quantity: 450 }])).status).toBe(201);
  return t;
}

async function deliveriesOf(t: TestTenant) {
  const res = await api.call("listWebhookDeliveries", { path: { organizationId: t.organizationId }, headers: await relogin(api, t.owner) });
  return dataOf<{ items: Record<string, unknown>[] }>(res).items;
}

describe("setting the webhook", () => {
  it.each(["http://127.0.0.1/hooks", "http://[::1]/", "http://169.254.169.254/latest", "http://localhost:8080/hooks"])(
    "refuses %s with 422, naming the url field, and saves nothing",
    async (url) => {
      const t = await createTenant(api);
      const path = { organizationId: t.organizationId };
      const res = await api.call("setWebhook", { path, body: { url }, headers: t.owner.headers });
      expect([res.status, res.body]).toEqual([
        422,
        {
          code: "PRIVATE_NETWORK_REFUSED",
          message: {
            "en-US": "The URL points at a private, loopback or link-local address; only public addresses are allowed.",
            "zh-CN": "该 URL 指向私有、回环或链路本地地址；只允许公网地址。",
          },
          data: null,
          requestId: anyRequestId,
          fields: [
            {
              location: "body",
              field: "url",
              rule: "publicAddress",
              message: { "en-US": "must be a public address", "zh-CN": "必须是公网地址" },
            },
          ],
        },
      ]);
      expect(dataOf(await api.call("getWebhook", { path, headers: t.owner.headers }))).toBeNull();
    },
  );

  it("refuses another scheme than http and https as the request validation it always was (400)", async () => {
    const t = await createTenant(api);
    const res = await api.call("setWebhook", {
      path: { organizationId: t.organizationId },
      body: { url: "ftp://example.com" },
      headers: t.owner.headers,
    });
    expect([res.status, res.body]).toEqual([
      400,
      {
        code: "VALIDATION_FAILED",
        message: expect.any(Object),
        data: null,
        requestId: anyRequestId,
        fields: [
          {
            location: "body",
            field: "url",
            rule: "scheme",
            message: { "en-US": "must be http or https", "zh-CN": "必须是 http 或 https" },
          },
        ],
      },
    ]);
  });
});

describe("delivering to a name that resolves to loopback", () => {
  it("is refused without the flag: a failed attempt with no status, the endpoint untouched, the job retried later", async () => {
    const t = await tenantWithQueuedWarning();
    received.length = 0;
    expect(await jobs({ resolveHost: toLoopback }).runOnce()).toBe(1);
    expect(received).toEqual([]);
    const refusal = `not delivered: hooks.example resolves to 127.0.0.1, which is not a public address`;
    const [warning] = dataOf<{ items: { id: string }[] }>(
      await api.call("getQuotaWarnings", { path: { organizationId: t.organizationId }, headers: await relogin(api, t.owner) }),
    ).items;
    expect(await deliveriesOf(t)).toEqual([
      {
        id: expect.any(String),
        eventType: "quota.warning",
        eventId: warning!.id,
        attempt: 1,
        url: hookUrl(),
        status: "failed",
        responseStatus: null,
        error: refusal,
        durationMs: expect.any(Number),
        nextAttemptAt: expect.any(String),
        createdAt: expect.any(String),
      },
    ]);
    const job = await api.db
      .selectFrom("background_jobs")
      .select(["status", "attempts", "last_error"])
      .where("organization_id", "=", t.organizationId)
      .executeTakeFirstOrThrow();
    expect(job).toEqual({ status: "pending", attempts: 1, last_error: refusal });
  });

  it("is delivered with the flag, to the address that was checked", async () => {
    const t = await tenantWithQueuedWarning();
    received.length = 0;
    expect(await jobs({ allowPrivateNetwork: true, resolveHost: toLoopback }).runOnce()).toBe(1);
    expect(received.map(({ headers }) => headers.host)).toEqual([`hooks.example:${port}`]);
    expect(await deliveriesOf(t)).toEqual([
      {
        id: expect.any(String),
        eventType: "quota.warning",
        eventId: expect.any(String),
        attempt: 1,
        url: hookUrl(),
        status: "succeeded",
        responseStatus: 204,
        error: null,
        durationMs: expect.any(Number),
        nextAttemptAt: null,
        createdAt: expect.any(String),
      },
    ]);
  });
});
