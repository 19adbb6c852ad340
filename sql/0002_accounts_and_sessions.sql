-- Accounts (seed 000's users, refresh_tokens, password_resets), sessions and sign-in throttling.
-- Secrets are never stored: passwords as argon2id hashes, tokens as SHA-256 hashes.

create table if not exists users (
  id                  uuid primary key,
  email               text not null check (email = lower(email) and length(email) <= 254),
  name                text not null check (length(name) between 1 and 100),
  locale              text not null default 'en-US' check (locale in ('en-US', 'zh-CN')),
  password_hash       text not null,
  password_changed_at timestamptz not null default now(),
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);
create unique index if not exists users_email_key on users (email);

-- A session is one refresh-token family: every rotation adds a token to it; revoking it ends
-- every token of the family and every access token that names it.
create table if not exists sessions (
  id             uuid primary key,
  user_id        uuid not null references users (id) on delete cascade,
  created_at     timestamptz not null default now(),
  revoked_at     timestamptz,
  revoked_reason text check (revoked_reason in ('logout', 'logout_all', 'refresh_reuse', 'password_reset')),
  ip             text,
  user_agent     text
);
create index if not exists sessions_user_idx on sessions (user_id) where revoked_at is null;

create table if not exists refresh_tokens (
  id          uuid primary key,
  session_id  uuid not null references sessions (id) on delete cascade,
  user_id     uuid not null references users (id) on delete cascade,
  token_hash  text not null unique,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  -- Set when the token is exchanged for its successor; a second exchange is reuse.
  rotated_at  timestamptz
);
create index if not exists refresh_tokens_session_idx on refresh_tokens (session_id);

create table if not exists password_resets (
  id          uuid primary key,
  user_id     uuid not null references users (id) on delete cascade,
  token_hash  text not null unique,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  used_at     timestamptz
);
create index if not exists password_resets_user_idx on password_resets (user_id);

-- Failed sign-ins per key (`account:<email>` or `ip:<address>`) in a fixed window.
create table if not exists auth_throttle (
  key               text primary key,
  failures          integer not null default 0,
  window_started_at timestamptz not null,
  locked_until      timestamptz
);
