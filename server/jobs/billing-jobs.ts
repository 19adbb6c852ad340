import type { Logger } from "pino";
import type { BillingContext } from "../billing/billing-context.ts";
import { createPeriodJob } from "../billing/period-job.ts";
import type { ScheduledJob } from "./scheduler.ts";

/** The billing period job as the scheduler runs it: every `everyMs`, its report logged when it did anything. */
export function periodJobSchedule(ctx: BillingContext, logger: Logger, everyMs: number): ScheduledJob {
  const job = createPeriodJob(ctx, logger);
  return {
    name: "billing.periods",
    everyMs,
    async run() {
      const report = await job.run();
      const closed = Object.values(report.closed).reduce((a, b) => a + b, 0);
      if (closed + report.finalized + report.charged + report.standingChanged > 0) logger.info({ report }, "billing periods closed");
    },
  };
}
