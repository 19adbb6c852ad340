import type { Kysely } from "kysely";
import type { Database } from "../../generated/db.ts";

/** Checks the `workflows` count quota in the creating transaction (the metering module's `assertCountQuota`). */
export type WorkflowQuotaCheck = (trx: Kysely<Database>, organizationId: string) => Promise<void>;

/**
 * The organization's live (not archived) workflows: what the `workflows` count quota counts. Given
 * to the metering module as its `LiveCount` for `workflows`.
 */
export async function countLiveWorkflows(trx: Kysely<Database>, organizationId: string): Promise<number> {
  const row = await trx
    .selectFrom("workflows")
    .select((eb) => eb.fn.countAll<string>().as("live"))
    .where("organization_id", "=", organizationId)
    .where("archived_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.live);
}
