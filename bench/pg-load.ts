/**
 * Bulk-loads the generated corpus (bench/text.ts, seed 42: the same documents bench/seed.ts writes into a
 * libSQL file) into one PostgreSQL tenant of any strategy, as the rows the store itself would write, and keeps
 * the tenant's stats row consistent; the tsvector column is generated, so search sees every row. Used by
 * bench/pg-store.ts (in process) and bench/cluster.ts (through the binary). Returns up to 1,000 of the new ids.
 */
import postgres from "postgres";
import { quoteIdent, tenantDatabase, tenantSchema } from "../src/store/postgres/names.ts";
import type { Isolation } from "../src/store/postgres/postgres-tenant-storage.ts";
import { byteLength, newDocumentId } from "../src/store/tenant/documents.ts";
import { documentGenerator } from "./text.ts";

/** 2,000 rows per statement; VACUUM ANALYZE at the end so the planner knows the table. */
export async function loadPgTenant({ url, isolation, tenant, mainDb, docs, log = () => {} }: { url: string; isolation: Isolation; tenant: string; mainDb: string; docs: number; log?: (line: string) => void }): Promise<string[]> {
  const target = new URL(url);
  if (isolation === "database") target.pathname = `/${tenantDatabase(mainDb, tenant)}`;
  const sql = postgres(target.href, { max: 1, onnotice: () => {} });
  const next = documentGenerator(42);
  const ids: string[] = [];
  const table = isolation === "schema" ? `${quoteIdent(tenantSchema(tenant))}.documents` : "documents";
  const now = Date.now();
  let bytesTotal = 0;
  try {
    for (let done = 0; done < docs; ) {
      const n = Math.min(2000, docs - done);
      const cols: unknown[][] = [[], [], [], [], []];
      for (let i = 0; i < n; i++) {
        const doc = next();
        const id = newDocumentId();
        if (ids.length < 1000) ids.push(id);
        const bytes = byteLength(doc.title) + byteLength(doc.content);
        bytesTotal += bytes;
        cols[0]!.push(id), cols[1]!.push(doc.title), cols[2]!.push(doc.content), cols[3]!.push(bytes), cols[4]!.push(now - docs + done + i);
      }
      await sql.begin(async (tx) => {
        if (isolation === "row") {
          await tx.unsafe("SET LOCAL ROLE mcp_mt_tenant");
          await tx.unsafe("SELECT set_config('app.tenant_id', $1, true)", [tenant]);
        }
        await tx.unsafe(
          `INSERT INTO ${table} (${isolation === "row" ? "tenant_id, " : ""}id, title, content, tags, version, bytes, created_at, updated_at)
           SELECT ${isolation === "row" ? `'${tenant}', ` : ""}id, title, content, '{}', 1, bytes, at, at FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(id, title, content, bytes, at)`,
          cols as never[],
        );
      });
      done += n;
      if (done % 20000 === 0) log(`  ${isolation}: ${done} documents`);
    }
    await sql.begin(async (tx) => {
      if (isolation === "row") {
        await tx.unsafe("SET LOCAL ROLE mcp_mt_tenant");
        await tx.unsafe("SELECT set_config('app.tenant_id', $1, true)", [tenant]);
        await tx.unsafe("UPDATE tenant_stats SET documents = documents + $2, bytes = bytes + $3 WHERE tenant_id = $1", [tenant, docs, bytesTotal]);
      } else await tx.unsafe(`UPDATE ${isolation === "schema" ? `${quoteIdent(tenantSchema(tenant))}.` : ""}tenant_stats SET documents = documents + $1, bytes = bytes + $2`, [docs, bytesTotal]);
    });
    await sql.unsafe(`VACUUM ANALYZE ${table}`);
  } finally {
    await sql.end();
  }
  return ids;
}

