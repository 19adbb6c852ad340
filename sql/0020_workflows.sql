-- Workflows (seed 000's workflows, nodes, connections) with their published versions, and the
-- workspace's workflow settings. Every table leads with its tenant (organization, workspace).
--
-- A workflow's graph is stored as rows of `nodes` and `connections` keyed by (workflow, version):
-- version 0 is the draft being edited; publishing copies the draft to version N + 1, which is never
-- changed again.

create table if not exists workflows (
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id    uuid not null references workspaces (id) on delete cascade,
  id              uuid primary key,
  name            text not null check (length(name) between 1 and 100),
  description     text not null default '' check (length(description) <= 2000),
  -- The newest published version; null until the first publish.
  latest_version  integer check (latest_version >= 1),
  archived_at     timestamptz,
  created_by      uuid references users (id) on delete set null,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create index if not exists workflows_workspace_idx on workflows (organization_id, workspace_id, id);
-- The `workflows` count quota counts an organization's live workflows.
create index if not exists workflows_live_idx on workflows (organization_id) where archived_at is null;

create table if not exists workflow_versions (
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id    uuid not null references workspaces (id) on delete cascade,
  id              uuid primary key,
  workflow_id     uuid not null references workflows (id) on delete cascade,
  version         integer not null check (version >= 1),
  note            text not null default '' check (length(note) <= 2000),
  published_by    uuid references users (id) on delete set null,
  published_at    timestamptz not null default now(),
  unique (workflow_id, version)
);

create table if not exists nodes (
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id    uuid not null references workspaces (id) on delete cascade,
  workflow_id     uuid not null references workflows (id) on delete cascade,
  -- 0 for the draft, otherwise the published version.
  version         integer not null check (version >= 0),
  -- The node's place in the saved list, so a graph reads back in the order it was written.
  ordinal         integer not null,
  node_id         text not null check (length(node_id) between 1 and 128),
  type            text not null,
  type_version    integer not null,
  title           text,
  config          jsonb not null,
  position        jsonb,
  error_strategy  text not null default 'fail' check (error_strategy in ('fail', 'error_branch', 'default_value')),
  retry           jsonb,
  timeout_ms      integer,
  default_value   jsonb,
  primary key (workflow_id, version, ordinal)
);

create table if not exists connections (
  organization_id uuid not null references organizations (id) on delete cascade,
  workspace_id    uuid not null references workspaces (id) on delete cascade,
  workflow_id     uuid not null references workflows (id) on delete cascade,
  version         integer not null check (version >= 0),
  ordinal         integer not null,
  connection_id   text,
  source_node_id  text not null,
  source_handle   text not null,
  target_node_id  text not null,
  target_handle   text not null,
  primary key (workflow_id, version, ordinal)
);

-- Per-workspace settings of workflow runs. No row means the defaults.
create table if not exists workflow_settings (
  organization_id       uuid not null references organizations (id) on delete cascade,
  workspace_id          uuid primary key references workspaces (id) on delete cascade,
  -- Lets http-request nodes reach private, loopback and link-local addresses (off: SSRF guard).
  allow_private_network boolean not null default false,
  updated_by            uuid references users (id) on delete set null,
  updated_at            timestamptz not null default now()
);
