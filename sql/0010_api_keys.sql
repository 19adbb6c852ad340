-- API keys (seed 000's api_keys): organization keys (`org_…`) for trusted server-side callers now,
-- app keys (`app-…`) of the service API later, in one table. A key is shown once and kept as the
-- SHA-256 of the whole key (it carries 256 random bits, so a slow hash buys nothing); `prefix` is
-- its first characters, kept to recognize it in lists.

create table if not exists api_keys (
  id              uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  kind            text not null check (kind in ('organization', 'app')),
  -- App keys act inside one workspace, for one application; organization keys for the whole organization.
  workspace_id    uuid references workspaces (id) on delete cascade,
  application_id  uuid,
  name            text not null check (length(name) between 1 and 100),
  prefix          text not null,
  secret_hash     text not null unique,
  scopes          text[] not null default '{}',
  expires_at      timestamptz,
  last_used_at    timestamptz,
  created_by      uuid references users (id) on delete set null,
  created_at      timestamptz not null default now(),
  revoked_at      timestamptz,
  check (kind <> 'organization' or (workspace_id is null and application_id is null))
);
create index if not exists api_keys_organization_idx on api_keys (organization_id, kind, id);
