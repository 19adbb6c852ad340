import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../../generated/db.ts";
import { failOrphanedRuns } from "./run-queries.ts";

/** How often a server looks for runs orphaned by another server's crash. */
export const RECOVERY_INTERVAL_MS = 30_000;

/** Which running runs count as orphaned. */
export interface RecoveryOptions {
  /**
   * Every running run, leases aside: right for a database only this process can open (embedded
   * PGlite), where any run still `running` at start-up belonged to a process that is gone.
   */
  soleServer?: boolean;
  log?: Logger;
}

/**
 * Marks failed (`SERVER_RESTARTED`) every run left `running` by a server that stopped: runs whose
 * lease has passed (or every running run, for the sole server). Their node results stay readable
 * as written. Safe beside live servers, whose runs keep their leases fresh. Answers the ids marked.
 *
 * @example
 * await recoverOrphanedRuns(db, { soleServer: database.kind === "pglite", log });
 */
export async function recoverOrphanedRuns(db: Kysely<Database>, options: RecoveryOptions = {}): Promise<string[]> {
  const { log } = options;
  const ids = await failOrphanedRuns(db, options.soleServer === true);
  if (ids.length > 0) log?.warn({ runIds: ids }, `marked ${ids.length} orphaned workflow run(s) failed`);
  return ids;
}

/**
 * Recovers at start-up, then sweeps every 30 seconds for runs whose lease has passed since (those of
 * another server that crashed, or of this one's previous process, whose leases last up to 30 s).
 */
export function startRunRecovery(db: Kysely<Database>, options: RecoveryOptions = {}): { stop(): void; first: Promise<string[]> } {
  const { log } = options;
  const sweep = (soleServer: boolean) =>
    recoverOrphanedRuns(db, { soleServer, ...(log ? { log } : {}) }).catch((error: unknown) => {
      log?.error({ err: error }, "workflow run recovery failed");
      return [];
    });
  const first = sweep(options.soleServer === true);
  const timer = setInterval(() => void sweep(false), RECOVERY_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer), first };
}
