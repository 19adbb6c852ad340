-- Organization subscriptions (seed 003's OrganizationSubscription; seed 000's subscriptions, held
-- by the organization rather than a workspace, as DESIGN.md §3 decides). New organizations start
-- on the free plan; organizations created before this migration are put on it here.

create table if not exists subscriptions (
  id                      uuid primary key,
  organization_id         uuid not null references organizations (id) on delete cascade,
  plan_id                 uuid not null references subscription_plans (id),
  status                  text not null check (status in ('trialing', 'active', 'past_due', 'cancelled', 'expired', 'suspended')),
  billing_cycle           text not null check (billing_cycle in ('monthly', 'yearly', 'lifetime')),
  trial_start             timestamptz,
  trial_end               timestamptz,
  current_period_start    timestamptz not null,
  -- Null for a lifetime plan, whose quotas reset each calendar month (UTC).
  current_period_end      timestamptz,
  cancel_at               timestamptz,
  cancelled_at            timestamptz,
  cancel_reason           text,
  cancel_feedback         text,
  scheduled_plan_id       uuid references subscription_plans (id),
  scheduled_billing_cycle text check (scheduled_billing_cycle in ('monthly', 'yearly', 'lifetime')),
  metadata                jsonb not null default '{}'::jsonb,
  created_at              timestamptz not null default now(),
  updated_at              timestamptz not null default now(),
  check (current_period_end is null or current_period_end > current_period_start)
);

-- One live subscription per organization; ended ones (cancelled, expired) stay as history.
create unique index if not exists subscriptions_live_key
  on subscriptions (organization_id) where status in ('trialing', 'active', 'past_due', 'suspended');
create index if not exists subscriptions_period_end_idx
  on subscriptions (current_period_end) where status in ('trialing', 'active', 'past_due', 'suspended');

insert into subscriptions (id, organization_id, plan_id, status, billing_cycle, current_period_start, current_period_end)
select gen_random_uuid(), o.id, '0190b6a0-0000-7000-8000-000000000001', 'active', 'monthly',
       date_trunc('day', now()), date_trunc('day', now()) + interval '1 month'
from organizations o
where not exists (
  select 1 from subscriptions s
  where s.organization_id = o.id and s.status in ('trialing', 'active', 'past_due', 'suspended')
);
