import { UTCDate } from "@date-fns/utc";
import { addDays, addHours, addMonths, startOfDay, startOfHour, startOfMonth } from "date-fns";
import { AppError, type FieldError } from "../errors.ts";
import { message } from "../messages.ts";

export type Granularity = "hour" | "day" | "month";

/** The most buckets one history answers per granularity: 31 days of hours, 366 days, 60 months. */
export const MAX_BUCKETS: Record<Granularity, number> = { hour: 31 * 24, day: 366, month: 60 };

const FLOOR: Record<Granularity, (d: UTCDate) => Date> = { hour: startOfHour, day: startOfDay, month: startOfMonth };
const NEXT: Record<Granularity, (d: UTCDate, n: number) => Date> = { hour: addHours, day: addDays, month: addMonths };

const rangeError = (field: string, rule: string, en: string, zh: string) =>
  new AppError("VALIDATION_FAILED", { fields: [{ location: "query", field, rule, message: message(en, zh) } satisfies FieldError] });

/**
 * The UTC buckets covering [start, end): the first starts at `start` rounded down to its bucket,
 * the last is the one `end` falls in, whole. A range with more buckets than the granularity allows
 * is a 400 naming `endDate`.
 */
export function bucketsOf(granularity: Granularity, start: Date, end: Date): Date[] {
  if (start >= end) throw rangeError("startDate", "order", "must be before endDate", "必须早于 endDate");
  const buckets: Date[] = [];
  let at = new Date(FLOOR[granularity](new UTCDate(start.getTime())).getTime());
  while (at < end) {
    if (buckets.length === MAX_BUCKETS[granularity]) {
      throw rangeError(
        "endDate",
        "range",
        `is too far from startDate: at most ${MAX_BUCKETS[granularity]} ${granularity} buckets`,
        `距 startDate 过远：最多 ${MAX_BUCKETS[granularity]} 个${granularity}桶`,
      );
    }
    buckets.push(at);
    at = bucketEnd(granularity, at);
  }
  return buckets;
}

/** The instant after the bucket that starts at `bucketStart`. */
export function bucketEnd(granularity: Granularity, bucketStart: Date): Date {
  return new Date(NEXT[granularity](new UTCDate(bucketStart.getTime()), 1).getTime());
}
