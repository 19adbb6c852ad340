import { randomFillSync } from "node:crypto";
import { v7 } from "uuid";

/** Random bytes drawn 4 KiB at a time: one call into the system's generator per 256 ids, not one per id. */
const pool = Buffer.alloc(4096);
let offset = pool.length;
/** The 16 random bytes of the id being made, and its bytes as uuid lays them out: reused, as no id keeps them. */
const random = new Uint8Array(16);
const bytes = new Uint8Array(16);
/** Each byte's two lowercase hex digits, as character codes; and where each byte's digits go in the id's text. */
const HEX = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0")).join(""), "latin1");
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** The id's text, written in place and read out as one flat string; the dashes never move. */
const text = Buffer.alloc(36, "-");

function drawRandom(): Uint8Array {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  for (let i = 0; i < 16; i++) random[i] = pool[offset + i]!;
  offset += 16;
  return random;
}

// uuid keeps ids of one millisecond in order only when it draws the random bytes itself; with ours,
// the same rule is kept here: a fresh random sequence each millisecond, counting up within it.
let lastMs = -Infinity;
let seq = 0;

/**
 * A new row id: a UUID v7, so ids sort by creation time (also within a millisecond) and keyset pages
 * follow it. uuid lays out the bytes; they are spelled here from a lowercase table into one buffer,
 * because uuid's own spelling concatenates twenty strings and lower-cases the result again, which
 * cost more than the rest of making an id.
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
  for (let i = 0; i < 16; i++) {
    const at = AT[i]!;
    const digits = b[i]! * 2;
    text[at] = HEX[digits]!;
    text[at + 1] = HEX[digits + 1]!;
  }
  return text.toString("latin1", 0, 36);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is spelled as a UUID (any version, either case): what Postgres's `uuid` type takes. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
