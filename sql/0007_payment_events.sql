-- Every webhook event of the payment provider, keyed by its own id: a replayed event conflicts here
-- and is not processed again. Written in the transaction that processes the event.

create table if not exists payment_events (
  id              text primary key,
  provider        text not null check (provider in ('stripe')),
  type            text not null,
  outcome         text not null check (outcome in ('processed', 'ignored')),
  invoice_id      uuid references invoices (id) on delete set null,
  payload         jsonb not null,
  received_at     timestamptz not null
);

create index if not exists payment_events_invoice_idx on payment_events (invoice_id) where invoice_id is not null;
