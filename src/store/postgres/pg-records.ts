/**
 * A PostgreSQL tenant's documents as plain records (any strategy): read in seq order, a batch per
 * transaction, and upserted keeping each document's id, version, timestamps and size, so `storage copy`,
 * `tenant import` and `tenant move` land the same documents. Each write batch locks the tenant's stats row
 * first and recomputes it from the documents last, so the quota counters stay exact even if the tenant is
 * being served meanwhile (a concurrent write waits for the batch). Imports are the operator's: no quota check.
 */
import { AppError } from "../../errors.ts";
import type { DocumentRecord } from "../document-records.ts";
import type { PgTenantTarget } from "./pg-document-store.ts";
import { inTransaction, type Exec } from "./tenant-transaction.ts";

/** The statements in the target's dialect: row mode filters on (and inserts) `$1` = the tenant id. */
function dialect(target: PgTenantTarget) {
  const row = target.statements.row;
  const n = (text: string) => (row ? text.replace(/:(\d+)/g, (_, d: string) => `$${Number(d) + 1}`) : text.replace(/:(\d+)/g, "$$$1"));
  const mine = row ? "tenant_id = $1 AND " : "";
  const stats = row ? "tenant_id = $1" : "id = 1";
  const count = (what: string) => `(SELECT ${what} FROM documents WHERE ${row ? "tenant_id = $1" : "true"})`;
  return {
    page: n(`SELECT seq, id, title, content, tags, version, bytes, created_at, updated_at FROM documents WHERE ${mine}seq > :1 ORDER BY seq LIMIT :2`),
    lockStats: `SELECT 1 FROM tenant_stats WHERE ${stats} FOR UPDATE`,
    /** :1 the batch as JSON text (typed text: a pool that serializes json parameters itself would encode it twice). */
    upsert: n(`INSERT INTO documents (${row ? "tenant_id, " : ""}id, title, content, tags, version, bytes, created_at, updated_at)
      SELECT ${row ? "$1, " : ""}r.id, r.title, r.content, ARRAY(SELECT jsonb_array_elements_text(r.tags)), r.version, r.bytes, r.created_at, r.updated_at
      FROM jsonb_to_recordset((:1::text)::jsonb) AS r(id text, title text, content text, tags jsonb, version integer, bytes bigint, created_at bigint, updated_at bigint)
      ON CONFLICT (${row ? "tenant_id, " : ""}id) DO UPDATE SET title = excluded.title, content = excluded.content, tags = excluded.tags,
        version = excluded.version, bytes = excluded.bytes, created_at = excluded.created_at, updated_at = excluded.updated_at
      RETURNING seq, tags`),
    /** :1 seqs: their tags are rewritten from the documents' tags column. */
    dropTags: n(`DELETE FROM document_tags WHERE ${mine}doc_seq = ANY(:1::bigint[])`),
    addTags: n(`INSERT INTO document_tags (${row ? "tenant_id, " : ""}tag, doc_seq)
      SELECT ${row ? "$1, " : ""}tag, d.seq FROM documents d, unnest(d.tags) AS tag WHERE ${row ? "d.tenant_id = $1 AND " : ""}d.seq = ANY(:1::bigint[]) ON CONFLICT DO NOTHING`),
    /** :1 ids to keep: every other document goes (their tags by cascade). */
    keepOnly: n(`DELETE FROM documents WHERE ${mine}NOT (id = ANY(:1::text[]))`),
    restat: `UPDATE tenant_stats SET documents = ${count("count(*)")}, bytes = ${count("coalesce(sum(bytes), 0)")} WHERE ${stats}`,
  };
}

const tx = <T>(target: PgTenantTarget, fn: (exec: Exec) => Promise<T>) =>
  inTransaction(target.sql, target.binding, undefined, (raw) => fn(target.statements.row ? (text, params = []) => raw(text, [target.tenant, ...params]) : raw));

/** The next `batch` documents after position `after` (seq order), and the position to continue from. */
export async function readPgPage(target: PgTenantTarget, after: number, batch: number): Promise<{ records: DocumentRecord[]; next: number }> {
  const rows = await tx(target, (exec) => exec<DocumentRecord & { seq: number }>(dialect(target).page, [after, batch]));
  return {
    records: rows.map((r) => ({ id: r.id, title: r.title, content: r.content, tags: r.tags, version: r.version, bytes: r.bytes, created_at: r.created_at, updated_at: r.updated_at })),
    next: rows.at(-1)?.seq ?? after,
  };
}

/** Upserts `records` by document id in one transaction, tags and stats included. */
export async function writePgRecords(target: PgTenantTarget, records: DocumentRecord[]): Promise<void> {
  if (records.length === 0) return;
  for (const r of records) {
    if (`${r.id}${r.title}${r.content}${r.tags.join("")}`.includes("\u0000")) {
      throw new AppError("invalid_input", `tenant ${target.tenant}: document ${JSON.stringify(r.id)} contains the NUL character (U+0000), which PostgreSQL cannot store: edit it at the source and run again`);
    }
  }
  const q = dialect(target);
  await tx(target, async (exec) => {
    await exec(q.lockStats);
    const written = await exec<{ seq: number }>(q.upsert, [JSON.stringify(records)]);
    const seqs = written.map((w) => w.seq);
    await exec(q.dropTags, [seqs]);
    await exec(q.addTags, [seqs]);
    await exec(q.restat);
  });
}

/** Deletes every document whose id is not in `ids` (a copy that makes the target equal to its source). */
export async function keepOnlyPgRecords(target: PgTenantTarget, ids: string[]): Promise<number> {
  const q = dialect(target);
  return tx(target, async (exec) => {
    await exec(q.lockStats);
    const gone = await exec(`${q.keepOnly} RETURNING 1`, [ids]);
    await exec(q.restat);
    return gone.length;
  });
}
