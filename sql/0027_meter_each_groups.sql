-- meter_each() (sql/0026), with groups: the events of one call, all recorded or none.
--
-- 0026 gathered only single events: a call with several (an API batch, or a metered call's unit
-- with the records it carries) went alone through meter_usage(), which locks its organization's
-- counters until it commits, so one busy organization's batches ran one commit at a time
-- (scripts/bench/metering.ts: 807 two-record calls/s, where single-event calls ran at 3,500–5,000
-- the same day). Here every event
-- names its call's group (`grp`), and a gathered batch holds whole calls:
--
--   1. classify before any lock, as 0026 did, and more: in a group of several events, a key stored
--      for another event, or repeated in the group for another event, is a conflict now, and a key
--      another call of this batch also carries is `retry` (the call goes again in a later batch,
--      once the other's fate is known). A group with a member that is stale, invalid, a conflict or
--      `retry` is failed, whatever its other members would do;
--   2. missing counters made at 0, as in 0026;
--   3. the counters locked and read, then the groups taken one by one in 0022's order of admission
--      (not enforced first, then the smallest quantity, then arrival): a group is admitted when every
--      one of its events fits, after the groups before it; a lone event, a group of one, as before;
--   4. the admitted events appended, counted and rolled up in one statement, as in 0026. An event of
--      a group of several whose key another call stored for a different event meanwhile raises MQ005,
--      undoing the whole batch, for the caller to send it again (1 then catches it);
--   5. warnings, and the answers by ord, as in 0026. An event of a failed group that did nothing
--      wrong itself answers `withdrawn`; a refused one answers the usage it did not fit, counting the
--      events of its group before it (by metric, then ord) as meter_usage() does.

do $$
begin
  if not exists (select 1 from pg_attribute a join pg_type t on t.typrelid = a.attrelid
                 where t.typname = 'meter_event' and a.attname = 'grp' and not a.attisdropped) then
    -- The call an event belongs to; its events all record or none does. Unique per lone event.
    alter type meter_event add attribute grp integer;
  end if;
end $$;

create or replace function meter_each(
  p_now    timestamptz,
  -- meter_event objects (sql/0022), with grp.
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
  v_candidates  meter_event[];
  -- By ord: the state of every event that is not a candidate.
  v_states      jsonb;
  -- The groups failed in 1.
  v_failed      integer[];
  -- By "organization metric period": the counter, as the groups admitted so far leave it.
  v_counter     jsonb;
  -- The group being weighed: what it would leave the counters at, its events, whether it still fits.
  v_group       integer;
  v_pending     jsonb;
  v_members     integer[];
  v_fits        boolean;
  -- Whether every candidate fits its counter, all together.
  v_all_fit     boolean;
  v_admitted    integer[] := '{}';
  -- By ord: for a refused event, the usage of its group's events before it (by metric, then ord).
  v_refused     jsonb := '{}'::jsonb;
  v_e           record;
  v_key         text;
  v_used        bigint;
  -- By ord: recorded, repeat (stored by another call meanwhile), refused or withdrawn.
  v_answers     jsonb;
  -- By organization, metric and period: the counter after this batch.
  v_after       jsonb;
  v_crossed     jsonb;
  v_w           record;
begin
  v_events := array(select e from jsonb_populate_recordset(null::meter_event, p_events) e);
  if exists (select 1 from unnest(v_events) e where e.grp is null) then
    raise exception 'meter_each: every event names its group (grp)';
  end if;

  -- 1. Classify, before any lock. Repeats in the batch are found by one window over (organization,
  -- key), and each plan is looked up once: a lateral scan of the batch per event cost more than all
  -- the rest of the function at 50 events.
  with
    sized as (select e, count(*) over (partition by e.grp) as n from unnest(v_events) e),
    numbered as (
      select s.e, s.n,
             row_number() over k as occurrence,
             first_value(s.n) over k as first_n,
             first_value((s.e).grp) over k as first_grp,
             first_value(((s.e).type, (s.e).quantity, (s.e).workspace_id)::text) over k as first_event
      from sized s
      window k as (partition by (s.e).organization_id, (s.e).key order by (s.e).ord)),
    plans as (
      select p.organization_id, p.subscription_id, p.plan_id
      from (select distinct e.organization_id, e.subscription_id, e.plan_id from unnest(v_events) e) p
      where exists (select 1 from subscriptions s
                    where s.id = p.subscription_id and s.organization_id = p.organization_id and s.plan_id = p.plan_id
                      and s.status in ('trialing', 'active', 'past_due', 'suspended'))),
    classified as (
      select x.e,
        case
          when p.plan_id is null then 'stale'
          when (x.e).workspace_id is not null and w.found is null then 'invalid'
          when u.same is not null and x.n > 1 and not u.same then 'conflict'
          when u.same is not null then 'repeat'
          when x.occurrence = 1 then 'candidate'
          when x.first_grp <> (x.e).grp and (x.n > 1 or x.first_n > 1) then 'retry'
          when x.first_grp = (x.e).grp and x.first_event <> ((x.e).type, (x.e).quantity, (x.e).workspace_id)::text then 'conflict'
          else 'repeat'
        end as state
      from numbered x
      left join plans p
        on (p.organization_id, p.subscription_id, p.plan_id) = ((x.e).organization_id, (x.e).subscription_id, (x.e).plan_id)
      left join lateral (
        select true as found from workspaces w where w.id = (x.e).workspace_id and w.organization_id = (x.e).organization_id limit 1) w on true
      left join lateral (
        select (u.resource_type, u.quantity, u.workspace_id) is not distinct from ((x.e).type, (x.e).quantity, (x.e).workspace_id) as same
        from usage_records u where u.organization_id = (x.e).organization_id and u.idempotency_key = (x.e).key limit 1) u on true)
  select coalesce(array_agg(k.e order by (k.e).ord) filter (where k.state = 'candidate'), '{}'),
         coalesce(jsonb_object_agg((k.e).ord::text, k.state) filter (where k.state <> 'candidate'), '{}'::jsonb),
         coalesce(array_agg(distinct (k.e).grp) filter (where k.state in ('stale', 'invalid', 'conflict', 'retry')), '{}')
  into v_candidates, v_states, v_failed
  from classified k;

  -- 2. Missing counters, made at 0. A row that exists is not touched, so nothing here waits on its lock.
  insert into usage_counters (organization_id, resource_type, period_start, period_end, used, updated_at)
  select distinct on (e.organization_id, e.type, e.period_start) e.organization_id, e.type, e.period_start, e.period_end, 0, p_now
  from unnest(v_candidates) e
  where not exists (select 1 from usage_counters c
                    where (c.organization_id, c.resource_type, c.period_start) = (e.organization_id, e.type, e.period_start))
  order by e.organization_id, e.type, e.period_start
  on conflict do nothing;

  -- 3. Lock and read, in one order; then weigh the groups one by one.
  select coalesce(jsonb_object_agg(concat_ws(' ', c.organization_id, c.resource_type, c.period_start), c.used), '{}'::jsonb)
  into v_counter
  from (select c.organization_id, c.resource_type, c.period_start, c.used from usage_counters c
        where (c.organization_id, c.resource_type, c.period_start) in (select e.organization_id, e.type, e.period_start from unnest(v_candidates) e)
        order by c.organization_id, c.resource_type, c.period_start
        for update) c;

  -- Nearly always everything fits: then every group not failed in 1 is admitted, without weighing.
  -- (A counter not read answers null here: weighed, it raises.)
  select coalesce(bool_and(coalesce(f.fits, false)), true) into v_all_fit
  from (select min(k.quota_limit) filter (where k.enforce and k.quota_limit >= 0) is null
               or sum(k.quantity) + (v_counter ->> concat_ws(' ', k.organization_id, k.type, k.period_start))::bigint
                  <= min(k.quota_limit) filter (where k.enforce and k.quota_limit >= 0) as fits
        from unnest(v_candidates) k group by k.organization_id, k.type, k.period_start) f;
  if v_all_fit then
    v_admitted := array(select k.ord from unnest(v_candidates) k where not k.grp = any (v_failed));
  end if;

  for v_e in
    select k.*, concat_ws(' ', k.organization_id, k.type, k.period_start) as counter_key
    from (select k.*, bool_and(k.enforce) over g as group_enforce, sum(k.quantity) over g as group_total,
                 min(k.ord) over g as group_first
          from unnest(v_candidates) k window g as (partition by k.grp)) k
    where not v_all_fit
    order by k.group_enforce, k.group_total, k.group_first, k.type, k.ord
  loop
    if v_group is distinct from v_e.grp then
      if v_fits and not v_group = any (v_failed) then
        v_counter := v_counter || v_pending;
        v_admitted := v_admitted || v_members;
      end if;
      v_group := v_e.grp;
      v_pending := '{}'::jsonb;
      v_members := '{}';
      v_fits := true;
    end if;
    if v_fits then
      v_used := coalesce((v_pending ->> v_e.counter_key)::bigint, (v_counter ->> v_e.counter_key)::bigint);
      if v_used is null then
        raise exception 'meter_each: no counter locked for %', v_e.counter_key;
      end if;
      if v_e.enforce and v_e.quota_limit >= 0 and v_used + v_e.quantity > v_e.quota_limit then
        v_fits := false;
        v_refused := v_refused || jsonb_build_object(v_e.ord::text, v_used - (v_counter ->> v_e.counter_key)::bigint);
      else
        v_pending := v_pending || jsonb_build_object(v_e.counter_key, v_used + v_e.quantity);
        v_members := v_members || v_e.ord;
      end if;
    end if;
  end loop;
  if v_group is not null and v_fits and not v_group = any (v_failed) then
    v_admitted := v_admitted || v_members;
  end if;

  -- 4. Append, count, roll up.
  with
    admitted as (select k.* from unnest(v_candidates) k where k.ord = any (v_admitted)),
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
    (select jsonb_object_agg(k.ord::text,
              case when exists (select 1 from appended a where a.ord = k.ord) then 'recorded'
                   when k.ord = any (v_admitted) then 'repeat'
                   when v_refused ? k.ord::text then 'refused'
                   else 'withdrawn' end)
     from unnest(v_candidates) k),
    (select jsonb_object_agg(concat_ws(' ', n.organization_id, n.resource_type, n.period_start), n.after) from counted n),
    (select jsonb_agg(to_jsonb(n)) from counted n
     where n.quota_limit > 0 and n.before * 100 < 100 * n.quota_limit and n.after * 100 >= 80 * n.quota_limit)
  into v_answers, v_after, v_crossed;

  -- A group of several must not keep its other events when one turns out to conflict: undo it all.
  if jsonb_path_exists(v_answers, '$.* ? (@ == "repeat")') and exists (select 1 from unnest(v_candidates) k
             join usage_records u on u.organization_id = k.organization_id and u.idempotency_key = k.key
             where v_answers ->> k.ord::text = 'repeat'
               and (select count(*) from unnest(v_candidates) g where g.grp = k.grp) > 1
               and (u.resource_type, u.quantity, u.workspace_id) is distinct from (k.type, k.quantity, k.workspace_id)) then
    raise exception using errcode = 'MQ005', message = 'meter_each: a key of a group was stored meanwhile for another event';
  end if;

  -- 5. Warnings.
  for v_w in select * from jsonb_to_recordset(coalesce(v_crossed, '[]'::jsonb)) as x (
      organization_id uuid, metric text, before bigint, after bigint, quota_limit bigint, period_start timestamptz, period_end timestamptz)
  loop
    perform raise_quota_warnings(v_w.organization_id, v_w.metric, v_w.before, v_w.after, v_w.quota_limit, v_w.period_start,
                                 v_w.period_end, p_now);
  end loop;

  -- The answers by ord: the state from 1 or 3, and the usage after the batch (what a refused event did
  -- not fit, with its group's events before it).
  v_states := v_states || coalesce(v_answers, '{}'::jsonb);
  v_answers := (
    select jsonb_object_agg(e.ord::text, jsonb_build_object(
             'status', v_states ->> e.ord::text,
             'used', coalesce((v_after ->> concat_ws(' ', e.organization_id, e.type, e.period_start))::bigint,
                              (select c.used from usage_counters c
                               where (c.organization_id, c.resource_type, c.period_start) = (e.organization_id, e.type, e.period_start)),
                              0) + coalesce((v_refused ->> e.ord::text)::bigint, 0),
             'stored', null))
    from unnest(v_events) e);

  if not jsonb_path_exists(v_states, '$.* ? (@ == "repeat")') then
    return (select jsonb_agg(v_answers -> e.ord::text order by e.ord) from unnest(v_events) e);
  end if;

  -- Repeats, answered from the ledger as this statement now sees it: a replay when the stored event is the
  -- same, a conflict when it is not. A repeat of a key nothing stored answers as its first occurrence did.
  return (
    select jsonb_agg(
      case
        when o.value ->> 'status' <> 'repeat' then o.value
        when u.idempotency_key is null then
          (select f.value from unnest(v_events) d join jsonb_each(v_answers) f on f.key = d.ord::text
           where d.organization_id = e.organization_id and d.key = e.key and f.value ->> 'status' <> 'repeat'
           order by d.ord limit 1)
        when (u.resource_type, u.quantity, u.workspace_id) is distinct from (e.type, e.quantity, e.workspace_id) then
          jsonb_build_object('status', 'conflict', 'used', o.value -> 'used', 'stored', null)
        else jsonb_build_object('status', 'replayed', 'used', null,
                                'stored', to_jsonb(u) || jsonb_build_object('cost_amount', u.cost_amount::text))
      end
      order by e.ord)
    from unnest(v_events) e
    join jsonb_each(v_answers) o on o.key = e.ord::text
    left join usage_records u on o.value ->> 'status' = 'repeat' and u.organization_id = e.organization_id and u.idempotency_key = e.key);
end $$;
