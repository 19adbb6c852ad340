import { AppError } from "../errors.ts";
import { message } from "../messages.ts";

/** What a refused check knows: the quota, its limit, what is used, and when it resets (null for count quotas). */
export interface QuotaExceeded {
  metric: string;
  unit: string;
  limit: number;
  used: number;
  requested: number;
  resetsAt: Date | null;
}

/**
 * 429 `QUOTA_EXCEEDED` naming the quota, its limit, the usage, what was asked and the reset time, in
 * the body's `quota`, the message and the `X-Quota-*` headers; `Retry-After` is the seconds until the reset.
 */
export function quotaExceededError(q: QuotaExceeded, now: Date): AppError {
  const headers: Record<string, string> = {
    "X-Quota-Metric": q.metric,
    "X-Quota-Limit": String(q.limit),
    "X-Quota-Used": String(q.used),
  };
  let resetEn = "";
  let resetZh = "";
  if (q.resetsAt) {
    const iso = q.resetsAt.toISOString();
    headers["Retry-After"] = String(Math.max(1, Math.ceil((q.resetsAt.getTime() - now.getTime()) / 1000)));
    headers["X-Quota-Reset"] = iso;
    resetEn = ` It resets at ${iso}.`;
    resetZh = `将于 ${iso} 重置。`;
  }
  return new AppError("QUOTA_EXCEEDED", {
    headers,
    details: {
      quota: {
        metric: q.metric,
        unit: q.unit,
        limit: q.limit,
        used: q.used,
        requested: q.requested,
        resetsAt: q.resetsAt ? q.resetsAt.toISOString() : null,
      },
    },
    message: message(
      `This would exceed the ${q.metric} quota: ${q.used} of ${q.limit} ${q.unit} used, ${q.requested} more asked.${resetEn}`,
      `超出配额 ${q.metric}：已用 ${q.used} / ${q.limit} ${q.unit}，本次请求 ${q.requested}。${resetZh}`,
    ),
  });
}
