import { randomFillSync } from "node:crypto";
import { v7 } from "uuid";

/** Random bytes drawn 4 KiB at a time: one call into the system's generator per 256 ids, not one per id. */
const pool = Buffer.alloc(4096);
let offset = pool.length;
/** The 16 random bytes of the id being made, and its bytes as uuid lays them out: reused, as no id keeps them. */
const random = new Uint8Array(16);
const bytes = new Uint8Array(16);
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

function drawRandom(): Uint8Array {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  random.set(pool.subarray(offset, (offset += 16)));
  return random;
}

// uuid keeps ids of one millisecond in order only when it draws the random bytes itself; with ours,
// the same rule is kept here: a fresh random sequence each millisecond, counting up within it.
let lastMs = -Infinity;
let seq = 0;

/**
 * A new row id: a UUID v7, so ids sort by creation time (also within a millisecond) and keyset pages
 * follow it. uuid lays out the bytes; they are spelled here from a lowercase table, because uuid's
 * own spelling lower-cases its result again, which cost more than the rest of making an id.
 */
export function newId(): string {
  const r = drawRandom();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seq = ((r[6]! & 0x7f) << 24) | (r[7]! << 16) | (r[8]! << 8) | r[9]!;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  const b = v7({ random: r, msecs: lastMs, seq }, bytes);
  return (
    HEX[b[0]!]! +
    HEX[b[1]!]! +
    HEX[b[2]!]! +
    HEX[b[3]!]! +
    "-" +
    HEX[b[4]!]! +
    HEX[b[5]!]! +
    "-" +
    HEX[b[6]!]! +
    HEX[b[7]!]! +
    "-" +
    HEX[b[8]!]! +
    HEX[b[9]!]! +
    "-" +
    HEX[b[10]!]! +
    HEX[b[11]!]! +
    HEX[b[12]!]! +
    HEX[b[13]!]! +
    HEX[b[14]!]! +
    HEX[b[15]!]!
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is spelled as a UUID (any version, either case): what Postgres's `uuid` type takes. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
