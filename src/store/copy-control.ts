/**
 * Copies a control plane into another (libSQL → PostgreSQL for `storage copy`), table by table, and verifies
 * each table by row count and a checksum over its rows in key order. Rows are upserted by primary key, so
 * a second run after more traffic brings the target up to date instead of failing; rows the source no
 * longer has are left alone (the copy never deletes), and a table verifies when every source row is in the
 * target, equal (rows only the target has are counted apart).
 */
import { asc, getTableColumns, sql, type SQL } from "drizzle-orm";
import { getTableConfig, type SQLiteColumn, type SQLiteTable } from "drizzle-orm/sqlite-core";
import type { ControlDatabase } from "./control/db.ts";
import * as schema from "./control/schema.ts";

/** Parents before children (foreign keys). */
export const controlTables: [string, SQLiteTable][] = [
  ["tenants", schema.tenants],
  ["api_keys", schema.apiKeys],
  ["members", schema.members],
  ["sign_in_links", schema.signInLinks],
  ["oauth_clients", schema.oauthClients],
  ["oauth_grants", schema.oauthGrants],
  ["usage", schema.usage],
  ["audit_log", schema.auditLog],
  ["settings", schema.settings],
];

/** `checksum_ok`: every source row is in the target, equal; `target_only_rows`: rows the target has that the source lacks. */
export type TableCopy = { table: string; source_rows: number; target_rows: number; target_only_rows: number; checksum_ok: boolean };

const page = 500;

function keyColumns(table: SQLiteTable): SQLiteColumn[] {
  const config = getTableConfig(table);
  const composite = config.primaryKeys[0]?.columns;
  return composite?.length ? composite : config.columns.filter((c) => c.primary);
}

/** Every row of `table` in primary-key order, a page at a time. */
async function* rowsOf(control: ControlDatabase, table: SQLiteTable): AsyncGenerator<Record<string, unknown>[]> {
  const order = keyColumns(table).map((c) => asc(c));
  for (let offset = 0; ; offset += page) {
    const rows = (await control.db.select().from(table).orderBy(...order).limit(page).offset(offset)) as Record<string, unknown>[];
    if (rows.length) yield rows;
    if (rows.length < page) return;
  }
}

/** Count and SHA-256 over the canonical JSON of every row, in key order: equal on both sides iff the rows are. */
export async function tableDigest(
  control: ControlDatabase,
  table: SQLiteTable,
  transform: (row: Record<string, unknown>) => Record<string, unknown> = (row) => row,
  only?: Set<string>,
): Promise<{ rows: number; sha256: string; keys: Set<string>; skipped: number }> {
  const hash = new Bun.CryptoHasher("sha256");
  const keyOf = keyText(table);
  const keys = new Set<string>();
  let rows = 0;
  let skipped = 0;
  for await (const chunk of rowsOf(control, table)) {
    for (const row of chunk.map(transform)) {
      const key = keyOf(row);
      if (only && !only.has(key)) {
        skipped++;
        continue;
      }
      keys.add(key);
      hash.update(`${JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k]]))}\n`);
      rows++;
    }
  }
  return { rows, sha256: hash.digest("hex"), keys, skipped };
}

/** A row's primary key as text (the drizzle property names of the key columns). */
function keyText(table: SQLiteTable): (row: Record<string, unknown>) => string {
  const columns = getTableColumns(table);
  const names = keyColumns(table).map((key) => Object.entries(columns).find(([, c]) => c === key)![0]);
  return (row) => JSON.stringify(names.map((n) => row[n]));
}

/** Rows of `table` the target holds under keys the source does not have (a target that served traffic has some). */
export async function targetOnlyRows(from: ControlDatabase, to: ControlDatabase, table: SQLiteTable): Promise<number> {
  const source = await tableDigest(from, table);
  return (await tableDigest(to, table, undefined, source.keys)).skipped;
}

/** Copies every control table from `from` to `to` and verifies each; `transform` may rewrite a table's rows on the way. */
export async function copyControl(
  from: ControlDatabase,
  to: ControlDatabase,
  transform: (table: string, row: Record<string, unknown>) => Record<string, unknown> = (_, row) => row,
): Promise<TableCopy[]> {
  const report: TableCopy[] = [];
  for (const [name, table] of controlTables) {
    const keys = keyColumns(table);
    const set: Record<string, SQL> = {};
    for (const [property, column] of Object.entries(getTableColumns(table))) {
      if (!keys.includes(column as SQLiteColumn)) set[property] = sql.raw(`excluded."${(column as SQLiteColumn).name}"`);
    }
    for await (const chunk of rowsOf(from, table)) {
      const rows = chunk.map((row) => transform(name, row));
      const insert = to.db.insert(table).values(rows as never[]);
      await (Object.keys(set).length ? insert.onConflictDoUpdate({ target: keys, set }) : insert.onConflictDoNothing());
    }
    // The source as it should arrive (after `transform`) against what the target holds.
    // Rows the target has beyond the source's (its own settings, say) are reported, not compared.
    const a = await tableDigest(from, table, (row) => transform(name, row));
    const b = await tableDigest(to, table, undefined, a.keys);
    report.push({ table: name, source_rows: a.rows, target_rows: b.rows + b.skipped, target_only_rows: b.skipped, checksum_ok: a.sha256 === b.sha256 && a.rows === b.rows });
  }
  return report;
}
