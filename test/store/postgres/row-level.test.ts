/**
 * Row-level strategy on a real PostgreSQL: row-level security holds even for raw SQL, the tenant setting never
 * outlives its transaction on a pooled connection, and search keeps the GIN index under RLS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import postgres from "postgres";
import { openPool, type Sql } from "../../../src/store/postgres/connection.ts";
import { openPostgresTenantStorage, type PostgresTenantStorage } from "../../../src/store/postgres/postgres-tenant-storage.ts";
import { unlimited } from "../../../src/store/tenant/documents.ts";
import { pgDatabase } from "../../helpers/postgres.ts";

const db = pgDatabase("rls");
let shared: Sql;
let storage: PostgresTenantStorage;
let raw: postgres.Sql;
const store = (id: string) => storage.store(id, { quota: unlimited });

/** Statements run in one transaction as the tenant role, with the given tenant setting (or none). */
async function asTenantRole(tenant: string | null, statements: string[]): Promise<unknown[][]> {
  return raw.begin(async (tx) => {
    await tx.unsafe("SET LOCAL ROLE mcp_mt_tenant");
    if (tenant !== null) await tx.unsafe("SELECT set_config('app.tenant_id', $1, true)", [tenant]);
    const results: unknown[][] = [];
    for (const statement of statements) results.push(await tx.unsafe(statement));
    return results;
  }) as Promise<unknown[][]>;
}

beforeAll(async () => {
  // One connection in the pool: every request of every tenant runs on the same server session.
  shared = openPool(db.url, { max: 1, maxLifetimeS: 600 });
  storage = await openPostgresTenantStorage({ url: db.url, sql: shared, isolation: "row", strategyOf: async () => "row" });
  raw = postgres(db.url, { max: 1, onnotice: () => {} });
  for (const id of ["alpha", "beta"]) {
    await storage.create(id);
    await store(id).create({ title: `${id} plan`, content: `the ${id} zanzibar notes`, tags: [id] });
  }
}, 60_000);
afterAll(async () => {
  await storage.closeAll();
  await shared.end();
  await raw.end();
});

describe("row-level security", () => {
  test("a query without the tenant setting returns nothing (as the tenant role and as the owner)", async () => {
    const tables = ["documents", "document_tags", "tenant_stats"];
    const [...counts] = await asTenantRole(null, tables.map((t) => `SELECT count(*)::int AS n FROM ${t}`));
    expect(counts.map((rows) => (rows[0] as { n: number }).n)).toEqual([0, 0, 0]);
    const [empty] = await asTenantRole("", ["SELECT count(*)::int AS n FROM documents"]);
    expect((empty![0] as { n: number }).n).toBe(0);
    // FORCE: the connecting role owns the tables and is still bound by the policy.
    for (const table of tables) expect((await raw.unsafe(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n).toBe(0);
    const [mine] = await asTenantRole("alpha", ["SELECT tenant_id FROM documents"]);
    expect(mine!.map((r) => (r as { tenant_id: string }).tenant_id)).toEqual(["alpha"]);
  });

  test("a pooled connection never carries one request's tenant into the next", async () => {
    for (let round = 0; round < 10; round++) {
      for (const id of round % 2 ? ["beta", "alpha"] : ["alpha", "beta"]) {
        const s = store(id);
        const page = await s.list({ limit: 100 });
        expect(new Set(page.documents.flatMap((d) => d.tags))).toEqual(new Set([id]));
        expect((await s.search("zanzibar", 10)).map((h) => h.title)).toEqual([`${id} plan`]);
        // The same (only) connection, outside any transaction: no tenant, no role left behind.
        const [session] = await shared.unsafe("SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant, current_user AS who");
        expect({ ...session }).toEqual({ tenant: "", who: "mcp_app" });
      }
    }
  });

  test("a write of another tenant's row is refused by the policy", async () => {
    const insert = await asTenantRole("alpha", [
      "INSERT INTO documents (tenant_id, id, title, content, tags, version, bytes, created_at, updated_at) VALUES ('beta', 'doc_forged', 't', 'c', '{}', 1, 2, 0, 0)",
    ]).catch((error: { code?: string; message: string }) => error);
    expect(insert).toMatchObject({ code: "42501", message: expect.stringContaining("row-level security policy") });
    const moved = await asTenantRole("alpha", ["UPDATE documents SET tenant_id = 'beta' WHERE tenant_id = 'alpha'"]).catch((error: { code?: string }) => error);
    expect(moved).toMatchObject({ code: "42501" });
    const [updated, deleted, stats] = await asTenantRole("alpha", [
      "UPDATE documents SET title = 'hijacked' WHERE tenant_id = 'beta' RETURNING id",
      "DELETE FROM documents WHERE tenant_id = 'beta' RETURNING id",
      "UPDATE tenant_stats SET documents = 0 WHERE tenant_id = 'beta' RETURNING tenant_id",
    ]);
    expect([updated, deleted, stats]).toEqual([[], [], []]);
    expect((await store("beta").list({ limit: 10 })).documents.map((d) => d.title)).toEqual(["beta plan"]);
    expect(await store("beta").storage()).toMatchObject({ documents: 1 });
  });

  test("search under RLS uses the GIN index through the SECURITY DEFINER function (and would not inline)", async () => {
    // Enough rows that the planner prefers an index, and a vacuumed GIN index (no pending list).
    await asTenantRole("alpha", [
      "INSERT INTO documents (tenant_id, id, title, content, tags, version, bytes, created_at, updated_at) SELECT 'alpha', 'bulk' || i, 'title ' || i, 'common words here ' || i, '{}', 1, 1, 0, 0 FROM generate_series(1, 20000) i",
    ]);
    await raw.unsafe("VACUUM ANALYZE documents");
    const plan = (sql: string) => {
      // auto_explain shows the plan of the statement inside the function, as the tenant role runs it.
      const script = `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET client_min_messages = log;
        SET ROLE mcp_mt_tenant; SELECT set_config('app.tenant_id', 'alpha', false); ${sql}`;
      const result = spawnSync("psql", ["-h", "127.0.0.1", "-p", String(db.server.port), "-U", "postgres", "-d", db.name, "-v", "ON_ERROR_STOP=1", "-qtAc", script], { encoding: "utf8" });
      expect(result.status).toBe(0);
      return result.stderr;
    };
    const viaFunction = plan("SELECT * FROM public.mcp_mt_search(to_tsquery('public.mcp_mt_english', 'zanzibar'), 2000, 10);");
    expect(viaFunction).toContain("Bitmap Index Scan on documents_search_idx");
    const inline = plan("SELECT seq FROM documents WHERE tenant_id = 'alpha' AND search @@ to_tsquery('public.mcp_mt_english', 'zanzibar') ORDER BY seq DESC LIMIT 2000;");
    expect(inline).not.toContain("documents_search_idx");
    expect((await store("alpha").search("zanzibar", 10)).map((h) => h.title)).toEqual(["alpha plan"]);
    await asTenantRole("alpha", ["DELETE FROM documents WHERE id LIKE 'bulk%'"]);
  });

  test("the search function gives nothing without the tenant setting, and only the caller's tenant with it", async () => {
    const [none] = await asTenantRole(null, ["SELECT * FROM public.mcp_mt_search(to_tsquery('public.mcp_mt_english', 'zanzibar'), 2000, 10)"]);
    expect(none).toEqual([]);
    const [beta] = await asTenantRole("beta", ["SELECT d.title FROM public.mcp_mt_search(to_tsquery('public.mcp_mt_english', 'zanzibar'), 2000, 10) r JOIN documents d ON d.seq = r.seq AND d.tenant_id = 'beta'"]);
    expect(beta).toEqual([{ title: "beta plan" }]);
    // The function's own rows, not joined (a join on documents would hide another tenant's rows behind RLS):
    // exactly beta's matching documents, as the superuser sees them; alpha holds matching documents too.
    const [own] = await asTenantRole("beta", ["SELECT seq FROM public.mcp_mt_search(to_tsquery('public.mcp_mt_english', 'zanzibar'), 2000, 10)"]);
    const matching = (tenant: string) =>
      db.server.psql(`SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM documents WHERE tenant_id = '${tenant}' AND search @@ to_tsquery('public.mcp_mt_english', 'zanzibar')`, db.name).trim();
    expect(matching("alpha")).not.toBe("");
    expect((own as { seq: number | string }[]).map((r) => Number(r.seq)).sort((a, b) => a - b).join(",")).toBe(matching("beta"));
  });
});
