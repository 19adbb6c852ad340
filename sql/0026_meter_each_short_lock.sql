-- meter_each() (sql/0022), with its counters locked for less time.
--
-- A counter row is the one thing concurrent batches of an organization wait on: from the moment a
-- batch locks it until that batch commits, the next batch of the same organization cannot go on.
-- 0022 held the lock over all its work. Here only what needs the counters runs while they are
-- locked:
--
--   1. before any lock, each event is classified: its plan gone (stale), its workspace not the
--      organization's (invalid), its key already stored or earlier in the batch (a repeat), or a
--      candidate. A key another call stores after this look is still caught, by the ledger's
--      unique key in 3, as 0022 caught it.
--   2. missing counter rows are made at 0, without waiting on a locked one (0022's insert … on
--      conflict waited for the batch that held the row, before this batch had done anything);
--   3. the counters are locked in one order, then one statement admits the candidates that fit,
--      appends them, moves the counters and rolls them up, as in 0022;
--   4. warnings, as in 0022;
--   5. when nothing in the batch was a repeat — nearly always — the answer is made from what 1 and
--      3 found; repeats are answered from the ledger exactly as 0022 answered them.
--
-- The answers are 0022's, event by event.

create or replace function meter_each(
  p_now    timestamptz,
  -- meter_event objects (sql/0022).
  p_events jsonb
) returns jsonb language plpgsql
-- As in 0022: planned once per connection, by index whatever the tables held when planned.
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  v_events      meter_event[];
  -- The candidates of 1, and the state of every other event by ord.
  v_candidates  meter_event[];
  v_states      jsonb;
  -- By ord: recorded, repeat (stored by another call meanwhile) or refused.
  v_admitted    jsonb;
  -- By organization, metric and period: the counter after this batch.
  v_used        jsonb;
  v_crossed     jsonb;
  v_w           record;
begin
  v_events := array(select e from jsonb_populate_recordset(null::meter_event, p_events) e);

  -- 1. Classify, before any lock.
  select coalesce(array_agg(k.e order by (k.e).ord) filter (where k.state = 'candidate'), '{}'),
         coalesce(jsonb_object_agg((k.e).ord::text, k.state) filter (where k.state <> 'candidate'), '{}'::jsonb)
  into v_candidates, v_states
  from (
    select e,
      case
        when p.found is null then 'stale'
        when e.workspace_id is not null and w.found is null then 'invalid'
        when u.found or d.found then 'repeat'
        else 'candidate'
      end as state
    from unnest(v_events) e
    left join lateral (
      select true as found from subscriptions s
      where s.id = e.subscription_id and s.organization_id = e.organization_id and s.plan_id = e.plan_id
        and s.status in ('trialing', 'active', 'past_due', 'suspended') limit 1) p on true
    left join lateral (
      select true as found from workspaces w where w.id = e.workspace_id and w.organization_id = e.organization_id limit 1) w on true
    left join lateral (
      select true as found from usage_records u where u.organization_id = e.organization_id and u.idempotency_key = e.key limit 1) u on true
    left join lateral (
      select true as found from unnest(v_events) d where d.organization_id = e.organization_id and d.key = e.key and d.ord < e.ord limit 1) d on true
  ) k;

  -- 2. Missing counters, made at 0. A row that exists is not touched, so nothing here waits on its lock.
  insert into usage_counters (organization_id, resource_type, period_start, period_end, used, updated_at)
  select distinct on (e.organization_id, e.type, e.period_start) e.organization_id, e.type, e.period_start, e.period_end, 0, p_now
  from unnest(v_candidates) e
  where not exists (select 1 from usage_counters c
                    where (c.organization_id, c.resource_type, c.period_start) = (e.organization_id, e.type, e.period_start))
  order by e.organization_id, e.type, e.period_start
  on conflict do nothing;

  -- 3. Lock, in one order; then admit, append, count, roll up (0022's rule and order of admission).
  perform 1 from usage_counters c
  where (c.organization_id, c.resource_type, c.period_start) in (select e.organization_id, e.type, e.period_start from unnest(v_candidates) e)
  order by c.organization_id, c.resource_type, c.period_start
  for update;

  with
    ranked as (
      select k.*, c.used as used_before,
             sum(k.quantity) over (partition by k.organization_id, k.type, k.period_start
                                   order by k.enforce, k.quantity, k.ord rows unbounded preceding) as running
      from unnest(v_candidates) k
      join usage_counters c on (c.organization_id, c.resource_type, c.period_start) = (k.organization_id, k.type, k.period_start)),
    admitted as (
      select * from ranked r where not r.enforce or r.quota_limit < 0 or r.used_before + r.running <= r.quota_limit),
    ledger as (
      insert into usage_records (id, organization_id, workspace_id, subscription_id, resource_type, quantity, unit,
                                 cost_amount, cost_scale, currency, metadata, idempotency_key, recorded_at, period_start, period_end)
      select a.id, a.organization_id, a.workspace_id, a.subscription_id, a.type, a.quantity, a.unit,
             a.cost_amount, a.cost_scale, a.currency, coalesce(a.metadata, '{}'::jsonb), a.key, a.recorded_at, a.period_start, a.period_end
      from admitted a
      order by a.organization_id, a.key
      -- A concurrent call stored the key after 1 looked: answered in 5, as a repeat.
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
    (select jsonb_object_agg(r.ord::text,
              case when exists (select 1 from appended a where a.ord = r.ord) then 'recorded'
                   when exists (select 1 from admitted a where a.ord = r.ord) then 'repeat'
                   else 'refused' end)
     from ranked r),
    (select jsonb_object_agg(concat_ws(' ', n.organization_id, n.resource_type, n.period_start), n.after) from counted n),
    (select jsonb_agg(to_jsonb(n)) from counted n
     where n.quota_limit > 0 and n.before * 100 < 100 * n.quota_limit and n.after * 100 >= 80 * n.quota_limit)
  into v_admitted, v_used, v_crossed;

  -- 4. Warnings.
  for v_w in select * from jsonb_to_recordset(coalesce(v_crossed, '[]'::jsonb)) as x (
      organization_id uuid, metric text, before bigint, after bigint, quota_limit bigint, period_start timestamptz, period_end timestamptz)
  loop
    perform raise_quota_warnings(v_w.organization_id, v_w.metric, v_w.before, v_w.after, v_w.quota_limit, v_w.period_start,
                                 v_w.period_end, p_now);
  end loop;

  -- 5. The answers by ord: the state from 1 or 3, and the usage after the batch (what a refused event did not fit).
  v_states := v_states || coalesce(v_admitted, '{}'::jsonb);
  v_admitted := (
    select jsonb_object_agg(e.ord::text, jsonb_build_object(
             'status', v_states ->> e.ord::text,
             'used', coalesce((v_used ->> concat_ws(' ', e.organization_id, e.type, e.period_start))::bigint,
                              (select c.used from usage_counters c
                               where (c.organization_id, c.resource_type, c.period_start) = (e.organization_id, e.type, e.period_start)),
                              0),
             'stored', null))
    from unnest(v_events) e);

  if not jsonb_path_exists(v_states, '$.* ? (@ == "repeat")') then
    return (select jsonb_agg(v_admitted -> e.ord::text order by e.ord) from unnest(v_events) e);
  end if;

  -- Repeats, answered from the ledger as this statement now sees it: a replay when the stored event is the
  -- same, a conflict when it is not. A repeat of a key nothing stored answers as its first occurrence did.
  return (
    select jsonb_agg(
      case
        when o.value ->> 'status' <> 'repeat' then o.value
        when u.idempotency_key is null then
          (select f.value from unnest(v_events) d join jsonb_each(v_admitted) f on f.key = d.ord::text
           where d.organization_id = e.organization_id and d.key = e.key and f.value ->> 'status' <> 'repeat'
           order by d.ord limit 1)
        when (u.resource_type, u.quantity, u.workspace_id) is distinct from (e.type, e.quantity, e.workspace_id) then
          jsonb_build_object('status', 'conflict', 'used', o.value -> 'used', 'stored', null)
        else jsonb_build_object('status', 'replayed', 'used', null,
                                'stored', to_jsonb(u) || jsonb_build_object('cost_amount', u.cost_amount::text))
      end
      order by e.ord)
    from unnest(v_events) e
    join jsonb_each(v_admitted) o on o.key = e.ord::text
    left join usage_records u on o.value ->> 'status' = 'repeat' and u.organization_id = e.organization_id and u.idempotency_key = e.key);
end $$;
