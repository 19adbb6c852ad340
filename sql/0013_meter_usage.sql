-- meter_one(), meter_usage() and meter_each(): the one step that checks quotas and records usage.
-- meter_one() takes one event in one statement: a conditional upsert moves the metric's counter
-- only if the event fits (used + n <= limit), and the same statement appends the ledger row and adds
-- it to the hourly and daily rollups; crossing 80 % or 100 % writes the quota's warning. A refused
-- event writes nothing, so traffic past a quota stays cheap. They read the ledger only through the
-- idempotency-key index, so their cost does not grow with history.
--
-- meter_usage() runs it for each event of an API batch of one organization, all or nothing: the
-- first event that does not go through raises, and the statement leaves nothing behind.
-- meter_each() runs it for independent events of any organizations, the single-event calls a server
-- has gathered into one round trip; each gets its own answer. Both take events by organization and
-- metric, so concurrent calls lock the counters in one order. A key repeated in one batch is one
-- event: its later occurrences answer as replays of the first.
--
-- meter_usage()'s errors (SQLSTATE, detail), and the matching statuses of meter_one():
--   MQ001  refused    a quota is exceeded          detail: {"resourceType", "limit", "used", "requested"}
--   MQ002  stale      the subscription no longer holds the plan the caller read: read it again
--   MQ003  conflict   the idempotency key was used for a different event   detail: the key
--   MQ004  invalid    the workspace is not the organization's              detail: the workspace id

do $$
begin
  if not exists (select 1 from pg_type where typname = 'usage_record_input') then
    create type usage_record_input as (
      ord          integer,
      id           uuid,
      key          text,
      type         text,
      quantity     bigint,
      unit         text,
      workspace_id uuid,
      cost_amount  bigint,
      cost_scale   smallint,
      currency     text,
      metadata     jsonb,
      recorded_at  timestamptz,
      -- recorded_at's UTC hour and day, computed by the caller (cheaper than date_trunc with a zone here).
      hour_start   timestamptz,
      day_start    timestamptz
    );
  end if;
end $$;

-- A UUID v7 for `p_at` (Postgres 15 has none built in): the v4 of gen_random_uuid() with its first
-- 48 bits set to the Unix time in milliseconds and its version nibble set to 7.
create or replace function metering_uuid_v7(p_at timestamptz) returns uuid language sql volatile as $$
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        placing substring(int8send(floor(extract(epoch from p_at) * 1000)::bigint) from 3) from 1 for 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

-- Writes the warnings a move of a quota's usage from p_before to p_after crosses (80 and 100 %),
-- once per quota, level and period, and queues their webhook delivery when a webhook is on.
create or replace function raise_quota_warnings(
  p_organization_id uuid,
  p_metric          text,
  p_before          bigint,
  p_after           bigint,
  p_limit           bigint,
  p_period_start    timestamptz,
  p_period_end      timestamptz,
  p_now             timestamptz
) returns void language plpgsql as $$
declare
  v_level integer;
  v_id    uuid;
begin
  if p_metric is null or p_limit <= 0 then
    return;
  end if;
  foreach v_level in array array[80, 100] loop
    if p_before * 100 < v_level * p_limit and p_after * 100 >= v_level * p_limit then
      v_id := null;
      insert into quota_warnings (id, organization_id, metric, level, value, quota_limit, period_start, period_end, crossed_at)
      values (metering_uuid_v7(p_now), p_organization_id, p_metric, v_level, p_after, p_limit, p_period_start, p_period_end, p_now)
      on conflict (organization_id, metric, period_start, level) do nothing
      returning id into v_id;
      if v_id is not null then
        -- 8 attempts: the job runner's backoff spreads them over about 15 hours.
        insert into background_jobs (id, kind, organization_id, payload, max_attempts, run_at, created_at, updated_at)
        select metering_uuid_v7(p_now), 'webhook.deliver', p_organization_id,
               jsonb_build_object('eventType', 'quota.warning', 'eventId', v_id), 8, p_now, p_now, p_now
        where exists (select 1 from organization_webhooks w where w.organization_id = p_organization_id and w.enabled);
      end if;
    end if;
  end loop;
end $$;

-- Checks and records one usage event in one statement: the subscription still holds the plan, the
-- workspace is the organization's, the key is new, the counter has room (a conditional upsert); then
-- the ledger row and the two rollups. A refused event writes nothing. o_status is `recorded`
-- (o_used is the usage after it), `replayed` (o_stored is the stored record, as JSON), `refused`
-- (o_used is the usage it did not fit), `conflict` (the key holds another event), `invalid` (the
-- workspace is not the organization's) or `stale` (the subscription no longer holds the plan the
-- caller read, maybe from a cache: read it again).
create or replace function meter_one(
  p_organization_id uuid,
  p_subscription_id uuid,
  p_plan_id         uuid,
  p_period_start    timestamptz,
  p_period_end      timestamptz,
  p_metric          text,
  p_limit           bigint,
  p_enforce         boolean,
  p_now             timestamptz,
  p_id              uuid,
  p_key             text,
  p_type            text,
  p_quantity        bigint,
  p_unit            text,
  p_workspace_id    uuid,
  p_cost_amount     bigint,
  p_cost_scale      smallint,
  p_currency        text,
  p_metadata        jsonb,
  p_recorded_at     timestamptz,
  p_hour_start      timestamptz,
  p_day_start       timestamptz,
  out o_status      text,
  out o_used        bigint,
  out o_stored      jsonb
) language plpgsql as $$
declare
  v_row       usage_records;
  v_plan_ok   boolean;
  v_ws_ok     boolean;
  v_existing  uuid;
  v_stored_id uuid;
begin
  with
    plan_ok as (
      select 1 from subscriptions s
      where s.id = p_subscription_id and s.organization_id = p_organization_id and s.plan_id = p_plan_id
        and s.status in ('trialing', 'active', 'past_due', 'suspended')),
    ws_ok as (
      select 1 where p_workspace_id is null
        or exists (select 1 from workspaces w where w.id = p_workspace_id and w.organization_id = p_organization_id)),
    existing as (
      select u.id from usage_records u where u.organization_id = p_organization_id and u.idempotency_key = p_key),
    counter as (
      insert into usage_counters as c (organization_id, resource_type, period_start, period_end, used, updated_at)
      select p_organization_id, p_type, p_period_start, p_period_end, p_quantity, p_now
      where exists (select 1 from plan_ok) and exists (select 1 from ws_ok) and not exists (select 1 from existing)
        and (not p_enforce or p_limit < 0 or p_quantity <= p_limit)
      on conflict (organization_id, resource_type, period_start) do update
        set used = c.used + excluded.used, updated_at = excluded.updated_at
        where not p_enforce or p_limit < 0 or c.used + excluded.used <= p_limit
      returning c.used),
    ledger as (
      insert into usage_records (id, organization_id, workspace_id, subscription_id, resource_type, quantity, unit,
                                 cost_amount, cost_scale, currency, metadata, idempotency_key, recorded_at, period_start, period_end)
      select p_id, p_organization_id, p_workspace_id, p_subscription_id, p_type, p_quantity, p_unit,
             p_cost_amount, p_cost_scale, p_currency, coalesce(p_metadata, '{}'::jsonb), p_key, p_recorded_at, p_period_start, p_period_end
      where exists (select 1 from counter)
      on conflict (organization_id, idempotency_key) do nothing
      returning id),
    rolled as (
      insert into usage_rollups as r (organization_id, resource_type, granularity, bucket_start, workspace_key, quantity)
      select p_organization_id, p_type, g.granularity, g.bucket_start,
             coalesce(p_workspace_id, '00000000-0000-0000-0000-000000000000'::uuid), p_quantity
      from (values ('hour', p_hour_start), ('day', p_day_start)) as g (granularity, bucket_start)
      where exists (select 1 from ledger)
      on conflict (organization_id, resource_type, granularity, bucket_start, workspace_key)
        do update set quantity = r.quantity + excluded.quantity)
  select exists (select 1 from plan_ok), exists (select 1 from ws_ok), (select e.id from existing e),
         (select c.used from counter c), (select l.id from ledger l)
    into v_plan_ok, v_ws_ok, v_existing, o_used, v_stored_id;

  if not v_plan_ok then
    o_status := 'stale';
    return;
  end if;
  if not v_ws_ok then
    o_status := 'invalid';
    return;
  end if;
  if v_existing is null and o_used is null then
    o_status := 'refused';
    select c.used into o_used from usage_counters c
    where c.organization_id = p_organization_id and c.resource_type = p_type and c.period_start = p_period_start;
    o_used := coalesce(o_used, 0);
    return;
  end if;
  if v_existing is null and v_stored_id is null then
    -- Another call stored this key between this statement's snapshot and its insert (which waited
    -- for it to commit): a replay, so what was just added to the counter comes off again.
    update usage_counters c set used = c.used - p_quantity
    where c.organization_id = p_organization_id and c.resource_type = p_type and c.period_start = p_period_start;
    o_used := null;
  end if;
  if v_stored_id is null then
    select * into v_row from usage_records u where u.organization_id = p_organization_id and u.idempotency_key = p_key;
    if (v_row.resource_type, v_row.quantity, v_row.workspace_id) is distinct from (p_type, p_quantity, p_workspace_id) then
      o_status := 'conflict';
    else
      o_status := 'replayed';
      -- As text: a bigint past 2^53 would lose digits as a JSON number.
      o_stored := to_jsonb(v_row) || jsonb_build_object('cost_amount', v_row.cost_amount::text);
    end if;
    return;
  end if;
  o_status := 'recorded';
  if p_limit > 0 and (o_used - p_quantity) * 100 < 100 * p_limit and o_used * 100 >= 80 * p_limit then
    perform raise_quota_warnings(p_organization_id, p_metric, o_used - p_quantity, o_used, p_limit, p_period_start, p_period_end, p_now);
  end if;
end $$;

-- A batch of the API, for one organization: every event is recorded or none is. The first that is
-- refused, conflicts, names a foreign workspace or finds the plan stale raises (MQ001, MQ003, MQ004,
-- MQ002) and the statement leaves nothing behind. Answers by `ord`.
create or replace function meter_usage(
  p_organization_id uuid,
  p_subscription_id uuid,
  p_plan_id         uuid,
  p_period_start    timestamptz,
  p_period_end      timestamptz,
  -- Per resource type: {"metric": the quota's name or null, "limit": n or -1 for unlimited}.
  p_quotas          jsonb,
  -- false records usage that already happened (tokens of a finished LLM call) even past the limit.
  p_enforce         boolean,
  p_now             timestamptz,
  -- usage_record_input objects; `ord` is the position in the caller's batch.
  p_records         jsonb
) returns jsonb language plpgsql as $$
declare
  v_r       usage_record_input;
  v_o       record;
  v_limit   bigint;
  v_detail  text;
  v_answers jsonb[] := '{}';
begin
  for v_r in
    select * from jsonb_populate_recordset(null::usage_record_input, p_records) r order by r.type, r.ord
  loop
    v_limit := (p_quotas -> v_r.type ->> 'limit')::bigint;
    if v_limit is null then
      raise exception 'meter_usage: no quota given for %', v_r.type;
    end if;
    select * into v_o from meter_one(
      p_organization_id, p_subscription_id, p_plan_id, p_period_start, p_period_end, p_quotas -> v_r.type ->> 'metric',
      v_limit, p_enforce, p_now, v_r.id, v_r.key, v_r.type, v_r.quantity, v_r.unit, v_r.workspace_id, v_r.cost_amount,
      v_r.cost_scale, v_r.currency, v_r.metadata, v_r.recorded_at, v_r.hour_start, v_r.day_start);
    if v_o.o_status not in ('recorded', 'replayed') then
      v_detail := case v_o.o_status
        when 'refused' then jsonb_build_object('resourceType', v_r.type, 'limit', v_limit, 'used', v_o.o_used, 'requested', v_r.quantity)::text
        when 'conflict' then v_r.key
        when 'invalid' then v_r.workspace_id::text end;
      raise exception using
        errcode = case v_o.o_status when 'refused' then 'MQ001' when 'conflict' then 'MQ003' when 'invalid' then 'MQ004' else 'MQ002' end,
        message = 'meter_usage: record ' || v_r.ord || ' ' || v_o.o_status,
        detail = coalesce(v_detail, '');
    end if;
    v_answers[v_r.ord + 1] := jsonb_build_object('status', v_o.o_status, 'stored', v_o.o_stored);
  end loop;
  return to_jsonb(v_answers);
end $$;

-- Independent events, of any organizations: the single-event calls a server has gathered into one
-- round trip. Each gets its own answer {status, used, stored}, by `ord`; a refused one leaves no
-- trace. Taken by organization and metric, so concurrent calls lock the counters in one order.
create or replace function meter_each(
  p_now    timestamptz,
  -- usage_record_input objects, each with its organization's plan: organization_id, subscription_id,
  -- plan_id, period_start, period_end, metric, limit and enforce.
  p_events jsonb
) returns jsonb language plpgsql as $$
declare
  v_e       record;
  v_o       record;
  v_answers jsonb[] := '{}';
begin
  for v_e in
    select (e.value ->> 'ord')::integer as ord, (e.value ->> 'organization_id')::uuid as organization_id,
           (e.value ->> 'subscription_id')::uuid as subscription_id, (e.value ->> 'plan_id')::uuid as plan_id,
           (e.value ->> 'period_start')::timestamptz as period_start, (e.value ->> 'period_end')::timestamptz as period_end,
           e.value ->> 'metric' as metric, (e.value ->> 'limit')::bigint as quota_limit, (e.value ->> 'enforce')::boolean as enforce,
           r.*
    from jsonb_array_elements(p_events) e, jsonb_populate_record(null::usage_record_input, e.value) r
    order by 2, r.type, 1
  loop
    select * into v_o from meter_one(
      v_e.organization_id, v_e.subscription_id, v_e.plan_id, v_e.period_start, v_e.period_end, v_e.metric, v_e.quota_limit,
      v_e.enforce, p_now, v_e.id, v_e.key, v_e.type, v_e.quantity, v_e.unit, v_e.workspace_id, v_e.cost_amount, v_e.cost_scale,
      v_e.currency, v_e.metadata, v_e.recorded_at, v_e.hour_start, v_e.day_start);
    v_answers[v_e.ord + 1] := jsonb_build_object('status', v_o.o_status, 'used', v_o.o_used, 'stored', v_o.o_stored);
  end loop;
  return to_jsonb(v_answers);
end $$;
