-- Invoices and their lines. Amounts are integer minor units of the invoice's currency. A line with
-- no invoice is pending (a proration, a credit carried forward) and is billed by the next invoice of
-- its subscription.

create sequence if not exists invoice_number_seq;

create table if not exists invoices (
  id                       uuid primary key,
  organization_id          uuid not null references organizations (id) on delete cascade,
  subscription_id          uuid not null references subscriptions (id) on delete cascade,
  -- Given when the invoice is finalized.
  number                   text unique,
  status                   text not null check (status in ('draft', 'open', 'paid', 'void', 'uncollectible')),
  reason                   text not null check (reason in ('subscription_create', 'subscription_cycle', 'subscription_update', 'subscription_end')),
  currency                 char(3) not null check (currency ~ '^[A-Z]{3}$'),
  -- Never negative: an invoice whose lines sum below zero carries the credit to the next one.
  total_minor              bigint not null check (total_minor >= 0),
  amount_paid_minor        bigint not null default 0 check (amount_paid_minor >= 0),
  period_start             timestamptz not null,
  period_end               timestamptz,
  collection_method        text not null check (collection_method in ('charge_automatically', 'send_invoice')),
  due_at                   timestamptz,
  finalized_at             timestamptz,
  paid_at                  timestamptz,
  voided_at                timestamptz,
  marked_uncollectible_at  timestamptz,
  attempt_count            integer not null default 0,
  -- When the payment provider tries again; null when no (further) automatic attempt is planned.
  next_attempt_at          timestamptz,
  last_payment_error       text,
  payment_reference        text,
  created_at               timestamptz not null default now(),
  updated_at               timestamptz not null default now()
);

-- Closing one period twice can never write a second invoice for it.
create unique index if not exists invoices_period_close_key
  on invoices (subscription_id, period_start) where reason in ('subscription_cycle', 'subscription_end');
create index if not exists invoices_organization_idx on invoices (organization_id, id);
create index if not exists invoices_drafts_idx on invoices (created_at) where status = 'draft';
create index if not exists invoices_open_idx on invoices (subscription_id, due_at) where status = 'open';

create table if not exists invoice_lines (
  id              uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  subscription_id uuid not null references subscriptions (id) on delete cascade,
  invoice_id      uuid references invoices (id) on delete cascade,
  kind            text not null check (kind in ('plan', 'proration_credit', 'proration_charge', 'overage', 'credit_brought_forward', 'credit_carried_forward')),
  plan_id         uuid references subscription_plans (id),
  currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
  amount_minor    bigint not null,
  description     jsonb not null check (description ? 'en-US'),
  period_start    timestamptz not null,
  period_end      timestamptz,
  created_at      timestamptz not null default now()
);

create index if not exists invoice_lines_invoice_idx on invoice_lines (invoice_id, id);
create index if not exists invoice_lines_pending_idx on invoice_lines (subscription_id) where invoice_id is null;
