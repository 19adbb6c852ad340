-- The in-process scheduler's shared state: when each job runs next. Several servers tick; the one
-- that claims the row (FOR UPDATE SKIP LOCKED, then moving next_run_at on) runs the job.

create table if not exists job_schedules (
  name             text primary key,
  next_run_at      timestamptz not null,
  -- A run holds the job until it finishes or this passes (a crashed server's lease runs out).
  leased_until     timestamptz,
  last_started_at  timestamptz,
  last_finished_at timestamptz,
  last_error       text
);
