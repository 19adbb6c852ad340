import { UTCDate } from "@date-fns/utc";
import { addDays, addMonths, differenceInCalendarMonths } from "date-fns";

/** How often a plan is billed (the spec's `BillingCycle`). */
export type BillingCycle = "monthly" | "yearly" | "lifetime";

const MONTHS: Record<Exclude<BillingCycle, "lifetime">, number> = { monthly: 1, yearly: 12 };

/** The `k`-th period boundary after `anchor`, counted from the anchor so month-end clamping never accumulates. */
function boundary(anchor: Date, months: number, k: number): Date {
  return new Date(addMonths(new UTCDate(anchor.getTime()), months * k).getTime());
}

/**
 * The first period boundary strictly after `after`, for a subscription anchored at `anchor`; `null`
 * for a lifetime plan, which has no periods. A monthly subscription anchored on Jan 31 renews on
 * Feb 28 (29), Mar 31, Apr 30…; a yearly one anchored on Feb 29 renews on Feb 28 in other years.
 *
 * @example
 * nextBoundary(new Date("2027-01-31T00:00:00Z"), "monthly", new Date("2027-02-28T00:00:00Z")) // 2027-03-31
 */
export function nextBoundary(anchor: Date, cycle: BillingCycle, after: Date): Date | null {
  if (cycle === "lifetime") return null;
  const months = MONTHS[cycle];
  let k = Math.max(1, Math.floor(differenceInCalendarMonths(new UTCDate(after.getTime()), new UTCDate(anchor.getTime())) / months));
  while (boundary(anchor, months, k) <= after) k += 1;
  while (k > 1 && boundary(anchor, months, k - 1) > after) k -= 1;
  return boundary(anchor, months, k);
}

/** When a trial of `days` days that starts at `start` ends (UTC days). */
export function trialEndOf(start: Date, days: number): Date {
  return new Date(addDays(new UTCDate(start.getTime()), days).getTime());
}

/** Whole seconds from `from` to `to` (never negative): the unit prorations count in. */
export function secondsBetween(from: Date, to: Date): bigint {
  const ms = to.getTime() - from.getTime();
  return ms <= 0 ? 0n : BigInt(Math.floor(ms / 1000));
}
