import { AppError } from "../errors.ts";
import { message } from "../messages.ts";

/** The values of a list's sort key at the last row of a page. */
export type CursorKey = readonly (string | number)[];

/** An opaque cursor for the sort key `key` (base64url of JSON: opaque to clients, stable for us). */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The sort key inside `cursor`; a cursor we did not issue is a 400 naming the `cursor` parameter. */
export function decodeCursor(cursor: string, shape: readonly ("string" | "number")[]): CursorKey {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.length === shape.length && key.every((v, i) => typeof v === shape[i])) return key as CursorKey;
  } catch {
    // fall through to the 400
  }
  throw new AppError("VALIDATION_FAILED", {
    fields: [
      { location: "query", field: "cursor", rule: "format", message: message("is not a cursor this API issued", "不是本接口签发的游标") },
    ],
  });
}

/** Splits a `limit + 1` fetch into one page and the cursor of the next. */
export function toPage<Row, Item>(rows: Row[], limit: number, keyOf: (row: Row) => CursorKey, toItem: (row: Row) => Item) {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { items: pageRows.map(toItem), nextCursor: hasMore && last ? encodeCursor(keyOf(last)) : null };
}
