/**
 * The SQL of a PostgreSQL tenant store, in two dialects of the same statements: row-level (shared tables in
 * `public`; `$1` is always the tenant id and every statement filters on it, on top of RLS) and per-tenant (a
 * tenant schema reached through search_path, or a tenant database: no tenant column). Texts are fixed per
 * dialect (and per count of literal terms), so each connection prepares a handful of statements.
 */
import { searchBounds } from "../tenant/search-query.ts";

/** The search configuration created by the migrations (see drizzle/pg-row/0000_search_config.sql). */
export const searchConfig = "public.mcp_mt_english";

/** Weights {D, C, B, A}: title (A) counts 5x content (B), as libSQL's bm25 weights (5.0, 1.0). */
export const rankWeights = "{0.1, 0.2, 0.2, 1.0}";

/** Highlight markers of ts_headline, replaced by `**` once the text around them is escaped (see search.ts). */
export const markStart = "\u27e6";
export const markStop = "\u27e7";

export type Statements = ReturnType<typeof statementsFor>;

export function statementsFor(row: boolean) {
  const off = row ? 1 : 0;
  /** `:n` placeholders → `$n`, shifted by one in row mode (where `$1` is the tenant id). */
  const n = (text: string) => text.replace(/:(\d+)/g, (_, d: string) => `$${Number(d) + off}`);
  const mine = (alias = "") => (row ? `${alias}tenant_id = $1 AND ` : "");
  const tenantCol = row ? "tenant_id, " : "";
  const tenantVal = row ? "$1, " : "";
  const stats = row ? "tenant_stats.tenant_id = $1" : "tenant_stats.id = 1";
  const literal = (alias: string, i: number) =>
    `(${alias}title ILIKE :${i} OR substr(${alias}content, 1, ${searchBounds.literalWindowChars}) ILIKE :${i})`;
  const literals = (alias: string, first: number, count: number) =>
    Array.from({ length: count }, (_, i) => `AND ${literal(alias, first + i)}`).join(" ");
  /** Escapes the text a snippet is cut from: markers removed, `\` and `*` backslashed (markdown-safe). */
  const escaped = (expr: string) => `replace(replace(translate(${expr}, '${markStart}${markStop}', ''), '\\', '\\\\'), '*', '\\*')`;
  const headline = (expr: string) =>
    `ts_headline('${searchConfig}', ${escaped(expr)}, q.q, 'StartSel=${markStart}, StopSel=${markStop}, MaxWords=16, MinWords=15, ShortWord=0, MaxFragments=0')`;
  /** The ranked candidates of a word query: `:1` tsquery text, `:2` candidates, `:3` wanted. */
  const ranked = row
    ? `SELECT r.seq, r.score FROM q, public.mcp_mt_search(q.q, :2, :3) r`
    : `SELECT c.seq, ts_rank('${rankWeights}', c.search, q.q) AS score
       FROM q, LATERAL (SELECT seq, search FROM documents WHERE search @@ q.q ORDER BY seq DESC LIMIT :2) c
       ORDER BY score DESC, c.seq DESC LIMIT :3`;
  const hitColumns = "d.seq, d.id, d.title, d.tags, d.version, d.created_at, d.updated_at";
  const window = `left(d.content, ${searchBounds.snippetWindowChars})`;
  return {
    row,
    get: n(`SELECT seq, id, title, content, tags, version, bytes, created_at, updated_at FROM documents WHERE ${mine()}id = :1`),
    getForUpdate: n(`SELECT seq, id, title, content, tags, version, bytes, created_at, updated_at FROM documents WHERE ${mine()}id = :1 FOR UPDATE`),
    stats: `SELECT documents, bytes FROM tenant_stats WHERE ${stats}`,
    /** :1 id, :2 title, :3 content, :4 tags, :5 bytes, :6 now, :7 max documents, :8 max bytes. One statement: quota, row, tags. */
    insert: n(`WITH s AS (
        UPDATE tenant_stats SET documents = documents + 1, bytes = bytes + :5
        WHERE ${stats} AND documents < :7 AND bytes + :5 <= :8 RETURNING 1),
      d AS (
        INSERT INTO documents (${tenantCol}id, title, content, tags, version, bytes, created_at, updated_at)
        SELECT ${tenantVal}:1, :2, :3, :4::text[], 1, :5, :6, :6 FROM s RETURNING seq),
      t AS (INSERT INTO document_tags (${tenantCol}tag, doc_seq) SELECT ${tenantVal}tag, d.seq FROM d, unnest(:4::text[]) AS tag)
      SELECT seq FROM d`),
    /** :1 seq, :2 title, :3 content, :4 tags, :5 new bytes, :6 old bytes, :7 now, :8 max bytes. */
    update: n(`WITH s AS (
        UPDATE tenant_stats SET bytes = bytes + (:5::bigint - :6::bigint)
        WHERE ${stats} AND (:5::bigint <= :6::bigint OR bytes + (:5::bigint - :6::bigint) <= :8::bigint) RETURNING 1)
      UPDATE documents SET title = :2, content = :3, tags = :4::text[], version = version + 1, bytes = :5, updated_at = :7
      FROM s WHERE ${mine("documents.")}documents.seq = :1 RETURNING version`),
    /** A document's tags are replaced by deleting them (:1 seq) and inserting the new ones (:2). */
    deleteTags: n(`DELETE FROM document_tags WHERE ${mine()}doc_seq = :1`),
    insertTags: n(`INSERT INTO document_tags (${tenantCol}tag, doc_seq) SELECT ${tenantVal}tag, :1 FROM unnest(:2::text[]) AS tag`),
    delete: n(`WITH d AS (DELETE FROM documents WHERE ${mine()}id = :1 RETURNING seq, bytes),
      s AS (UPDATE tenant_stats SET documents = tenant_stats.documents - 1, bytes = tenant_stats.bytes - d.bytes FROM d WHERE ${stats} RETURNING 1)
      SELECT seq FROM d`),
    /** Pages: [cursor?][tag?] variants, so each has a plan that uses the (tenant, seq) order. */
    list: (after: boolean, tag: boolean) => {
      let i = 0;
      const a = after ? `AND seq < :${++i} ` : "";
      const t = tag ? `AND seq IN (SELECT doc_seq FROM document_tags WHERE ${mine()}tag = :${++i}${after ? " AND doc_seq < :1" : ""}) ` : "";
      return n(`SELECT seq, id, title, tags, version, bytes, created_at, updated_at FROM documents
        WHERE ${row ? "tenant_id = $1 " : "true "}${a}${t}ORDER BY seq DESC LIMIT :${++i}`);
    },
    /** A word query: :1 tsquery text, :2 candidates, :3 wanted, :4 page size, then literal patterns. Headlines for the page only. */
    search: (literalCount: number) =>
      n(`WITH q AS (SELECT to_tsquery('${searchConfig}', :1) AS q),
        r AS (${ranked}),
        page AS (
          SELECT r.seq, r.score FROM r JOIN documents d ON ${mine("d.")}d.seq = r.seq
          WHERE true ${literals("d.", 5, literalCount)}
          ORDER BY r.score DESC, r.seq DESC LIMIT :4)
        SELECT ${hitColumns}, page.score,
          ${headline(window)} AS body, ${headline("d.title")} AS head,
          ${window} AS window, length(d.content) > ${searchBounds.snippetWindowChars} AS truncated
        FROM page JOIN documents d ON ${mine("d.")}d.seq = page.seq, q
        ORDER BY page.score DESC, page.seq DESC`),
    /** A symbols-only query, step 1: sizes of the newest documents (:1 how many). */
    recent: n(`SELECT seq, bytes FROM documents WHERE ${row ? "tenant_id = $1" : "true"} ORDER BY seq DESC LIMIT :1`),
    /** Step 2: among documents from :1 on, the newest :2 holding every literal (patterns from :3). */
    recentWithLiterals: (literalCount: number) =>
      n(`SELECT ${hitColumns}, 0 AS score, left(d.content, ${searchBounds.snippetWindowChars}) AS window, length(d.content) > ${searchBounds.snippetWindowChars} AS truncated
        FROM documents d WHERE ${mine("d.")}d.seq >= :1 ${literals("d.", 3, literalCount)}
        ORDER BY d.seq DESC LIMIT :2`),
  };
}
