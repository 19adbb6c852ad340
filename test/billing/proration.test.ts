import { describe, expect, it } from "vitest";
import { formatMoney, parseMoney, prorateMinor } from "../../server/money.ts";
import { nextBoundary, secondsBetween, trialEndOf } from "../../server/billing/periods.ts";
import { prorate } from "../../server/billing/proration.ts";

const at = (iso: string) => new Date(iso);

describe("proration to the second", () => {
  it("credits 40 % of pro (99.00) and charges 40 % of enterprise (999.00): 360.00 net", () => {
    const p = prorate({
      oldPriceMinor: 9900n,
      newPriceMinor: 99900n,
      start: at("2027-04-01T00:00:00Z"),
      end: at("2027-05-01T00:00:00Z"),
      at: at("2027-04-19T00:00:00Z"),
    });
    expect(p).toEqual({ creditMinor: -3960n, chargeMinor: 39960n, unusedSeconds: 1_036_800n, periodSeconds: 2_592_000n });
    expect(formatMoney(p.creditMinor + p.chargeMinor, "USD")).toBe("360.00");
  });

  it("counts whole seconds: a period with one second left prorates one second's worth", () => {
    const p = prorate({
      oldPriceMinor: 2_592_000n,
      newPriceMinor: 0n,
      start: at("2027-04-01T00:00:00Z"),
      end: at("2027-05-01T00:00:00Z"),
      at: at("2027-04-30T23:59:58.500Z"),
    });
    expect(p).toMatchObject({ unusedSeconds: 1n, creditMinor: -1n, chargeMinor: 0n });
  });

  it("rounds each line half to even, once", () => {
    expect(prorateMinor(1n, 1n, 2n)).toBe(0n); // 0.5 → 0
    expect(prorateMinor(3n, 1n, 2n)).toBe(2n); // 1.5 → 2
    expect(prorateMinor(5n, 1n, 2n)).toBe(2n); // 2.5 → 2
    expect(prorateMinor(2900n, 16n, 31n)).toBe(1497n); // 1496.77… → 1497
    expect(prorateMinor(100n, 1n, 3n)).toBe(33n);
    expect(prorateMinor(100n, 2n, 3n)).toBe(67n);
  });

  it("prorates nothing after the period's end", () => {
    const p = prorate({
      oldPriceMinor: 9900n,
      newPriceMinor: 99900n,
      start: at("2027-04-01T00:00:00Z"),
      end: at("2027-05-01T00:00:00Z"),
      at: at("2027-05-02T00:00:00Z"),
    });
    expect(p).toMatchObject({ creditMinor: 0n, chargeMinor: 0n, unusedSeconds: 0n });
  });
});

describe("periods", () => {
  it("renews monthly from the anchor, clamping to short months without drifting", () => {
    const anchor = at("2027-01-31T10:00:00Z");
    const ends: string[] = [];
    let end = anchor;
    for (let i = 0; i < 4; i += 1) {
      end = nextBoundary(anchor, "monthly", end)!;
      ends.push(end.toISOString());
    }
    expect(ends).toEqual(["2027-02-28T10:00:00.000Z", "2027-03-31T10:00:00.000Z", "2027-04-30T10:00:00.000Z", "2027-05-31T10:00:00.000Z"]);
  });

  it("renews yearly on the same date, and a Feb 29 anchor on Feb 28 in other years", () => {
    expect(nextBoundary(at("2028-06-01T00:00:00Z"), "yearly", at("2028-06-01T00:00:00Z"))?.toISOString()).toBe("2029-06-01T00:00:00.000Z");
    expect(nextBoundary(at("2028-02-29T00:00:00Z"), "yearly", at("2028-02-29T00:00:00Z"))?.toISOString()).toBe("2029-02-28T00:00:00.000Z");
    expect(nextBoundary(at("2028-02-29T00:00:00Z"), "yearly", at("2031-03-01T00:00:00Z"))?.toISOString()).toBe("2032-02-29T00:00:00.000Z");
  });

  it("finds the next boundary after any instant, and none for a lifetime plan", () => {
    expect(nextBoundary(at("2027-01-15T00:00:00Z"), "monthly", at("2027-06-20T00:00:00Z"))?.toISOString()).toBe("2027-07-15T00:00:00.000Z");
    expect(nextBoundary(at("2027-01-15T00:00:00Z"), "monthly", at("2027-07-15T00:00:00Z"))?.toISOString()).toBe("2027-08-15T00:00:00.000Z");
    expect(nextBoundary(at("2027-01-15T00:00:00Z"), "lifetime", at("2027-07-15T00:00:00Z"))).toBeNull();
  });

  it("ends a trial after whole UTC days, and counts seconds between instants", () => {
    expect(trialEndOf(at("2027-03-18T12:00:00Z"), 14).toISOString()).toBe("2027-04-01T12:00:00.000Z");
    expect(secondsBetween(at("2027-04-01T00:00:00Z"), at("2027-05-01T00:00:00Z"))).toBe(2_592_000n);
    expect(secondsBetween(at("2027-05-01T00:00:00Z"), at("2027-04-01T00:00:00Z"))).toBe(0n);
  });
});

describe("money strings", () => {
  it("parses decimal strings into minor units without floats, refusing precision the currency lacks", () => {
    expect(parseMoney("99.00", "USD")).toBe(9900n);
    expect(parseMoney("99", "USD")).toBe(9900n);
    expect(parseMoney("0.1", "USD")).toBe(10n);
    expect(parseMoney("99.0000", "USD")).toBe(9900n);
    expect(parseMoney("-360.00", "USD")).toBe(-36000n);
    expect(parseMoney("9007199254740993.01", "USD")).toBe(900719925474099301n);
    expect(parseMoney("99.001", "USD")).toBeNull();
    expect(parseMoney("1.5", "JPY")).toBeNull();
    expect(parseMoney("abc", "USD")).toBeNull();
  });

  it("formats negative amounts and credits", () => {
    expect(formatMoney(-36000n, "USD")).toBe("-360.00");
    expect(formatMoney(-5n, "USD")).toBe("-0.05");
    expect(formatMoney(0n, "USD")).toBe("0.00");
  });
});
