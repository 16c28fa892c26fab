/**
 * Group commit on real libSQL files through the registry (one store worker): writes of one tenant that reach
 * the worker together share one transaction (counted in the file's write-ahead log), each keeps its own outcome.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { AppError, type ErrorCode } from "../../src/errors.ts";
import type { TenantStore } from "../../src/store/tenant-store.ts";
import type { Document } from "../../src/store/tenant/documents.ts";
import { unlimited } from "../../src/store/tenant/documents.ts";
import { TenantRegistry } from "../../src/tenancy/registry.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { holdWriteLock } from "../helpers/file-lock.ts";

afterAll(cleanupTempDirs);
// Workers started from source compile their modules first (the binary carries bytecode): allow for it.
setDefaultTimeout(30_000);

const doc = (n: number) => ({ title: `note ${n}`, content: `the content of note ${n}`, tags: [`t${n % 3}`] });

function registry(groupCommit = true): TenantRegistry {
  return new TenantRegistry({ dataDir: tempDir(), maxOpen: 16, sqlite: { synchronous: "FULL", busyTimeoutMs: 10_000, groupCommit }, workers: 1, stallMs: 60_000 });
}

/** Commits in the file's write-ahead log: frames of the current WAL generation that end a transaction. */
function walCommits(path: string): number {
  if (!existsSync(`${path}-wal`)) return 0;
  const wal = readFileSync(`${path}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}


/** Sends `first` (it blocks in the worker on the lock), then `rest` while it waits; releases; settles all. */
async function together<T>(path: string, first: () => Promise<unknown>, rest: (() => Promise<T>)[], whileQueued?: () => void): Promise<(T | AppError)[]> {
  const release = holdWriteLock(path);
  const blocked = first();
  await Bun.sleep(30); // the first call is in its BEGIN, waiting for the lock
  const queued = rest.map((call) => call().catch((e: AppError) => e));
  await Bun.sleep(30); // every message is posted to the (busy) worker
  whileQueued?.();
  release();
  await blocked;
  return Promise.all(queued);
}

const ids = (results: unknown[]) => results.filter((r): r is Document => !(r instanceof AppError)).map((d) => d.id);

describe("group commit (registry, one store worker, synchronous FULL)", () => {
  // One worker for these tests, its code warmed up first: a group is also bounded by the CPU time it spends
  // (10 ms), which a cold worker compiling its code could reach with a handful of calls.
  let reg: TenantRegistry;
  let tenants = 0;
  const fresh = async () => {
    const id = `t${++tenants}`;
    await reg.create(id);
    return id;
  };
  beforeAll(async () => {
    reg = registry();
    const id = await fresh();
    const store = reg.store(id, { quota: unlimited });
    const first = await store.create(doc(0));
    const misses = [() => store.update(first.id, { title: "x", expectedVersion: 9 }), () => store.update("doc_0000000000000000000000", { title: "x" }), () => reg.store(id, { quota: { maxDocuments: 0, maxBytes: 1 } }).create(doc(1))];
    const calls: (() => Promise<unknown>)[] = [...Array.from({ length: 20 }, (_, i) => () => store.create(doc(i))), ...misses, () => store.delete(first.id)];
    for (let round = 0; round < 3; round++) await together(reg.pathOf(id), () => store.create(doc(0)), calls);
  });
  afterAll(() => reg.closeAll());

  test("concurrent writes of one tenant are all acknowledged, present, and share one commit", async () => {
    const acme = await fresh();
    const store = reg.store(acme, { quota: unlimited });
    await store.storage(); // open the file first: its migrations check is not part of what is counted
    const path = reg.pathOf(acme);
    const before = walCommits(path);
    const results = await together(path, () => store.create(doc(0)), Array.from({ length: 20 }, (_, i) => () => store.create(doc(i + 1))));
    expect(results.filter((r) => r instanceof AppError)).toEqual([]);
    // the first write committed alone (it was running when the others came; on a very busy machine it may not
    // have reached the worker yet, and then it joins the group), the 20 others in one transaction
    expect(walCommits(path) - before).toBeLessThanOrEqual(2);
    for (const id of ids(results)) expect((await store.get(id))?.id).toBe(id);
    expect(await store.storage()).toMatchObject({ documents: 21 });
  });

  test("with group_commit off, the same writes commit one by one (what the WAL count above is measured against)", async () => {
    const single = registry(false);
    await single.create("acme");
    const store = single.store("acme", { quota: unlimited });
    await store.storage();
    const path = single.pathOf("acme");
    const before = walCommits(path);
    const results = await together(path, () => store.create(doc(0)), Array.from({ length: 20 }, (_, i) => () => store.create(doc(i + 1))));
    expect(results.filter((r) => r instanceof AppError)).toEqual([]);
    expect(walCommits(path) - before).toBe(21);
    await single.closeAll();
  });

  // One failing call in a group fails alone: its savepoint is rolled back, the others commit.
  const failing: { name: string; code: ErrorCode; call(tenant: string, store: TenantStore): Promise<() => Promise<unknown>> }[] = [
    {
      name: "storage quota reached",
      code: "quota_exceeded",
      // the same tenant through a request bound to a plan that allows no more documents
      call: async (tenant) => () => reg.store(tenant, { quota: { maxDocuments: 0, maxBytes: unlimited.maxBytes } }).create(doc(999)),
    },
    {
      name: "version conflict",
      code: "conflict",
      call: async (_, store) => {
        const target = await store.create(doc(100));
        return () => store.update(target.id, { title: "stale", expectedVersion: 7 });
      },
    },
    { name: "document not found", code: "not_found", call: async (_, store) => () => store.update("doc_0000000000000000000000", { title: "gone" }) },
  ];

  for (const row of failing) {
    test(`a call failing in a group (${row.name}) fails alone while the others commit`, async () => {
      const tenant = await fresh();
      const store = reg.store(tenant, { quota: unlimited });
      const fail = await row.call(tenant, store);
      const { documents: before } = await store.storage();
      const path = reg.pathOf(tenant);
      const commits = walCommits(path);
      const calls = [() => store.create(doc(1)), () => store.create(doc(2)), fail, () => store.create(doc(3)), () => store.create(doc(4))];
      const results = await together(path, () => store.create(doc(0)), calls);
      expect(results[2]).toBeInstanceOf(AppError);
      expect((results[2] as AppError).code).toBe(row.code);
      const written = ids([results[0], results[1], results[3], results[4]]);
      expect(written).toHaveLength(4);
      for (const id of written) expect((await store.get(id))?.id).toBe(id);
      expect(await store.storage()).toMatchObject({ documents: before + 5 });
      // still one transaction for the group
      expect(walCommits(path) - commits).toBeLessThanOrEqual(2);
    });
  }

  test("a call cancelled while it waits in a group never runs; the rest of the group commits", async () => {
    const tenant = await fresh();
    const store = reg.store(tenant, { quota: unlimited });
    await store.storage();
    const deadline = new AbortController();
    const cancelled = reg.store(tenant, { quota: unlimited, signal: deadline.signal });
    const calls = [() => store.create(doc(1)), () => cancelled.create({ title: "never", content: "must not be stored", tags: [] }), () => store.create(doc(2))];
    const results = await together(reg.pathOf(tenant), () => store.create(doc(0)), calls, () => deadline.abort(new AppError("timeout", "request timed out")));
    expect((results[1] as AppError).code).toBe("timeout");
    expect(ids([results[0], results[2]])).toHaveLength(2);
    expect(await store.storage()).toMatchObject({ documents: 3 });
    expect((await store.list({ limit: 10 })).documents.map((d) => d.title)).not.toContain("never");
  });

  test("writes of two tenants in one batch each commit in their own file; a read between keeps its order", async () => {
    const [a1, g1] = [await fresh(), await fresh()];
    const acme = reg.store(a1, { quota: unlimited });
    const globex = reg.store(g1, { quota: unlimited });
    await acme.storage();
    await globex.storage();
    const [a, g] = [walCommits(reg.pathOf(a1)), walCommits(reg.pathOf(g1))];
    const calls: (() => Promise<unknown>)[] = [() => acme.create(doc(1)), () => globex.create(doc(1)), () => acme.create(doc(2)), () => acme.storage(), () => acme.create(doc(3)), () => globex.create(doc(2))];
    const results = await together(reg.pathOf(a1), () => acme.create(doc(0)), calls);
    // the read came after two of acme's writes and before the third: it sees exactly those
    expect(results[3]).toMatchObject({ documents: 3 });
    expect(await acme.storage()).toMatchObject({ documents: 4 });
    expect(await globex.storage()).toMatchObject({ documents: 2 });
    // acme: the blocked write, its two writes before the read (one group), the one after; globex: one group
    expect(walCommits(reg.pathOf(a1)) - a).toBeLessThanOrEqual(3);
    expect(walCommits(reg.pathOf(g1)) - g).toBe(1);
  });
});
