-- What billing keeps per organization besides its subscription: the payment provider's customer and
-- default payment method. Plus the subscription columns the lifecycle needs.

create table if not exists billing_accounts (
  organization_id           uuid primary key references organizations (id) on delete cascade,
  -- The payment provider's customer (Stripe's `cus_…`), made the first time one is needed.
  provider_customer_id      text unique,
  -- The payment method charged for invoices (Stripe's `pm_…`).
  default_payment_method_id text,
  created_at                timestamptz not null default now(),
  updated_at                timestamptz not null default now()
);

-- Monthly and yearly periods are counted from the anchor, so a subscription anchored on the 31st
-- renews on the last day of shorter months and on the 31st again after them.
alter table subscriptions add column if not exists billing_anchor timestamptz;
-- When the subscription stopped being live (cancelled, expired).
alter table subscriptions add column if not exists ended_at timestamptz;
-- Since when an overdue invoice has kept it past due; the grace period counts from here.
alter table subscriptions add column if not exists past_due_since timestamptz;

update subscriptions set billing_anchor = current_period_start where billing_anchor is null;
