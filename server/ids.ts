import { randomFillSync } from "node:crypto";
import { v7 } from "uuid";

/** Random bytes drawn 4 KiB at a time: one call into the system's generator per 256 ids, not one per id. */
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomBytes16(): Uint8Array {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += 16;
  // A copy, so the next refill cannot reach an id already made.
  return Uint8Array.prototype.slice.call(pool, offset - 16, offset);
}

// uuid keeps ids of one millisecond in order only when it draws the random bytes itself; with ours,
// the same rule is kept here: a fresh random sequence each millisecond, counting up within it.
let lastMs = -Infinity;
let seq = 0;

/** A new row id: a UUID v7, so ids sort by creation time (also within a millisecond) and keyset pages follow it. */
export function newId(): string {
  const random = randomBytes16();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  return v7({ random, msecs: lastMs, seq });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is spelled as a UUID (any version, either case): what Postgres's `uuid` type takes. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
