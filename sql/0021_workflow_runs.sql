-- Workflow runs (seed 000's execution_records) and the result of each node they ran
-- (node_execution_results). Node results are written as nodes finish, so a run cut short by a
-- crash still reads back with what it did; the run's own row is finished last.

create table if not exists execution_records (
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id    uuid not null references workspaces (id) on delete cascade,
  id              uuid primary key,
  workflow_id     uuid not null references workflows (id) on delete cascade,
  version         integer not null check (version >= 1),
  status          text not null check (status in ('running', 'succeeded', 'failed', 'partial-succeeded', 'stopped')),
  response_mode   text not null check (response_mode in ('blocking', 'streaming')),
  inputs          jsonb not null,
  outputs         jsonb not null default '{}'::jsonb,
  -- { type, message } when the run failed or was stopped.
  error           jsonb,
  total_tokens    bigint not null default 0,
  total_steps     integer not null default 0,
  elapsed_ms      double precision,
  started_at      timestamptz not null,
  finished_at     timestamptz,
  -- While running, the server executing the run keeps pushing this forward; a running run whose
  -- lease has passed was orphaned by a crash and is marked failed by the recovery sweep.
  lease_until     timestamptz,
  -- Set by a stop request that reached another server than the one executing the run.
  stop_requested_at timestamptz,
  created_by      uuid references users (id) on delete set null,
  check ((status = 'running') = (finished_at is null))
);
create index if not exists execution_records_workflow_idx on execution_records (organization_id, workspace_id, workflow_id, id);
create index if not exists execution_records_running_idx on execution_records (lease_until) where status = 'running';

create table if not exists node_execution_results (
  organization_id   uuid not null references organizations (id) on delete cascade,
  workspace_id      uuid not null references workspaces (id) on delete cascade,
  id                uuid primary key,
  execution_id      uuid not null references execution_records (id) on delete cascade,
  -- Finish order within the run.
  sequence          integer not null,
  node_id           text not null,
  node_type         text not null,
  title             text not null,
  -- Start order within the run (across iterations); null for a skipped node, which never started.
  step              integer,
  status            text not null check (status in ('succeeded', 'failed', 'skipped')),
  inputs            jsonb not null,
  outputs           jsonb not null,
  error             jsonb,
  recovery          text check (recovery in ('error_branch', 'default_value')),
  attempt           integer not null,
  tokens            bigint not null default 0,
  elapsed_ms        double precision not null,
  started_at        timestamptz not null,
  finished_at       timestamptz not null,
  iteration_node_id text,
  iteration_index   integer,
  unique (execution_id, sequence)
);
