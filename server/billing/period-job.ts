import type { Logger } from "pino";
import type { BillingContext, JobScope } from "./billing-context.ts";
import { collectDueInvoices, finalizeDrafts } from "./collection.ts";
import { closeDuePeriods, type CloseOutcome } from "./period-close.ts";
import { applyDunning } from "./standing.ts";

/** What one run of the period job did. */
export interface PeriodJobReport {
  closed: Record<CloseOutcome, number>;
  failed: string[];
  finalized: number;
  charged: number;
  standingChanged: number;
}

/**
 * The period job: closes ended periods (writing draft invoices), finalizes drafts, charges what the
 * payment provider charges, then moves unpaid subscriptions to `past_due` and `suspended`. Every step
 * claims its rows with `FOR UPDATE SKIP LOCKED` and is idempotent, so a run that crashed half-way is
 * completed by the next, and two servers running it at once do each thing once.
 *
 * @example
 * const job = createPeriodJob({ db, now, payments, policy });
 * await job.run();
 */
export function createPeriodJob(ctx: BillingContext, logger?: Logger) {
  return {
    /** One run over every organization, or only over `scope`'s. */
    async run(scope: JobScope = {}): Promise<PeriodJobReport> {
      const { closed, failed } = await closeDuePeriods(ctx, scope);
      for (const failure of failed) logger?.error({ err: failure.error, subscriptionId: failure.id }, "closing a billing period failed");
      const finalized = await finalizeDrafts(ctx, scope);
      const charged = await collectDueInvoices(ctx, scope);
      const standingChanged = await applyDunning(ctx, scope);
      return { closed, failed: failed.map((f) => f.id), finalized, charged, standingChanged };
    },
  };
}

export type PeriodJob = ReturnType<typeof createPeriodJob>;
