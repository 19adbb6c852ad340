-- The keys of run records, checked once per run instead of once per row.
--
-- Postgres checks a foreign key row by row: for each inserted row a lookup of the parent and a lock
-- on it, run as a query of its own. A run wrote 16 such checks (four for its record, ten for its
-- node results, two for its audit entry), and on native Postgres they cost more than the rows.

-- 1. A run belongs to its workflow's workspace and organization: one key of the three columns
--    instead of three keys of one. It checks more than they did (that the run's tenant is its
--    workflow's) and cascades alike: deleting an organization, workspace or workflow removes the runs.
alter table workflows add constraint workflows_tenant_key unique (organization_id, workspace_id, id);
drop index if exists workflows_workspace_idx;

alter table execution_records drop constraint if exists execution_records_organization_id_fkey;
alter table execution_records drop constraint if exists execution_records_workspace_id_fkey;
alter table execution_records drop constraint if exists execution_records_workflow_id_fkey;
alter table execution_records add constraint execution_records_workflow_fkey
  foreign key (organization_id, workspace_id, workflow_id) references workflows (organization_id, workspace_id, id) on delete cascade;

-- 2. Node results name their run without a per-row key. workflow_write_run_records(), the one
--    writer, checks that each batch's runs exist and locks them against deletion (FOR KEY SHARE, as
--    the key did) once per run; a trigger deletes the node results of deleted runs, as the cascade did.
alter table node_execution_results drop constraint if exists node_execution_results_execution_id_fkey;

create or replace function execution_records_delete_node_results() returns trigger language plpgsql as $$
begin
  delete from node_execution_results n using gone g where n.execution_id = g.id;
  return null;
end $$;

drop trigger if exists execution_records_delete_node_results on execution_records;
create trigger execution_records_delete_node_results
  after delete on execution_records referencing old table as gone
  for each statement execute function execution_records_delete_node_results();

-- The writer of sql/0023, now checking its runs itself. A node result naming a run that does not
-- exist (or not in the node result's organization) raises foreign_key_violation (23503), as the key
-- did, and the call writes nothing.
create or replace function workflow_write_run_records(p_nodes jsonb, p_runs jsonb) returns void language plpgsql
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
  select count(*) into v_named from (
    select distinct n.execution_id, n.organization_id from jsonb_to_recordset(p_nodes) as n(execution_id uuid, organization_id uuid)
  ) named;
  select count(*) into v_found from (
    select e.id from execution_records e
    where (e.id, e.organization_id) in (
      select n.execution_id, n.organization_id from jsonb_to_recordset(p_nodes) as n(execution_id uuid, organization_id uuid))
    for key share of e
  ) found;
  if v_found <> v_named then
    raise exception 'node results name a run that is not in their organization'
      using errcode = 'foreign_key_violation', table = 'node_execution_results', column = 'execution_id';
  end if;

  insert into node_execution_results
    (organization_id, workspace_id, id, execution_id, sequence, node_id, node_type, title, step, status, inputs, outputs,
     error, recovery, attempt, tokens, elapsed_ms, started_at, finished_at, iteration_node_id, iteration_index)
  select n.organization_id, n.workspace_id, n.id, n.execution_id, n.sequence, n.node_id, n.node_type, n.title, n.step,
    n.status, n.inputs, n.outputs, n.error, n.recovery, n.attempt, n.tokens, n.elapsed_ms, n.started_at, n.finished_at,
    n.iteration_node_id, n.iteration_index
  from jsonb_to_recordset(p_nodes) as n(
    organization_id uuid, workspace_id uuid, id uuid, execution_id uuid, sequence integer, node_id text, node_type text,
    title text, step integer, status text, inputs jsonb, outputs jsonb, error jsonb, recovery text, attempt integer,
    tokens bigint, elapsed_ms double precision, started_at timestamptz, finished_at timestamptz,
    iteration_node_id text, iteration_index integer);

  update execution_records e
  set status = f.status, outputs = f.outputs, error = f.error, total_tokens = f.total_tokens, total_steps = f.total_steps,
    elapsed_ms = f.elapsed_ms, finished_at = f.finished_at, lease_until = null
  from jsonb_to_recordset(p_runs) as f(
    id uuid, organization_id uuid, status text, outputs jsonb, error jsonb, total_tokens bigint, total_steps integer,
    elapsed_ms double precision, finished_at timestamptz)
  where e.id = f.id and e.organization_id = f.organization_id and e.status = 'running';
end $$;
