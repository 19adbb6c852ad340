import { sql } from "kysely";
import { fromPGlite, openPGlite } from "../../server/db/database.ts";
import { migrateToLatest } from "../../server/db/migrate.ts";
import { banner } from "./banner.ts";

/** Postgres type → [select type, insert/update type]. */
const TYPES: Record<string, [string, string]> = {
  int2: ["number", "number"],
  int4: ["number", "number"],
  int8: ["bigint", "bigint | number"],
  numeric: ["string", "string"],
  float4: ["number", "number"],
  float8: ["number", "number"],
  bool: ["boolean", "boolean"],
  text: ["string", "string"],
  varchar: ["string", "string"],
  bpchar: ["string", "string"],
  citext: ["string", "string"],
  uuid: ["string", "string"],
  inet: ["string", "string"],
  bytea: ["Uint8Array", "Uint8Array"],
  timestamptz: ["Date", "Date | string"],
  timestamp: ["Date", "Date | string"],
  date: ["Date", "Date | string"],
  interval: ["string", "string"],
  // jsonb is written as JSON text on both drivers (pg would send a JS array as a Postgres array).
  jsonb: ["JsonValue", "string"],
  json: ["JsonValue", "string"],
  vector: ["string", "string"],
  tsvector: ["string", "string"],
};

interface ColumnRow {
  table_name: string;
  column_name: string;
  udt_name: string;
  is_nullable: "YES" | "NO";
  column_default: string | null;
  is_identity: "YES" | "NO";
}

function columnType(column: ColumnRow): string {
  const isArray = column.udt_name.startsWith("_");
  const base = TYPES[isArray ? column.udt_name.slice(1) : column.udt_name];
  if (!base) throw new Error(`db types: no mapping for ${column.table_name}.${column.column_name} (${column.udt_name})`);
  let [select, write] = isArray ? [`${base[0]}[]`, `${base[1].split(" | ")[0]}[]`] : base;
  if (column.is_nullable === "YES") {
    select += " | null";
    write += " | null";
  }
  const generated = column.column_default !== null || column.is_identity === "YES";
  if (select === write && !generated) return select;
  const insert = generated ? `${write} | undefined` : write;
  return `ColumnType<${select}, ${insert}, ${write}>`;
}

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z0-9])/g, (_m, _u, c: string) => c.toUpperCase());
}

/** Migrates a scratch PGlite database and writes Kysely's `Database` interface from its tables. */
export async function generateDbTypes(migrationsDir: string): Promise<string> {
  const handle = fromPGlite(await openPGlite());
  try {
    await migrateToLatest(handle.db, migrationsDir);
    const { rows } = await sql<ColumnRow>`
      select table_name, column_name, udt_name, is_nullable, column_default, is_identity
      from information_schema.columns
      where table_schema = 'public' and table_name not like 'kysely_%'
      order by table_name, ordinal_position`.execute(handle.db);
    const tables = new Map<string, ColumnRow[]>();
    for (const row of rows) tables.set(row.table_name, [...(tables.get(row.table_name) ?? []), row]);
    const interfaces = [...tables].map(
      ([table, columns]) =>
        `export interface ${pascal(table)}Table {\n${columns.map((c) => `  ${c.column_name}: ${columnType(c)};`).join("\n")}\n}`,
    );
    return (
      banner("//") +
      `import type { ColumnType } from "kysely";\n\n` +
      `/** A value stored in a json or jsonb column. */\n` +
      `export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };\n\n` +
      interfaces.join("\n\n") +
      `\n\n/** Every table of the migrated schema, for \`Kysely<Database>\`. */\nexport interface Database {\n` +
      [...tables.keys()].map((t) => `  ${t}: ${pascal(t)}Table;`).join("\n") +
      `\n}\n`
    );
  } finally {
    await handle.close();
  }
}
