/**
 * `storage copy`: a whole libSQL installation (control plane and every tenant's documents) into PostgreSQL.
 *
 * The control plane is upserted table by table and verified by count and checksum (copy-control.ts), with two
 * rewrites of each tenant row: `isolation` becomes the tenant's PostgreSQL strategy, and `wrapped_key` becomes
 * null (PostgreSQL holds documents decrypted: encrypt its storage instead). API keys keep working because the
 * hashes are copied verbatim and every instance uses the same pepper. Each tenant's documents are then made
 * equal to the source's (upserted by id, and documents the source no longer has are deleted), and verified by
 * count and SHA-256 on both sides. Running it again is safe: it brings the target up to date.
 */
import { eq } from "drizzle-orm";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { copyControl, targetOnlyRows, type TableCopy } from "../store/copy-control.ts";
import type { PostgresControl } from "../store/control/db.ts";
import { auditLog, settings, tenants, usage } from "../store/control/schema.ts";
import type { PostgresTenantStorage } from "../store/postgres/postgres-tenant-storage.ts";
import type { Isolation } from "../store/postgres/strategy.ts";
import { digestOf, recordsOf, writeInto } from "./tenant-records.ts";

export type TenantCopyReport = {
  tenant: string;
  isolation: Isolation;
  source_documents: number;
  target_documents: number;
  removed: number;
  checksum_ok: boolean;
  ms: number;
};

export type StorageCopyReport = { tables: TableCopy[]; tenants: TenantCopyReport[]; ok: boolean; ms: number };

export type Target = { control: PostgresControl; storage: PostgresTenantStorage };

/** Tenants already in the target keep their strategy (their documents are there); new ones get `choose`'s. */
async function strategies(source: Services, target: Target, choose: (plan: string) => Isolation): Promise<Map<string, Isolation>> {
  const existing = new Map((await target.control.db.select({ id: tenants.id, isolation: tenants.isolation }).from(tenants)).map((t) => [t.id, t.isolation]));
  const chosen = new Map<string, Isolation>();
  for (const t of await source.control.db.select({ id: tenants.id, plan: tenants.plan }).from(tenants).orderBy(tenants.id)) {
    const known = existing.get(t.id);
    chosen.set(t.id, known && known !== "file" ? known : choose(t.plan));
  }
  return chosen;
}

/** Refuses a target whose API keys were hashed under another pepper: copying would break them (or ours). */
async function samePepper(source: Services, target: Target): Promise<void> {
  const name = "pepper_fingerprint";
  const [mine] = await source.control.db.select().from(settings).where(eq(settings.name, name));
  const [theirs] = await target.control.db.select().from(settings).where(eq(settings.name, name));
  if (mine && theirs && mine.value !== theirs.value) {
    throw new AppError("conflict", `the PostgreSQL control plane at ${target.control.where} belongs to an installation with another pepper: its API keys and this installation's cannot both work there; copy into an empty database`);
  }
}

/**
 * Refuses a target that has served traffic since the last copy (usage or audit rows the source lacks): a copy
 * now would overwrite what it recorded, and fork the audit chain.
 */
async function notServedYet(source: Services, target: Target): Promise<void> {
  // Usage counts only grow: a target row the source lacks, or with a larger count, was counted by PostgreSQL.
  const key = (u: { tenantId: string; month: string; event: string }) => `${u.tenantId}\u0000${u.month}\u0000${u.event}`;
  const counted = new Map((await source.control.db.select().from(usage)).map((u) => [key(u), u.count]));
  const usageRows = (await target.control.db.select().from(usage)).filter((u) => u.count > (counted.get(key(u)) ?? -1)).length;
  const auditRows = await targetOnlyRows(source.control, target.control, auditLog);
  if (usageRows + auditRows > 0) {
    throw new AppError(
      "conflict",
      `the target at ${target.control.where} has usage (${usageRows} row(s)) or audit entries (${auditRows}) this installation does not have: it has served traffic since the last copy, and copying again would overwrite them. Nothing was copied; copy into an empty database, or keep serving from PostgreSQL`,
    );
  }
}

export async function copyStorage(source: Services, target: Target, choose: (plan: string) => Isolation): Promise<StorageCopyReport> {
  const started = performance.now();
  await samePepper(source, target);
  await notServedYet(source, target);
  const chosen = await strategies(source, target, choose);
  const tables = await copyControl(source.control, target.control, (table, row) =>
    table === "tenants" ? { ...row, isolation: chosen.get(row.id as string) ?? row.isolation, wrappedKey: null } : row,
  );
  const targetServices = { control: target.control, storage: target.storage, vault: null, registry: source.registry, config: source.config } as Parameters<typeof digestOf>[0];
  const reports: TenantCopyReport[] = [];
  for (const [id, isolation] of chosen) {
    const began = performance.now();
    target.storage.forget(id);
    if (!(await target.storage.exists(id))) await target.storage.create(id, null, isolation);
    const { written, removed } = await writeInto(targetServices, id, recordsOf(source, id), true);
    const landed = await digestOf(targetServices, id);
    reports.push({ tenant: id, isolation, source_documents: written.documents, target_documents: landed.documents, removed, checksum_ok: landed.sha256 === written.sha256, ms: Math.round(performance.now() - began) });
  }
  const ok = tables.every((t) => t.checksum_ok && t.source_rows <= t.target_rows) && reports.every((r) => r.checksum_ok);
  return { tables, tenants: reports, ok, ms: Math.round(performance.now() - started) };
}
