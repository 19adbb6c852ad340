import { describe, expect, it } from "vitest";
import { isUuid, newId } from "../../server/ids.ts";

describe("newId", () => {
  it("makes distinct UUID v7s that sort in the order they were made, also within one millisecond", () => {
    const ids = Array.from({ length: 20_000 }, newId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    // Far more ids than milliseconds passed: many shared one, and still sorted.
    expect(new Set(ids.map((id) => id.slice(0, 13))).size).toBeLessThan(ids.length);
    expect(ids.every(isUuid)).toBe(true);
  });

  it("tells a UUID from what only looks like one", () => {
    expect(isUuid("0190B6A0-0000-7000-8000-000000000001")).toBe(true);
    expect(
      ["", "0190b6a0-0000-7000-8000-00000000001", "0190b6a0-0000-7000-8000-00000000000g", " 0190b6a0-0000-7000-8000-000000000001"].some(
        isUuid,
      ),
    ).toBe(false);
  });
});
