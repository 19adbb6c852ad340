-- The statements a workflow run writes, as functions taking many runs at once (server/workflows/
-- run-writes.ts gathers concurrent runs into one call). As PL/pgSQL functions their plans are made
-- once per connection instead of once per call: planning these statements cost more than running
-- them for a batch of ten runs.

-- A node result's organization and workspace are its run's: execution_id already references the
-- run, whose own keys are checked once when it starts, and deleting an organization or workspace
-- still removes its node results through execution_records' cascade. Postgres checks each key of
-- each row on its own (a lookup and a lock of the parent), ten or more rows per run, so the two
-- keys that only repeated the run's check go.
alter table node_execution_results drop constraint if exists node_execution_results_organization_id_fkey;
alter table node_execution_results drop constraint if exists node_execution_results_workspace_id_fkey;

-- Starts runs: p_runs is a JSON array of
--   { ord, organization_id, workspace_id, id, workflow_id, version (null: the latest), known_version_id,
--     response_mode, inputs, started_at, created_by, audit_id, actor_user_id, ip, user_agent, request_id }.
-- Looks up each run's workflow, the version to run and the workspace's network setting, and records
-- the runs that can start (found, not archived, published, and the version to run is
-- known_version_id, the one the caller has compiled) as `running`, leased for p_lease_seconds, each
-- with its `workflow_run.start` audit entry. Answers one row per run, in `ord` order.
create or replace function workflow_open_runs(p_runs jsonb, p_lease_seconds integer)
returns table (
  o_ord                   integer,
  o_found                 boolean,
  o_archived              boolean,
  o_latest_version        integer,
  o_version_id            uuid,
  o_version               integer,
  o_allow_private_network boolean,
  o_opened                boolean
) language plpgsql
-- Every lookup here is by key: planned by index whatever the tables held when the plan was made
-- (a plan made while they were nearly empty would otherwise scan or hash them whole for good).
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
as $$
begin
  return query
  with
    req as (
      select * from jsonb_to_recordset(p_runs) as r(
        ord integer, organization_id uuid, workspace_id uuid, id uuid, workflow_id uuid, version integer,
        known_version_id uuid, response_mode text, inputs jsonb, started_at timestamptz, created_by uuid,
        audit_id uuid, actor_user_id uuid, ip text, user_agent text, request_id text)
    ),
    target as (
      select r.*, w.id is not null as found, w.archived_at is not null as archived, w.latest_version,
        v.id as version_id, v.version as run_version, coalesce(s.allow_private_network, false) as allow_private_network
      from req r
      left join workflows w on w.organization_id = r.organization_id and w.workspace_id = r.workspace_id and w.id = r.workflow_id
      left join workflow_versions v
        on v.workflow_id = w.id and v.organization_id = r.organization_id and v.version = coalesce(r.version, w.latest_version)
      left join workflow_settings s on s.workspace_id = w.workspace_id
    ),
    runnable as (
      select * from target t
      where t.found and not t.archived and t.latest_version is not null and t.version_id = t.known_version_id
    ),
    runs as (
      insert into execution_records
        (organization_id, workspace_id, id, workflow_id, version, status, response_mode, inputs, started_at, lease_until, created_by)
      select n.organization_id, n.workspace_id, n.id, n.workflow_id, n.run_version, 'running', n.response_mode, n.inputs,
        n.started_at, now() + make_interval(secs => p_lease_seconds), n.created_by
      from runnable n
      returning execution_records.id
    ),
    audit as (
      insert into audit_logs
        (id, organization_id, workspace_id, actor_user_id, action, target_type, target_id, changes, ip, user_agent, request_id)
      select n.audit_id, n.organization_id, n.workspace_id, n.actor_user_id, 'workflow_run.start', 'workflow_run', n.id::text,
        jsonb_build_object('before', null, 'after',
          jsonb_build_object('workflowId', n.workflow_id, 'version', n.run_version, 'responseMode', n.response_mode)),
        n.ip, n.user_agent, n.request_id
      from runnable n
    )
  select t.ord, t.found, t.archived, t.latest_version, t.version_id, t.run_version, t.allow_private_network,
    exists (select 1 from runs where runs.id = t.id)
  from target t
  order by t.ord;
end $$;

-- Writes runs, node results and run ends of many runs.
--
-- A blocking run whose workflow its server looked up less than a second ago starts without
-- workflow_open_runs() (server/workflows/run-service.ts): its record and its `workflow_run.start`
-- audit entry go with its first write, which for a run without I/O also carries its node results and
-- its end, so the run is inserted finished and never updated. The write says whether what the
-- server assumed (the version to run, the workflow not archived, the workspace's network setting)
-- still holds, so a server whose lookup went stale looks again.
--
-- p_openings: a JSON array of
--   { organization_id, workspace_id, id, workflow_id, version, version_id, requested_version,
--     allow_private_network, response_mode, inputs, started_at, created_by,
--     audit_id, actor_user_id, ip, user_agent, request_id }
-- p_nodes: per run, { execution_id, organization_id, workspace_id, nodes }, each node result an array
--   [id, sequence, node_id, node_type, title, step, status, inputs, outputs, error, recovery, attempt,
--    tokens, elapsed_ms, started_at, finished_at, iteration_node_id, iteration_index]
-- (positions rather than keys, and the run's keys once: the text Node writes and Postgres parses is
-- half as long); p_ends: { id, organization_id, status, outputs, error, total_tokens, total_steps,
-- elapsed_ms, finished_at }. Answers the ids of the openings whose
-- assumptions no longer hold (they are recorded all the same: they ran what was current when looked up).
create or replace function workflow_write_runs(p_openings jsonb, p_nodes jsonb, p_ends jsonb, p_lease_seconds integer)
returns table (o_stale_run_id uuid) language plpgsql
-- Every lookup here is by key: planned by index whatever the tables held when the plan was made
-- (a plan made while they were nearly empty would otherwise scan or hash them whole for good).
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  v_named integer;
  v_found integer;
begin
  -- 1. Runs recorded now: finished when their end is in this write, running (leased) otherwise.
  with
    opening as (
      select o.*, f.status as end_status, f.outputs as end_outputs, f.error as end_error, f.total_tokens, f.total_steps,
        f.elapsed_ms, f.finished_at
      from jsonb_to_recordset(p_openings) as o(
        organization_id uuid, workspace_id uuid, id uuid, workflow_id uuid, version integer, response_mode text, inputs jsonb,
        started_at timestamptz, created_by uuid, audit_id uuid, actor_user_id uuid, ip text, user_agent text, request_id text)
      left join jsonb_to_recordset(p_ends) as f(
        id uuid, status text, outputs jsonb, error jsonb, total_tokens bigint, total_steps integer, elapsed_ms double precision,
        finished_at timestamptz) on f.id = o.id
    ),
    runs as (
      insert into execution_records
        (organization_id, workspace_id, id, workflow_id, version, status, response_mode, inputs, outputs, error, total_tokens,
         total_steps, elapsed_ms, started_at, finished_at, lease_until, created_by)
      select n.organization_id, n.workspace_id, n.id, n.workflow_id, n.version, coalesce(n.end_status, 'running'), n.response_mode,
        n.inputs, coalesce(n.end_outputs, '{}'::jsonb), n.end_error, coalesce(n.total_tokens, 0), coalesce(n.total_steps, 0),
        n.elapsed_ms, n.started_at, n.finished_at,
        case when n.end_status is null then now() + make_interval(secs => p_lease_seconds) end, n.created_by
      from opening n
    )
  insert into audit_logs
    (id, organization_id, workspace_id, actor_user_id, action, target_type, target_id, changes, ip, user_agent, request_id)
  select n.audit_id, n.organization_id, n.workspace_id, n.actor_user_id, 'workflow_run.start', 'workflow_run', n.id::text,
    jsonb_build_object('before', null, 'after',
      jsonb_build_object('workflowId', n.workflow_id, 'version', n.version, 'responseMode', n.response_mode)),
    n.ip, n.user_agent, n.request_id
  from opening n;

  -- 2. Node results, of runs that exist in their organization: checked, and locked against deletion
  -- (FOR KEY SHARE, as a foreign key would), once per run rather than once per row (see sql/0025).
  select count(*) into v_named from (
    select distinct r.execution_id, r.organization_id from jsonb_to_recordset(p_nodes) as r(execution_id uuid, organization_id uuid)
  ) named;
  select count(*) into v_found from (
    select e.id from execution_records e
    where (e.id, e.organization_id) in (
      select r.execution_id, r.organization_id from jsonb_to_recordset(p_nodes) as r(execution_id uuid, organization_id uuid))
    for key share of e
  ) found;
  if v_found <> v_named then
    raise exception 'node results name a run that is not in their organization'
      using errcode = 'foreign_key_violation', table = 'node_execution_results', column = 'execution_id';
  end if;

  insert into node_execution_results
    (organization_id, workspace_id, id, execution_id, sequence, node_id, node_type, title, step, status, inputs, outputs,
     error, recovery, attempt, tokens, elapsed_ms, started_at, finished_at, iteration_node_id, iteration_index)
  select r.organization_id, r.workspace_id, (n ->> 0)::uuid, r.execution_id, (n ->> 1)::integer, n ->> 2, n ->> 3, n ->> 4,
    (n ->> 5)::integer, n ->> 6, n -> 7, n -> 8, nullif(n -> 9, 'null'::jsonb), n ->> 10, (n ->> 11)::integer,
    (n ->> 12)::bigint, (n ->> 13)::double precision, (n ->> 14)::timestamptz, (n ->> 15)::timestamptz, n ->> 16,
    (n ->> 17)::integer
  from jsonb_to_recordset(p_nodes) as r(execution_id uuid, organization_id uuid, workspace_id uuid, nodes jsonb)
  cross join lateral jsonb_array_elements(r.nodes) as n;

  -- 3. Ends of runs recorded before. Only a run still `running` takes its end, so a late writer
  -- cannot undo a recovery; a run recorded finished in 1 is not running.
  update execution_records e
  set status = f.status, outputs = f.outputs, error = f.error, total_tokens = f.total_tokens, total_steps = f.total_steps,
    elapsed_ms = f.elapsed_ms, finished_at = f.finished_at, lease_until = null
  from jsonb_to_recordset(p_ends) as f(
    id uuid, organization_id uuid, status text, outputs jsonb, error jsonb, total_tokens bigint, total_steps integer,
    elapsed_ms double precision, finished_at timestamptz)
  where e.id = f.id and e.organization_id = f.organization_id and e.status = 'running';

  -- 4. Openings whose workflow has moved on since the server looked it up.
  return query
  select o.id
  from jsonb_to_recordset(p_openings) as o(
    organization_id uuid, workspace_id uuid, id uuid, workflow_id uuid, version integer, version_id uuid, requested_version integer,
    allow_private_network boolean)
  left join workflows w on w.organization_id = o.organization_id and w.workspace_id = o.workspace_id and w.id = o.workflow_id
  left join workflow_versions v on v.workflow_id = w.id and v.organization_id = o.organization_id and v.version = o.version
  left join workflow_settings s on s.workspace_id = o.workspace_id
  where w.id is null or w.archived_at is not null or v.id is distinct from o.version_id
    or (o.requested_version is null and w.latest_version is distinct from o.version)
    or coalesce(s.allow_private_network, false) <> o.allow_private_network;
end $$;
