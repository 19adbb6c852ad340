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

-- 2. Node results name their run without a per-row key. workflow_write_runs() (sql/0023), their one
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
