import { dinero, toDecimal, type DineroCurrency } from "dinero.js/bigint";
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
