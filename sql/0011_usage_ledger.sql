-- The usage ledger (seed 000's usage_records), the counters quotas are checked against, the
-- rollups history is read from, and the quota warnings. Usage is checked and recorded by
-- meter_one() (0013): one statement moves the counter and appends the record, so the check never
-- reads the ledger and costs the same with ten thousand records as with ten million.

-- Append-only: one row per usage event, keyed by the caller's idempotency key, so a retried event
-- counts once; `id` (UUID v7) names a record in answers but needs no index of its own. No foreign
-- keys: the organization comes from an authenticated scope and workspaces are checked by
-- meter_one(), so a per-event check of a key would only slow the hottest insert (and a ledger of
-- millions of rows is purged by a job, not by a cascade). Workspaces are archived, never deleted.
create table if not exists usage_records (
  organization_id uuid not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 200),
  id              uuid not null,
  workspace_id    uuid,
  subscription_id uuid,
  resource_type   text not null check (resource_type in ('api_call', 'token', 'storage', 'message', 'workflow_execution')),
  quantity        bigint not null check (quantity > 0),
  unit            text not null check (length(unit) between 1 and 32),
  -- The cost as dinero.js keeps money: an integer amount at a scale (0.0012 USD = 12 at scale 4).
  cost_amount     bigint,
  cost_scale      smallint check (cost_scale between 0 and 12),
  currency        char(3),
  metadata        jsonb not null default '{}'::jsonb,
  recorded_at     timestamptz not null,
  -- The billing period the record counted against.
  period_start    timestamptz not null,
  period_end      timestamptz not null,
  created_at      timestamptz not null default now(),
  primary key (organization_id, idempotency_key),
  check ((cost_amount is null) = (currency is null) and (cost_amount is null) = (cost_scale is null))
);

create or replace function usage_records_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'usage_records is append-only';
end $$;

do $$
begin
  if not exists (select 1 from pg_trigger where tgname = 'usage_records_no_update') then
    create trigger usage_records_no_update before update on usage_records
      for each row execute function usage_records_append_only();
  end if;
end $$;

-- What each organization used of each metric in each billing period: the row a quota check moves.
create table if not exists usage_counters (
  organization_id uuid not null references organizations (id) on delete cascade,
  resource_type   text not null,
  period_start    timestamptz not null,
  period_end      timestamptz not null,
  used            bigint not null check (used >= 0),
  updated_at      timestamptz not null,
  primary key (organization_id, resource_type, period_start)
);

-- Hourly and daily sums per workspace, kept as records arrive; history reads these, never the
-- ledger. `workspace_key` is the nil UUID for usage of the organization as a whole.
create table if not exists usage_rollups (
  organization_id uuid not null references organizations (id) on delete cascade,
  resource_type   text not null,
  granularity     text not null check (granularity in ('hour', 'day')),
  bucket_start    timestamptz not null,
  workspace_key   uuid not null,
  quantity        bigint not null check (quantity >= 0),
  primary key (organization_id, resource_type, granularity, bucket_start, workspace_key)
);

-- A quota crossing 80 % or 100 %: once per organization, quota, level and period.
create table if not exists quota_warnings (
  id              uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  metric          text not null,
  level           smallint not null check (level in (80, 100)),
  value           bigint not null,
  quota_limit     bigint not null,
  period_start    timestamptz not null,
  period_end      timestamptz not null,
  crossed_at      timestamptz not null,
  unique (organization_id, metric, period_start, level)
);
create index if not exists quota_warnings_organization_idx on quota_warnings (organization_id, id);
