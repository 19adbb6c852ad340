-- Tenancy (seed 000's organizations, teams, workspaces, team_members, team_invitations).
-- Every tenant table leads with its tenant so keys and indexes can be distributed by organization.

create table if not exists organizations (
  id           uuid primary key,
  name         text not null check (length(name) between 1 and 100),
  -- The root team's owners and admins administer the organization. Set in the creating transaction.
  root_team_id uuid,
  created_by   uuid references users (id) on delete set null,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

create table if not exists teams (
  id              uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  name            text not null check (length(name) between 1 and 100),
  is_root         boolean not null default false,
  archived_at     timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  check (not (is_root and archived_at is not null))
);
create unique index if not exists teams_live_name_key on teams (organization_id, lower(name)) where archived_at is null;
create unique index if not exists teams_one_root_key on teams (organization_id) where is_root;

do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'organizations_root_team_fk') then
    alter table organizations
      add constraint organizations_root_team_fk foreign key (root_team_id) references teams (id) deferrable initially deferred;
  end if;
end $$;

create table if not exists workspaces (
  id              uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  team_id         uuid not null references teams (id) on delete cascade,
  name            text not null check (length(name) between 1 and 100),
  archived_at     timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create unique index if not exists workspaces_live_name_key on workspaces (team_id, lower(name)) where archived_at is null;
create index if not exists workspaces_organization_idx on workspaces (organization_id);

create table if not exists team_members (
  organization_id uuid not null references organizations (id) on delete cascade,
  team_id         uuid not null references teams (id) on delete cascade,
  user_id         uuid not null references users (id) on delete cascade,
  role            text not null check (role in ('owner', 'admin', 'editor', 'member')),
  joined_at       timestamptz not null default now(),
  primary key (team_id, user_id)
);
create index if not exists team_members_user_idx on team_members (user_id, organization_id);

create table if not exists team_invitations (
  id              uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  team_id         uuid not null references teams (id) on delete cascade,
  email           text not null check (email = lower(email)),
  role            text not null check (role in ('owner', 'admin', 'editor', 'member')),
  token_hash      text not null unique,
  invited_by      uuid not null references users (id) on delete cascade,
  -- `expired` is not stored: a pending invitation past expires_at reads as expired.
  status          text not null default 'pending' check (status in ('pending', 'accepted', 'revoked')),
  expires_at      timestamptz not null,
  accepted_by     uuid references users (id) on delete set null,
  accepted_at     timestamptz,
  revoked_at      timestamptz,
  created_at      timestamptz not null default now()
);
create index if not exists team_invitations_team_idx on team_invitations (team_id, id);

-- Every mutating console call, written in the transaction of its change.
create table if not exists audit_logs (
  id              uuid primary key,
  organization_id uuid references organizations (id) on delete cascade,
  workspace_id    uuid,
  actor_user_id   uuid references users (id) on delete set null,
  action          text not null,
  target_type     text not null,
  target_id       text,
  changes         jsonb not null,
  ip              text,
  user_agent      text,
  request_id      text not null,
  created_at      timestamptz not null default now()
);
create index if not exists audit_logs_organization_idx on audit_logs (organization_id, id desc);
