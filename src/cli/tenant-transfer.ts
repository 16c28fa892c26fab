/**
 * `tenant export` / `tenant import`: one tenant's documents as a plaintext libSQL file with the tenant schema,
 * from any backend into any backend and strategy. Both verify by count and SHA-256 of the documents.
 */
import Database from "libsql";
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { adminClient } from "../admin/client.ts";
import { AppError, invalidInput } from "../errors.ts";
import { sqliteOptions } from "../services.ts";
import { readRecords, RecordDigest, writeExportFile } from "../store/document-records.ts";
import { isPlaintextDatabase } from "../store/open.ts";
import { assertTenantId } from "../tenancy/tenant-id.ts";
import { moveTenant } from "../tenancy/tenant-move.ts";
import { recordsOf, writeInto } from "../tenancy/tenant-records.ts";
import { withServices, str } from "./context.ts";
import { isolationFlag } from "./storage.ts";
import type { Handler } from "./spec.ts";

export const tenantExport: Handler = async (ctx) => {
  const id = assertTenantId(ctx.positionals[0]);
  const out = str(ctx, "out");
  if (!out) throw invalidInput("say where to write the export: --out FILE.db");
  const path = resolve(out);
  if (existsSync(path)) throw new AppError("already_exists", `${path} already exists: the export never overwrites a file; choose another --out or move it away`);
  return withServices(ctx, async (rt) => {
    await rt.tenants.get(id);
    const started = performance.now();
    const digest = await writeExportFile(path, recordsOf(rt, id), sqliteOptions(rt.config));
    const ms = Math.round(performance.now() - started);
    ctx.out.result(`Exported ${digest.documents} document(s) of tenant ${id} to ${path} in ${ms} ms (plaintext libSQL file; sha256 ${digest.sha256}).`, { tenant: id, file: path, ...digest, ms });
  });
};

function openExport(path: string): Database.Database {
  if (!existsSync(path)) throw new AppError("not_found", `${path} does not exist`);
  if (!isPlaintextDatabase(path)) throw invalidInput(`${path} is not a plaintext libSQL file (make one with \`mcp-mt tenant export\`)`);
  const db = new Database(path, { readonly: true } as Database.Options);
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'documents'").get();
  if (!table) {
    db.close();
    throw invalidInput(`${path} has no documents table: it is not a tenant export`);
  }
  return db;
}

export const tenantImport: Handler = async (ctx) => {
  const file = ctx.positionals[0];
  if (!file) throw invalidInput("missing argument <file.db> (made by `mcp-mt tenant export`)");
  const path = resolve(file);
  const id = assertTenantId(str(ctx, "id") ?? basename(path).replace(/\.[^.]*$/, ""));
  const isolation = isolationFlag(str(ctx, "isolation"));
  const intoExisting = Boolean(ctx.values["into-existing"]);
  const db = openExport(path);
  try {
    return await withServices(ctx, async (rt, by) => {
      const exists = await rt.tenants.get(id).then(() => true, (error) => (error instanceof AppError && error.code === "not_found" ? false : Promise.reject(error)));
      if (exists && !intoExisting) throw new AppError("already_exists", `tenant ${id} already exists: pass --into-existing to upsert the file's documents into it, or --id NEW to import as a new tenant`);
      if (!exists && intoExisting) throw new AppError("not_found", `tenant ${id} does not exist: drop --into-existing to create it`);
      if (exists && (isolation || str(ctx, "plan"))) throw invalidInput("--plan and --isolation apply to a new tenant; move an existing one with `mcp-mt tenant move`");
      // One writer per tenant file: the running server may hold this tenant's file open.
      if (exists && rt.config.storage.url === "" && adminClient(rt.config)) {
        throw new AppError("conflict", `a server is serving ${rt.config.data.dir}: stop it to import into the existing tenant ${id}'s file, or import as a new tenant with --id NEW`);
      }
      const created = exists ? null : await rt.tenants.add({ id, plan: str(ctx, "plan"), isolation }, by);
      const started = performance.now();
      const { written } = await writeInto(rt, id, readRecords(db), false);
      // Verify: the tenant now holds every document of the file, equal.
      const ids = new Set<string>();
      for (const batch of readRecords(db)) batch.forEach((r) => ids.add(r.id));
      const landed = new RecordDigest();
      for await (const batch of recordsOf(rt, id)) landed.add(batch.filter((r) => ids.has(r.id)));
      const check = landed.result();
      const ok = check.sha256 === written.sha256 && check.documents === written.documents;
      const ms = Math.round(performance.now() - started);
      const human = [
        created ? `Created tenant ${id} (plan ${created.tenant.plan}${created.tenant.isolation === "file" ? "" : `, PostgreSQL ${created.tenant.isolation} isolation`}).` : `Imported into the existing tenant ${id}.`,
        `Imported ${written.documents} document(s) from ${path} in ${ms} ms: ${ok ? "verified (count and sha256 match)" : "VERIFICATION FAILED: the tenant's documents differ from the file's"}.`,
        ...(created ? ["", `API key (shown once, store it now): ${created.key.api_key}`] : []),
      ].join("\n");
      ctx.out.result(human, { tenant: id, created: created !== null, documents: written.documents, sha256: written.sha256, verified: ok, ms, ...(created ? { api_key: created.key.api_key, key_id: created.key.id } : {}) });
      return ok ? 0 : 1;
    });
  } finally {
    db.close();
  }
};

export const tenantMove: Handler = async (ctx) => {
  const id = assertTenantId(ctx.positionals[0]);
  const to = isolationFlag(str(ctx, "isolation"));
  if (!to) throw invalidInput("say where to: --isolation row, schema or database");
  return withServices(ctx, async (rt, by) => {
    const report = await moveTenant(rt, id, to, by, (line) => ctx.out.info(line));
    const human = `Tenant ${id} now uses ${to} isolation (${report.documents} document(s), verified; paused ${report.paused_ms} ms).${report.old_storage_removed ? "" : ` Its old ${report.from} storage could not be removed: remove it by hand.`}`;
    ctx.out.result(human, report);
  });
};
