-- The organization's webhook (where quota warnings are posted), a record of every delivery
-- attempt, and the background job queue that makes the deliveries: rows claimed with
-- FOR UPDATE SKIP LOCKED, so any number of servers share it and a crash loses nothing.

create table if not exists organization_webhooks (
  organization_id   uuid primary key references organizations (id) on delete cascade,
  url               text not null,
  enabled           boolean not null default true,
  -- The signing secret, AES-256-GCM under a key derived from AUTH_SECRET (it must be read back to sign).
  secret_ciphertext text not null,
  secret_prefix     text not null,
  created_at        timestamptz not null,
  updated_at        timestamptz not null
);

create table if not exists webhook_deliveries (
  id               uuid primary key,
  organization_id  uuid not null references organizations (id) on delete cascade,
  event_type       text not null,
  event_id         uuid not null,
  attempt          integer not null check (attempt >= 1),
  url              text not null,
  status           text not null check (status in ('succeeded', 'failed')),
  response_status  integer,
  error            text,
  duration_ms      integer not null,
  next_attempt_at  timestamptz,
  created_at       timestamptz not null
);
create index if not exists webhook_deliveries_organization_idx on webhook_deliveries (organization_id, id);

create table if not exists background_jobs (
  id              uuid primary key,
  kind            text not null,
  organization_id uuid references organizations (id) on delete cascade,
  payload         jsonb not null,
  status          text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  attempts        integer not null default 0,
  max_attempts    integer not null check (max_attempts >= 1),
  run_at          timestamptz not null,
  -- A claimed job is held until it settles or this passes (then another server may take it).
  locked_until    timestamptz,
  last_error      text,
  created_at      timestamptz not null,
  updated_at      timestamptz not null
);
create index if not exists background_jobs_due_idx on background_jobs (run_at) where status = 'pending';
