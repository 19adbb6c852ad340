/**
 * The mail outbox of a bench's app (nothing is mailed during a bench, but the app needs a mailer):
 * a fresh folder under the system's temporary directory, removed when the process exits, so runs
 * leave nothing behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function benchOutbox(): string {
  const dir = mkdtempSync(join(tmpdir(), "bench-outbox-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
