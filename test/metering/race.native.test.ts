import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../server/app.ts";
import { createOutboxMailer } from "../../server/auth/mailer.ts";
import { openPostgres, type DatabaseHandle } from "../../server/db/database.ts";
import { createTestApp, TEST_AUTH_SECRET, type TestApp } from "../harness.ts";
import { createTenant } from "../fixtures.ts";
import { createOrgKey, FREE, ledgerAndCounter, periodStartOf, recordUsage } from "./support.ts";
import { meteredTestApp } from "./metered-route.ts";

/**
 * Concurrency on the native server: many requests at once against the last units of a quota, sent
 * to several app instances (as several servers would take them) over their own connection pools.
 * Exactly the requests that fit succeed, the rest answer QUOTA_EXCEEDED, and the counter equals the
 * ledger's sum — every repetition.
 */
const target = inject("testDatabase");
const SERVERS = 4;
const REQUESTS = 200;

let api: TestApp;
const pools: DatabaseHandle[] = [];
let apps: ReturnType<typeof createApp>[] = [];

// A `*.native.test.ts` file: runs only in the native-Postgres project, where requests truly race.
describe("quota races on native Postgres", () => {
  beforeAll(async () => {
    api = await createTestApp();
    const logger = pino({ level: "silent" });
    const mailer = createOutboxMailer(mkdtempSync(join(tmpdir(), "race-outbox-")), logger);
    for (let i = 0; i < SERVERS; i++) {
      const handle = openPostgres((target as { url: string }).url, 10);
      pools.push(handle);
      apps.push(createApp({ db: handle.db, logger, authSecret: TEST_AUTH_SECRET, mailer }));
    }
  });
  afterAll(async () => {
    for (const handle of pools) await handle.close();
    apps = [];
    await api?.close();
  });

  async function race(send: (i: number) => Response | Promise<Response>) {
    const statuses = await Promise.all(Array.from({ length: REQUESTS }, async (_, i) => (await send(i)).status));
    return { ok: statuses.filter((s) => s === 201 || s === 200).length, refused: statuses.filter((s) => s === 429).length };
  }

  const post = (app: ReturnType<typeof createApp>, path: string, headers: Record<string, string>, body: unknown) =>
    app.request(path, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });

  it(`lets exactly ${REQUESTS / 2} of ${REQUESTS} concurrent requests use a quota with room for ${REQUESTS / 2}, 20 times over`, async () => {
    for (let round = 0; round < 20; round++) {
      const t = await createTenant(api);
      const key = await createOrgKey(api, t);
      const path = `/api/v1/organizations/${t.organizationId}/usage/records`;
      const start = await periodStartOf(api, t.organizationId);
      // Every request is 10 calls: even rounds two records (5 + 4), odd rounds one of 9, and the
      // request's own unit (recordUsage is metered). Each server gathers the requests into shared
      // round trips, each request's events all or none. Either way 1000 calls of the free plan leave
      // room for exactly 100 requests.
      const body = (i: number) =>
        round % 2 === 0
          ? {
              records: [
                { idempotencyKey: `${i}-a`, resourceType: "api_call", quantity: 5 },
                { idempotencyKey: `${i}-b`, resourceType: "api_call", quantity: 4 },
              ],
            }
          : { records: [{ idempotencyKey: `${i}`, resourceType: "api_call", quantity: 9 }] };
      const result = await race((i) => post(apps[i % SERVERS]!, path, key.headers, body(i)));
      expect({ round, ...result }).toEqual({ round, ok: REQUESTS / 2, refused: REQUESTS / 2 });
      expect(await ledgerAndCounter(api, t.organizationId, "api_call", start)).toEqual({ ledger: FREE.apiCalls, counter: FREE.apiCalls });
    }
  });

  it("holds for a metered route too: the hook checks and records before the handler, once per call", async () => {
    const metered = Array.from({ length: SERVERS }, (_, i) => meteredTestApp(pools[i]!.db));
    for (let round = 0; round < 4; round++) {
      const t = await createTenant(api);
      const key = await createOrgKey(api, t);
      // The prefill's call is a unit too.
      await recordUsage(api, t, key, [{ idempotencyKey: "prefill", resourceType: "api_call", quantity: FREE.apiCalls - REQUESTS / 2 - 1 }]);
      const start = await periodStartOf(api, t.organizationId);
      const result = await race((i) => metered[i % SERVERS]!.request(t.organizationId, key.headers));
      expect({ round, ...result }).toEqual({ round, ok: REQUESTS / 2, refused: REQUESTS / 2 });
      expect(metered.reduce((n, m) => n + m.handled(), 0)).toBe((round + 1) * (REQUESTS / 2));
      expect(await ledgerAndCounter(api, t.organizationId, "api_call", start)).toEqual({ ledger: FREE.apiCalls, counter: FREE.apiCalls });
    }
  });
});
