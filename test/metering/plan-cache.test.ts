import type { KyselyPlugin } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FREE_PLAN_ID } from "../../server/billing/current-plan.ts";
import { createPlanCache } from "../../server/metering/plan-cache.ts";
import { createTestApp, type TestApp } from "../harness.ts";
import { createTenant } from "../fixtures.ts";

// The metered calls' plan cache (server/metering/plan-cache.ts) over a real database: when it reads
// an organization's plan again. The subscription is changed behind its back, straight in SQL, so
// only a read can show the change.

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

/** Counts the statements the cache sends as it sends them: Kysely hands a plugin each query as it is compiled, before the round trip. */
function countingStatements(): { plugin: KyselyPlugin; sent: () => number } {
  let sent = 0;
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      sent++;
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
  return { plugin, sent: () => sent };
}

/**
 * The plan the cache answers once a read begun in the background has landed: asked again every
 * 10 ms until it is `expected` (a read on a Postgres server takes a round trip), at most 500 times.
 */
async function planOnceRenewed(get: () => Promise<{ planId: string } | null>, expected: string): Promise<string | undefined> {
  for (let i = 0; i < 500; i++) {
    const plan = await get();
    if (plan?.planId === expected) return expected;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return (await get())?.planId;
}

async function setUp() {
  const t = await createTenant(api);
  let ms = 0;
  const reads = countingStatements();
  const plans = createPlanCache({ db: api.db.withPlugin(reads.plugin), now: () => api.clock.now(), clock: () => ms });
  const otherPlan = await api.db
    .selectFrom("subscription_plans")
    .select("id")
    .where("id", "<>", FREE_PLAN_ID)
    .orderBy("id")
    .executeTakeFirstOrThrow();
  const switchPlan = (planId: string) =>
    api.db.updateTable("subscriptions").set({ plan_id: planId }).where("organization_id", "=", t.organizationId).execute();
  return { t, plans, reads: reads.sent, otherPlan: otherPlan.id, switchPlan, at: (next: number) => (ms = next) };
}

describe("plan cache", () => {
  it("keeps a plan for a minute, reading it again in the background when used after half of that", async () => {
    const { t, plans, reads, otherPlan, switchPlan, at } = await setUp();
    expect((await plans.get(t.organizationId))?.planId).toBe(FREE_PLAN_ID);
    expect(reads()).toBe(1);
    await switchPlan(otherPlan);
    at(30_000);
    expect((await plans.get(t.organizationId))?.planId).toBe(FREE_PLAN_ID);
    expect(reads()).toBe(1);
    at(30_001);
    // Served from the kept plan while the read goes; later calls have what it found.
    expect((await plans.get(t.organizationId))?.planId).toBe(FREE_PLAN_ID);
    expect(reads()).toBe(2);
    expect(await planOnceRenewed(() => plans.get(t.organizationId), otherPlan)).toBe(otherPlan);
    // One read at a time: the calls made while it went began no other.
    expect(reads()).toBe(2);
  });

  it("reads again at once once forgotten, or once the kept period has ended", async () => {
    const { t, plans, otherPlan, switchPlan } = await setUp();
    const first = (await plans.get(t.organizationId))!;
    await switchPlan(otherPlan);
    plans.forget(t.organizationId);
    expect((await plans.get(t.organizationId))?.planId).toBe(otherPlan);

    await switchPlan(FREE_PLAN_ID);
    const end = first.periodEnd.getTime() - api.clock.now().getTime();
    api.clock.advance(end);
    try {
      expect((await plans.get(t.organizationId))?.planId).toBe(FREE_PLAN_ID);
    } finally {
      api.clock.advance(-end);
    }
  });
});
