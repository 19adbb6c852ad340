import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";
import type { PaymentProvider } from "../payments/provider.ts";

/** The rules billing follows that an operator may tune. */
export interface BillingPolicy {
  /** Days a subscription stays `past_due` before it is `suspended`. */
  graceDays: number;
  /** Days after finalization a sent invoice (no payment provider) is due. */
  invoiceDueDays: number;
}

/** The defaults: 7 days of grace, sent invoices due in 14 days. */
export const DEFAULT_BILLING_POLICY: BillingPolicy = { graceDays: 7, invoiceDueDays: 14 };

/** Limits a run of the period job to some organizations (tests; a manual rerun for one customer). */
export interface JobScope {
  organizationIds?: string[];
}

/** What every part of billing works with: the database, the clock, the payment provider, the policy. */
export interface BillingContext {
  db: Kysely<Database>;
  now: () => Date;
  payments: PaymentProvider;
  policy: BillingPolicy;
}
