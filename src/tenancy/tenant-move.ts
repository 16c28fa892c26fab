/**
 * `tenant move <id> --isolation X` (PostgreSQL): a tenant's documents to another strategy in place.
 *
 * 1. The tenant's status becomes `moving`: the control plane's change notification makes every instance drop
 *    its cached verification, and the authenticator answers 503 "being moved; retry shortly" (Retry-After).
 * 2. Calls already admitted finish: the move waits out the tenant's request timeout (the longest a call may
 *    run) plus the cache lifetime, so nothing is written to the old storage after the copy starts.
 * 3. New storage in the target strategy, every document copied (ids, versions, timestamps kept), verified by
 *    count and SHA-256 against the old side; then ONE update flips `isolation` and restores the status.
 * 4. The old storage is removed (after the cache lifetime, so no instance still routes there).
 * Any failure before the flip removes the new storage and resumes the tenant on its old storage, untouched.
 */
import { and, eq, ne } from "drizzle-orm";
import type { Acting } from "../audit/actor.ts";
import { AppError } from "../errors.ts";
import { effectivePlan } from "../limits/plan.ts";
import type { Services } from "../services.ts";
import { RecordDigest } from "../store/document-records.ts";
import { tenants } from "../store/control/schema.ts";
import type { Isolation } from "../store/postgres/strategy.ts";
import { pgStorageOf } from "./tenant-records.ts";
import { assertTenantId } from "./tenant-id.ts";

export type MoveReport = { tenant: string; from: Isolation; to: Isolation; documents: number; sha256: string; paused_ms: number; old_storage_removed: boolean };

/** How long an instance may still answer from a cached verification or strategy (the authenticator's cache). */
const cacheBackstopMs = 1_500;

export async function moveTenant(rt: Services, rawId: string, to: Isolation, by: Acting, progress: (line: string) => void = () => {}): Promise<MoveReport> {
  const id = assertTenantId(rawId);
  const pg = pgStorageOf(rt);
  if (!pg) throw new AppError("invalid_input", "tenant move applies to PostgreSQL (storage.url); with libSQL files use `tenant export` and `tenant import`, or `storage copy`");
  const [row] = await rt.control.db.select().from(tenants).where(eq(tenants.id, id));
  if (!row) throw new AppError("not_found", `tenant ${id} does not exist`);
  if (row.status === "moving") throw new AppError("conflict", `tenant ${id} is already being moved (if that move was interrupted, \`mcp-mt tenant resume ${id}\` resumes it on its recorded storage)`);
  const from = row.isolation as Isolation | "file";
  if (from === "file") throw new AppError("invalid_input", `tenant ${id} is recorded as a libSQL file: run \`mcp-mt storage copy\` first`);
  if (from === to) throw new AppError("invalid_input", `tenant ${id} already uses ${to} isolation`);
  const status = row.status;
  // Both changes of status are conditional, so two moves, or a `tenant resume` during one, cannot interleave:
  // only one move pauses a tenant, and a move flips only a tenant still paused by it.
  const pause = () =>
    rt.control.db.update(tenants).set({ status: "moving", updatedAt: rt.clock() }).where(and(eq(tenants.id, id), ne(tenants.status, "moving"))).returning({ id: tenants.id });
  const unpause = (isolation?: Isolation) =>
    rt.control.db
      .update(tenants)
      .set({ status, ...(isolation ? { isolation } : {}), updatedAt: rt.clock() })
      .where(and(eq(tenants.id, id), eq(tenants.status, "moving")))
      .returning({ id: tenants.id });

  const paused = performance.now();
  if ((await pause()).length === 0) throw new AppError("conflict", `tenant ${id} is already being moved`);
  let created = false;
  let a: { documents: number; sha256: string };
  try {
    const plan = effectivePlan(rt.config, row);
    const drainMs = Math.min(plan.request_timeout_ms, rt.config.server.request_timeout_ms) + cacheBackstopMs;
    progress(`Paused ${id}; waiting ${drainMs} ms for calls in flight to finish.`);
    await Bun.sleep(drainMs);
    // A leftover of an interrupted earlier move: the tenant is recorded on `from`, so the other side is stale.
    if (await pg.existsIn(id, to)) await pg.removeIn(id, to);
    await pg.createIn(id, to);
    created = true;
    const source = new RecordDigest();
    for await (const batch of pg.exportRecords(id, 500, from)) {
      await pg.importRecords(id, batch, to);
      source.add(batch);
    }
    const target = new RecordDigest();
    for await (const batch of pg.exportRecords(id, 500, to)) target.add(batch);
    const b = target.result();
    a = source.result();
    if (a.sha256 !== b.sha256 || a.documents !== b.documents) {
      throw new AppError("internal", `tenant ${id}: the copy in ${to} does not match (${b.documents} documents against ${a.documents}); nothing changed`);
    }
    if ((await unpause(to)).length === 0) {
      throw new AppError("conflict", `tenant ${id} was resumed while it was being moved (it serves from ${from}); the copy in ${to} is removed`);
    }
  } catch (error) {
    // Before the flip: the tenant still lives on `from`; only the copy goes.
    if (created) await pg.removeIn(id, to).catch(() => undefined);
    await unpause().catch(() => undefined);
    pg.forget(id);
    throw error;
  }
  // After the flip nothing may remove `to`: it is where the tenant lives now.
  pg.forget(id);
  const pausedMs = Math.round(performance.now() - paused);
  progress(`Moved ${a.documents} document(s) to ${to}; ${id} resumed after ${pausedMs} ms.`);
  // Instances that have not yet heard of the flip still route to the old side for a moment.
  await Bun.sleep(cacheBackstopMs);
  const removed = await pg.removeIn(id, from).then(() => true, () => false);
  await rt.audit.append({ actor: by.actor, tenantId: id, action: "tenant.moved", target: id, details: { from, to, documents: a.documents } });
  return { tenant: id, from, to, documents: a.documents, sha256: a.sha256, paused_ms: pausedMs, old_storage_removed: removed };
}
