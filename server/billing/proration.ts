import { prorateMinor } from "../money.ts";
import { secondsBetween } from "./periods.ts";

/** The two lines of an immediate plan change, in minor units: a credit (≤ 0) and a charge (≥ 0). */
export interface Proration {
  creditMinor: bigint;
  chargeMinor: bigint;
  /** The seconds left in the period, and the period's length in seconds. */
  unusedSeconds: bigint;
  periodSeconds: bigint;
}

/**
 * Prorates a plan change at `at` within the period [`start`, `end`), to the second: the credit is
 * the old price × unused seconds ÷ period seconds, the charge the new price × the same fraction, each
 * rounded half-even to the minor unit once. Pass `newPriceMinor` 0n when the new plan is billed in
 * full elsewhere (a new billing cycle restarts the period).
 *
 * @example
 * // 99.00 → 999.00 with 12 of 30 days left: credit -39.60, charge 399.60 (net 360.00)
 * prorate({ oldPriceMinor: 9900n, newPriceMinor: 99900n, start, end, at })
 */
export function prorate(input: { oldPriceMinor: bigint; newPriceMinor: bigint; start: Date; end: Date; at: Date }): Proration {
  const periodSeconds = secondsBetween(input.start, input.end);
  const unusedSeconds = secondsBetween(input.at, input.end);
  if (periodSeconds === 0n) return { creditMinor: 0n, chargeMinor: 0n, unusedSeconds, periodSeconds };
  return {
    creditMinor: -prorateMinor(input.oldPriceMinor, unusedSeconds, periodSeconds),
    chargeMinor: prorateMinor(input.newPriceMinor, unusedSeconds, periodSeconds),
    unusedSeconds,
    periodSeconds,
  };
}
