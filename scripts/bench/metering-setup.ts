/**
 * What scripts/bench/metering.ts sets up and reads: its databases, tenants on a plan the load cannot
 * exhaust, a grown ledger, and the CPU Postgres spends.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import type { createApp } from "../../server/app.ts";
import { openPostgres } from "../../server/db/database.ts";
import { newId } from "../../server/ids.ts";

/** `adminUrl` with the database name `name`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the database `name` if it is left from a run, and creates it empty. */
export async function recreateDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = openPostgres(adminUrl, 1);
  await sql.raw(`drop database if exists ${name} with (force)`).execute(admin.db);
  await sql.raw(`create database ${name}`).execute(admin.db);
  await admin.close();
}

/** Drops the database `name`, waiting for the connections just closed to go rather than killing them. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = openPostgres(adminUrl, 1);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await sql.raw(`drop database if exists ${name}`).execute(admin.db);
        return;
      } catch (error) {
        // 55006: still in use by a connection that is closing.
        if ((error as { code?: string }).code !== "55006" || attempt === 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await admin.close();
  }
}

/** A tenant made through the API, on a plan whose quotas the load cannot exhaust, with an API key. */
export async function createTenant(app: ReturnType<typeof createApp>, db: Kysely<Database>, n = 0) {
  const json = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await app.request(path, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
    });
    if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { data: Record<string, unknown> }).data;
  };
  const session = await json("/api/v1/auth/register", { email: `bench-${newId()}@example.com`, password: "bench password", name: "Bench" });
  const auth = { authorization: `Bearer ${String(session.accessToken)}` };
  const org = await json("/api/v1/organizations", { name: "Bench" }, auth);
  const workspace = await json(`/api/v1/teams/${String(org.rootTeamId)}/workspaces`, { name: "Main" }, auth);
  const key = await json(`/api/v1/organizations/${String(org.id)}/api-keys`, { name: "bench", scopes: ["usage:write"] }, auth);
  const planId = newId();
  const big = 1_000_000_000_000;
  await db
    .insertInto("subscription_plans")
    .values({
      id: planId,
      name: `bench-custom-${n}`,
      tier: "enterprise",
      type: "custom",
      billing_cycle: "monthly",
      price_minor: 0n,
      currency: "USD",
      display_name: JSON.stringify({ "en-US": "Bench" }),
      description: JSON.stringify({ "en-US": "Bench" }),
      quotas: JSON.stringify({
        api_calls_per_month: big,
        tokens_per_month: big,
        messages_per_month: big,
        storage_gb: -1,
        team_members: -1,
        workflows: -1,
        datasets: -1,
        custom_plugins: true,
      }),
      sort_order: 1000,
    })
    .execute();
  await db.updateTable("subscriptions").set({ plan_id: planId }).where("organization_id", "=", String(org.id)).execute();
  return { organizationId: String(org.id), workspaceId: String(workspace.id), key: String(key.secret) };
}

/** Appends `count` api_call records spread over `year` to the organization's ledger, and their rollups. */
export async function growLedger(
  db: Kysely<Database>,
  organizationId: string,
  workspaceId: string,
  from: number,
  count: number,
  year: Date,
) {
  const batch = 1_000_000;
  for (let start = from; start < from + count; start += batch) {
    const end = Math.min(from + count, start + batch) - 1;
    await sql`
      insert into usage_records (id, organization_id, workspace_id, resource_type, quantity, unit, idempotency_key, recorded_at, period_start, period_end)
      select gen_random_uuid(), ${organizationId}::uuid, case when i % 3 = 0 then ${workspaceId}::uuid end, 'api_call', 1, 'calls',
             'seed-' || lpad(i::text, 9, '0'),
             ${year.toISOString()}::timestamptz + (i % 31536000) * interval '1 second',
             ${year.toISOString()}::timestamptz, ${year.toISOString()}::timestamptz + interval '1 year'
      from generate_series(${start}::bigint, ${end}::bigint) i`.execute(db);
  }
  await sql`
    insert into usage_rollups as r (organization_id, resource_type, granularity, bucket_start, workspace_key, quantity)
    select organization_id, resource_type, g, date_trunc(g, recorded_at, 'UTC'),
           coalesce(workspace_id, '00000000-0000-0000-0000-000000000000'::uuid), sum(quantity)
    from usage_records cross join (values ('hour'), ('day')) as v (g)
    where organization_id = ${organizationId}::uuid and idempotency_key between ${`seed-${String(from).padStart(9, "0")}`} and ${`seed-${String(from + count - 1).padStart(9, "0")}`}
    group by 1, 2, 3, 4, 5
    on conflict (organization_id, resource_type, granularity, bucket_start, workspace_key) do update set quantity = r.quantity + excluded.quantity`.execute(
    db,
  );
  await sql`vacuum analyze usage_records`.execute(db);
  await sql`vacuum analyze usage_rollups`.execute(db);
}
