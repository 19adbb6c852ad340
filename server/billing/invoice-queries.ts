import type { Insertable, Kysely, Selectable, Updateable } from "kysely";
import type { Database, InvoiceLinesTable, InvoicesTable } from "../../generated/db.ts";
import type { CursorKey } from "../db/cursor.ts";
import type { OrganizationRef } from "./subscription-queries.ts";

/** A row of `invoices`. */
export type InvoiceRow = Selectable<InvoicesTable>;
/** A row of `invoice_lines`; `invoice_id` is null while the line is pending. */
export type InvoiceLineRow = Selectable<InvoiceLinesTable>;

/** One page of the organization's invoices, newest first (ids are UUID v7), `limit + 1` rows. */
export function selectInvoicePage(
  db: Kysely<Database>,
  org: OrganizationRef,
  options: { status?: string; after: CursorKey | null; limit: number },
): Promise<InvoiceRow[]> {
  let query = db.selectFrom("invoices").selectAll().where("organization_id", "=", org.organizationId);
  if (options.status) query = query.where("status", "=", options.status);
  if (options.after) query = query.where("id", "<", options.after[0] as string);
  return query
    .orderBy("id", "desc")
    .limit(options.limit + 1)
    .execute();
}

/** One invoice of the organization, optionally locked for the rest of the transaction. */
export function selectInvoice(
  db: Kysely<Database>,
  org: OrganizationRef,
  id: string,
  options: { lock?: boolean } = {},
): Promise<InvoiceRow | undefined> {
  const query = db.selectFrom("invoices").selectAll().where("organization_id", "=", org.organizationId).where("id", "=", id);
  return (options.lock ? query.forUpdate() : query).executeTakeFirst();
}

/** The lines of some of the organization's invoices, oldest first. */
export function selectLinesOf(db: Kysely<Database>, org: OrganizationRef, invoiceIds: string[]): Promise<InvoiceLineRow[]> {
  if (invoiceIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom("invoice_lines")
    .selectAll()
    .where("organization_id", "=", org.organizationId)
    .where("invoice_id", "in", invoiceIds)
    .orderBy("id")
    .execute();
}

/** The subscription's pending lines (not yet on an invoice), oldest first. */
export function selectPendingLines(db: Kysely<Database>, org: OrganizationRef, subscriptionId: string): Promise<InvoiceLineRow[]> {
  return db
    .selectFrom("invoice_lines")
    .selectAll()
    .where("organization_id", "=", org.organizationId)
    .where("subscription_id", "=", subscriptionId)
    .where("invoice_id", "is", null)
    .orderBy("id")
    .execute();
}

/** Writes lines of the organization (pending when `invoice_id` is null). */
export async function insertLines(
  trx: Kysely<Database>,
  org: OrganizationRef,
  lines: Omit<Insertable<InvoiceLinesTable>, "organization_id">[],
) {
  if (lines.length === 0) return;
  await trx
    .insertInto("invoice_lines")
    .values(lines.map((line) => ({ ...line, organization_id: org.organizationId })))
    .execute();
}

/** Puts pending lines on an invoice. */
export async function attachLines(trx: Kysely<Database>, org: OrganizationRef, lineIds: string[], invoiceId: string) {
  if (lineIds.length === 0) return;
  await trx
    .updateTable("invoice_lines")
    .set({ invoice_id: invoiceId })
    .where("organization_id", "=", org.organizationId)
    .where("id", "in", lineIds)
    .where("invoice_id", "is", null)
    .execute();
}

/** Writes an invoice of the organization. */
export function insertInvoice(trx: Kysely<Database>, org: OrganizationRef, values: Omit<Insertable<InvoicesTable>, "organization_id">) {
  return trx
    .insertInto("invoices")
    .values({ ...values, organization_id: org.organizationId })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Changes an invoice of the organization and returns it. */
export function updateInvoice(trx: Kysely<Database>, org: OrganizationRef, id: string, patch: Updateable<InvoicesTable>) {
  return trx
    .updateTable("invoices")
    .set(patch)
    .where("organization_id", "=", org.organizationId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The earliest due date among the subscription's open invoices due by `at`, or null when none is overdue. */
export async function selectEarliestOverdue(
  db: Kysely<Database>,
  org: OrganizationRef,
  subscriptionId: string,
  at: Date,
): Promise<Date | null> {
  const row = await db
    .selectFrom("invoices")
    .select((eb) => eb.fn.min("due_at").as("due"))
    .where("organization_id", "=", org.organizationId)
    .where("subscription_id", "=", subscriptionId)
    .where("status", "=", "open")
    .where("due_at", "<=", at)
    .executeTakeFirst();
  return (row?.due as Date | null | undefined) ?? null;
}
