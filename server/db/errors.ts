/** Whether `error` is Postgres's unique_violation (23505), from either driver. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "23505";
}
