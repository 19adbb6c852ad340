import { describe, expect, it } from "vitest";
import { newId } from "../../server/ids.ts";

describe("newId", () => {
  it("makes distinct UUID v7s that sort in the order they were made, also within one millisecond", () => {
    const ids = Array.from({ length: 20_000 }, newId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    // Far more ids than milliseconds passed: many shared one, and still sorted.
    expect(new Set(ids.map((id) => id.slice(0, 13))).size).toBeLessThan(ids.length);
  });
});
