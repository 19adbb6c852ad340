import { v7 } from "uuid";

/** A new row id: a UUID v7, so ids sort by creation time and keyset pages follow it. */
export function newId(): string {
  return v7();
}
