-- meter_each(), again: the gathered single-event calls of a server checked and recorded as a set.
--
-- 0013's meter_each() ran meter_one() once per event, one statement of five writes each, so a
-- gathered batch cost about as much as its events did one at a time, and since a server runs one
-- batch at a time, that cost capped its metered calls at what one Postgres backend does serially.
-- Here the batch takes a fixed number of statements whatever its size:
--
--   1. the counter rows its events need are made (at 0) and then locked, both in one order
--      (organization, metric, period), so concurrent batches and meter_one() calls never wait on
--      each other in a cycle;
--   2. one statement reads the locked counters, admits the events that fit, appends their ledger
--      rows, moves the counters by what was appended and adds it to the hourly and daily rollups;
--   3. events whose key is already stored (or repeated in the batch) are answered from the ledger;
--   4. the quotas the batch crossed 80 % or 100 % of get their warnings, once per period.
--
-- Within one (organization, metric, period) the events are admitted as if they had come one at a
-- time in this order: those that are not enforced (usage that already happened) first, then the
-- smallest quantity first. So every admitted event fits, and no refused event would have fitted
-- after the ones admitted: the same outcome as some order in which the calls could have arrived.
--
-- The answers are those of 0013's meter_each(): {status, used, stored} by `ord`, with status
-- recorded, replayed, refused, conflict, invalid or stale, and `used` the usage after the batch
-- (for a refused event: what it did not fit).

do $$
begin
  if not exists (select 1 from pg_type where typname = 'meter_event') then
    create type meter_event as (
      ord             integer,
      organization_id uuid,
      subscription_id uuid,
      plan_id         uuid,
      period_start    timestamptz,
      period_end      timestamptz,
      -- The quota reported for the metric (null for none), its limit (-1 unlimited), and whether to enforce it.
      metric          text,
      quota_limit     bigint,
      enforce         boolean,
      id              uuid,
      key             text,
      type            text,
      quantity        bigint,
      unit            text,
      workspace_id    uuid,
      cost_amount     bigint,
      cost_scale      smallint,
      currency        text,
      metadata        jsonb,
      recorded_at     timestamptz,
      hour_start      timestamptz,
      day_start       timestamptz
    );
  end if;
end $$;

create or replace function meter_each(
  p_now    timestamptz,
  -- meter_event objects.
  p_events jsonb
) returns jsonb language plpgsql
-- Planned once per connection: as custom plans, made anew on every call, the statements cost three times as much.
-- A plan kept that long must not depend on the tables' sizes when it was made (a plan made while the ledger was
-- empty would hash all of it on every call once it is not): every lookup here is by key, so plan it by index.
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  v_events    meter_event[];
  v_outcomes  jsonb;
  v_crossed   jsonb;
  v_w         record;
begin
  v_events := array(select e from jsonb_populate_recordset(null::meter_event, p_events) e);

  -- 1. The counters of the events whose plan still holds: made at 0 when new, then locked, in one order.
  insert into usage_counters (organization_id, resource_type, period_start, period_end, used, updated_at)
  select distinct on (e.organization_id, e.type, e.period_start) e.organization_id, e.type, e.period_start, e.period_end, 0, p_now
  from unnest(v_events) e
  where exists (select 1 from subscriptions s
                where s.id = e.subscription_id and s.organization_id = e.organization_id and s.plan_id = e.plan_id
                  and s.status in ('trialing', 'active', 'past_due', 'suspended'))
  order by e.organization_id, e.type, e.period_start
  on conflict do nothing;

  perform 1 from usage_counters c
  where (c.organization_id, c.resource_type, c.period_start) in (select e.organization_id, e.type, e.period_start from unnest(v_events) e)
  order by c.organization_id, c.resource_type, c.period_start
  for update;

  -- 2. Admit, append, count, roll up. Repeats of a key, in the ledger or earlier in the batch, wait for 3.
  with
    ev as (select * from unnest(v_events)),
    -- Each lookup is a lateral one-row probe by key, so no plan can trade it for a scan of the ledger.
    classified as (
      select e.*,
        case
          when p.found is null then 'stale'
          when e.workspace_id is not null and w.found is null then 'invalid'
          when u.found or d.found then 'repeat'
          else 'candidate'
        end as state
      from ev e
      left join lateral (
        select true as found from subscriptions s
        where s.id = e.subscription_id and s.organization_id = e.organization_id and s.plan_id = e.plan_id
          and s.status in ('trialing', 'active', 'past_due', 'suspended') limit 1) p on true
      left join lateral (
        select true as found from workspaces w where w.id = e.workspace_id and w.organization_id = e.organization_id limit 1) w on true
      left join lateral (
        select true as found from usage_records u where u.organization_id = e.organization_id and u.idempotency_key = e.key limit 1) u on true
      left join lateral (
        select true as found from ev d where d.organization_id = e.organization_id and d.key = e.key and d.ord < e.ord limit 1) d on true),
    ranked as (
      select k.*, c.used as used_before,
             sum(k.quantity) over (partition by k.organization_id, k.type, k.period_start
                                   order by k.enforce, k.quantity, k.ord rows unbounded preceding) as running
      from classified k
      join usage_counters c on (c.organization_id, c.resource_type, c.period_start) = (k.organization_id, k.type, k.period_start)
      where k.state = 'candidate'),
    admitted as (
      select * from ranked r where not r.enforce or r.quota_limit < 0 or r.used_before + r.running <= r.quota_limit),
    ledger as (
      insert into usage_records (id, organization_id, workspace_id, subscription_id, resource_type, quantity, unit,
                                 cost_amount, cost_scale, currency, metadata, idempotency_key, recorded_at, period_start, period_end)
      select a.id, a.organization_id, a.workspace_id, a.subscription_id, a.type, a.quantity, a.unit,
             a.cost_amount, a.cost_scale, a.currency, coalesce(a.metadata, '{}'::jsonb), a.key, a.recorded_at, a.period_start, a.period_end
      from admitted a
      order by a.organization_id, a.key
      -- A concurrent call stored the key after this statement began: answered in 3, as a repeat.
      on conflict (organization_id, idempotency_key) do nothing
      returning organization_id, idempotency_key),
    appended as (
      select a.* from admitted a join ledger l on (l.organization_id, l.idempotency_key) = (a.organization_id, a.key)),
    counted as (
      update usage_counters c set used = c.used + s.total, updated_at = p_now
      from (select organization_id, type, period_start, sum(quantity) as total, max(quota_limit) as quota_limit, max(metric) as metric,
                   max(period_end) as period_end
            from appended group by 1, 2, 3) s
      where (c.organization_id, c.resource_type, c.period_start) = (s.organization_id, s.type, s.period_start)
      returning c.organization_id, c.resource_type, c.period_start, s.period_end, s.metric, s.quota_limit,
                c.used - s.total as before, c.used as after),
    rolled as (
      insert into usage_rollups as r (organization_id, resource_type, granularity, bucket_start, workspace_key, quantity)
      select a.organization_id, a.type, g.granularity, g.bucket_start,
             coalesce(a.workspace_id, '00000000-0000-0000-0000-000000000000'::uuid), sum(a.quantity)
      from appended a cross join lateral (values ('hour', a.hour_start), ('day', a.day_start)) as g (granularity, bucket_start)
      group by 1, 2, 3, 4, 5
      order by 1, 2, 3, 4, 5
      on conflict (organization_id, resource_type, granularity, bucket_start, workspace_key)
        do update set quantity = r.quantity + excluded.quantity)
  select
    (select jsonb_object_agg(k.ord::text, jsonb_build_object(
              'status', case when k.state <> 'candidate' then k.state
                             when exists (select 1 from appended a where a.ord = k.ord) then 'recorded'
                             when exists (select 1 from admitted a where a.ord = k.ord) then 'repeat'
                             else 'refused' end,
              'used', coalesce((select n.after from counted n
                                where (n.organization_id, n.resource_type, n.period_start) = (k.organization_id, k.type, k.period_start)),
                               (select c.used from usage_counters c
                                where (c.organization_id, c.resource_type, c.period_start) = (k.organization_id, k.type, k.period_start)),
                               0),
              'stored', null))
     from classified k),
    (select jsonb_agg(to_jsonb(n)) from counted n
     where n.quota_limit > 0 and n.before * 100 < 100 * n.quota_limit and n.after * 100 >= 80 * n.quota_limit)
  into v_outcomes, v_crossed;

  -- 4. Warnings (before 3, which only reads).
  for v_w in select * from jsonb_to_recordset(coalesce(v_crossed, '[]'::jsonb)) as x (
      organization_id uuid, metric text, before bigint, after bigint, quota_limit bigint, period_start timestamptz, period_end timestamptz)
  loop
    perform raise_quota_warnings(v_w.organization_id, v_w.metric, v_w.before, v_w.after, v_w.quota_limit, v_w.period_start,
                                 v_w.period_end, p_now);
  end loop;

  -- 3. Repeats, answered from the ledger as this statement now sees it: a replay when the stored event is the
  -- same, a conflict when it is not. A repeat of a key nothing stored answers as its first occurrence did.
  return (
    select jsonb_agg(
      case
        when o.value ->> 'status' <> 'repeat' then o.value
        when u.idempotency_key is null then
          (select f.value from unnest(v_events) d join jsonb_each(v_outcomes) f on f.key = d.ord::text
           where d.organization_id = e.organization_id and d.key = e.key and f.value ->> 'status' <> 'repeat'
           order by d.ord limit 1)
        when (u.resource_type, u.quantity, u.workspace_id) is distinct from (e.type, e.quantity, e.workspace_id) then
          jsonb_build_object('status', 'conflict', 'used', o.value -> 'used', 'stored', null)
        else jsonb_build_object('status', 'replayed', 'used', null,
                                'stored', to_jsonb(u) || jsonb_build_object('cost_amount', u.cost_amount::text))
      end
      order by e.ord)
    from unnest(v_events) e
    join jsonb_each(v_outcomes) o on o.key = e.ord::text
    left join usage_records u on o.value ->> 'status' = 'repeat' and u.organization_id = e.organization_id and u.idempotency_key = e.key);
end $$;
