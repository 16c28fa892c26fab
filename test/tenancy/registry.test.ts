import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import Database from "libsql";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { AppError } from "../../src/errors.ts";
import { unlimited } from "../../src/store/tenant/documents.ts";
import { TenantRegistry } from "../../src/tenancy/registry.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { holdWriteLock } from "../helpers/file-lock.ts";

afterAll(cleanupTempDirs);

const sqlite = { synchronous: "NORMAL" as const, busyTimeoutMs: 3_000 };
const openFds = () => readdirSync("/proc/self/fd").length;
const registry = (options: { workers: number; maxOpen?: number; stallMs?: number }) =>
  new TenantRegistry({ dataDir: tempDir(), maxOpen: options.maxOpen ?? 64, sqlite, workers: options.workers, stallMs: options.stallMs });
const doc = { title: "hello", content: "a document about workers", tags: ["t"] };


// Workers started from source compile their modules first (the binary carries bytecode): allow for it.
setDefaultTimeout(30_000);

describe("TenantRegistry (store workers)", () => {
  test("document calls run on worker threads and answer like the store", async () => {
    const reg = registry({ workers: 2 });
    await reg.create("acme");
    const store = reg.store("acme", { quota: unlimited });
    const created = await store.create(doc);
    expect(await store.get(created.id)).toMatchObject({ id: created.id, title: "hello", tags: ["t"], version: 1 });
    expect((await store.search("workers", 5)).map((h) => h.id)).toEqual([created.id]);
    expect(await store.storage()).toMatchObject({ documents: 1 });
    // (bun's expect().rejects never settles on these promises: catch instead)
    expect(await store.update("doc_nope", { title: "x" }).catch((e: AppError) => e)).toMatchObject({ code: "not_found" });
    expect(await store.delete(created.id)).toBe(true);
    expect(reg.isOpen("acme")).toBe(true);
    await reg.closeAll();
  });

  test("a tenant without a file is not_found, and no file is created for it", async () => {
    const reg = registry({ workers: 1 });
    expect(await reg.store("ghost", { quota: unlimited }).get("x").catch((e: AppError) => e)).toMatchObject({ code: "not_found" });
    expect(await reg.exists("ghost")).toBe(false);
    await reg.closeAll();
  });

  test("a stalled worker hands its other tenants to a fresh worker: they never wait on the stall", async () => {
    const reg = registry({ workers: 1, stallMs: 20 });
    await reg.create("busy");
    await reg.create("other");
    const other = reg.store("other", { quota: unlimited });
    const kept = await other.create(doc);
    const release = holdWriteLock(reg.pathOf("busy"));
    const order: string[] = [];
    // busy's write waits for the lock inside the only worker; other's read is queued behind it.
    const stalled = reg.store("busy", { quota: unlimited }).create(doc).then(
      () => order.push("busy"),
      (error: AppError) => order.push(`busy:${error.code}`),
    );
    await Bun.sleep(5);
    const read = await other.get(kept.id);
    order.push("other");
    expect(read?.id).toBe(kept.id);
    expect(reg.figures().detached).toBe(1);
    release();
    await stalled;
    // other answered while busy still waited on its lock
    expect(order).toEqual(["other", "busy"]);
    await reg.closeAll();
  });

  test("a tenant holding the worker with many calls back to back (none long on its own) is handed off like one long call", async () => {
    const reg = registry({ workers: 1, stallMs: 10 });
    await reg.create("busy");
    await reg.create("other");
    const other = reg.store("other", { quota: unlimited });
    const kept = await other.create(doc);
    const busy = reg.store("busy", { quota: unlimited });
    const words = Array.from({ length: 2000 }, (_, i) => `ab${(i * 7919).toString(36)} cd${i.toString(36)}`).join(" ");
    for (let i = 0; i < 40; i++) await busy.create({ title: `t${i}`, content: words, tags: [] });
    let busyDone = 0;
    // 40 searches sent at once run one after another on the only worker: the worker is busy's for their sum.
    const searches = Array.from({ length: 40 }, () => busy.search("ab* cd*", 20).then(() => busyDone++));
    await Bun.sleep(5);
    const read = await other.get(kept.id);
    const doneWhenOtherAnswered = busyDone;
    await Promise.all(searches);
    expect(read?.id).toBe(kept.id);
    // other's read was answered while busy's searches were still queued (without the hand-off: after all 40)
    expect(doneWhenOtherAnswered).toBeLessThan(40);
    await reg.closeAll();
  });

  test("a call cancelled before it ran never runs (no write the client was told failed)", async () => {
    const reg = registry({ workers: 1, stallMs: 60_000 });
    await reg.create("busy");
    await reg.create("queued");
    const release = holdWriteLock(reg.pathOf("busy"));
    const stalled = reg.store("busy", { quota: unlimited }).create(doc).catch(() => undefined);
    await Bun.sleep(5);
    const deadline = new AbortController();
    const write = reg.store("queued", { quota: unlimited, signal: deadline.signal }).create(doc);
    await Bun.sleep(5); // sent: it waits in the worker's queue behind the stalled call
    deadline.abort(new AppError("timeout", "request timed out after 5 ms"));
    expect(await write.catch((e: AppError) => e)).toMatchObject({ code: "timeout" });
    release();
    await stalled;
    // the queued write reached the worker after it was cancelled: it was skipped, not run
    expect(await reg.store("queued", { quota: unlimited }).storage()).toEqual({ documents: 0, bytes: 0 });
    await reg.closeAll();
  });

  test("keeps at most maxOpen tenants open across workers, and descriptors stay bounded", async () => {
    const cap = 8;
    const reg = registry({ workers: 2, maxOpen: cap });
    const ids = Array.from({ length: cap * 3 }, (_, i) => `t${i}`);
    for (const id of ids) await reg.create(id);
    await Bun.sleep(100);
    const baseline = openFds();
    let peak = 0;
    for (const id of ids) {
      await reg.store(id, { quota: unlimited }).list({ limit: 1 });
      peak = Math.max(peak, openFds() - baseline);
    }
    expect(reg.openCount).toBe(cap);
    expect(ids.filter((id) => reg.isOpen(id))).toEqual(ids.slice(-cap));
    // 3 descriptors per open WAL database; without reclamation in the workers it would reach 3 * 24
    expect(peak).toBeLessThanOrEqual(3 * cap * 2);
    await reg.closeAll();
  });

  test("a graceful close checkpoints every file: the .db alone holds the data", async () => {
    const reg = registry({ workers: 2 });
    await reg.create("acme");
    const store = reg.store("acme", { quota: unlimited });
    for (let i = 0; i < 20; i++) await store.create(doc);
    await reg.closeAll();
    const path = reg.pathOf("acme");
    expect(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0).toBe(true);
    const copy = `${path}.copy`;
    writeFileSync(copy, await Bun.file(path).bytes());
    const db = new Database(copy);
    expect(db.prepare("SELECT count(*) FROM documents").raw().get()).toEqual([20]);
    db.close();
  });

  test("a damaged tenant file is reported as damaged storage, other tenants are unaffected", async () => {
    const reg = registry({ workers: 1 });
    await reg.create("broken");
    await reg.create("fine");
    await reg.close("broken");
    writeFileSync(reg.pathOf("broken"), Buffer.alloc(8192, 7));
    const error = await reg.store("broken", { quota: unlimited }).get("x").catch((e: AppError) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("storage_damaged");
    expect((error as AppError).message).toContain("Tenant storage damaged");
    expect(await reg.store("fine", { quota: unlimited }).storage()).toEqual({ documents: 0, bytes: 0 });
    await reg.closeAll();
  });
});
