import { calculator, dinero, halfEven, toDecimal, type DineroCurrency } from "dinero.js/bigint";
import * as currencies from "dinero.js/bigint/currencies";

const byCode = currencies as unknown as Record<string, DineroCurrency<bigint> | undefined>;

/** The ISO 4217 currency of `code` (its minor-unit exponent), or an error for a code we do not know. */
export function currencyOf(code: string): DineroCurrency<bigint> {
  const currency = byCode[code.trim()];
  if (!currency) throw new Error(`unknown currency ${code}`);
  return currency;
}

/**
 * An amount in integer minor units as the API's decimal string in the major unit:
 * `formatMoney(9900n, "USD")` → `"99.00"`, `formatMoney(-36000n, "USD")` → `"-360.00"`.
 * No float touches the amount.
 */
export function formatMoney(amountMinor: bigint, currencyCode: string): string {
  return toDecimal(dinero({ amount: amountMinor, currency: currencyOf(currencyCode) }));
}

/**
 * The API's decimal string as integer minor units of `currencyCode`, or `null` when it holds more
 * precision than the currency has (`"99.001"` in USD); trailing zeros beyond it are fine. The string
 * is taken apart as text, so no float touches it. `parseMoney("99.00", "USD")` → `9900n`.
 */
export function parseMoney(decimal: string, currencyCode: string): bigint | null {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(decimal);
  if (!match) return null;
  const [, sign, whole = "0", fraction = ""] = match;
  const exponent = Number(currencyOf(currencyCode).exponent);
  if (/[^0]/.test(fraction.slice(exponent))) return null;
  const minor = BigInt(whole + fraction.slice(0, exponent).padEnd(exponent, "0"));
  return sign === "-" ? -minor : minor;
}

/**
 * `amountMinor × part ÷ whole`, rounded half-even to the minor unit (banker's rounding, so rounding
 * errors do not drift one way over many lines). Prorations use it once per line:
 * `prorateMinor(9900n, 1_036_800n, 2_592_000n)` → `3960n` (40 % of 99.00).
 */
export function prorateMinor(amountMinor: bigint, part: bigint, whole: bigint): bigint {
  if (whole <= 0n) throw new Error("prorateMinor: the whole must be positive");
  return halfEven(amountMinor * part, whole, calculator);
}
