/** The audit chain appended by several writers (connections, processes) at once: one chain, no forks, verified. */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AuditLog } from "../../src/audit/audit-log.ts";
import { openControl, type ControlDatabase } from "../../src/store/control/db.ts";
import { openPostgresControl } from "../../src/store/control/postgres.ts";
import { pgDatabase } from "../helpers/postgres.ts";
import { auditLog } from "../../src/store/control/schema.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { holdWriteLock } from "../helpers/file-lock.ts";

afterAll(cleanupTempDirs);

const sqlite = { synchronous: "NORMAL", busyTimeoutMs: 10_000 } as const;

async function expectOneChain(dir: string | ControlDatabase, entries: number) {
  const control = typeof dir === "string" ? await openControl(dir, sqlite) : dir;
  const audit = new AuditLog({ control, clock: Date.now });
  expect(await audit.verify()).toEqual({ ok: true, entries });
  const rows = await control.db.select({ prevHash: auditLog.prevHash }).from(auditLog);
  // A fork is two entries chained onto the same predecessor.
  expect(new Set(rows.map((r) => r.prevHash)).size).toBe(rows.length);
  if (typeof dir === "string") await control.close();
}

describe("audit chain with several writers", () => {
  test("two AuditLogs (no shared in-process lock) on one connection, appending concurrently", async () => {
    // Two connections in ONE thread cannot be tested: SQLite's busy handler would sleep the very thread that
    // holds the lock. Across processes: the next test.
    const dir = tempDir();
    const control = await openControl(dir, sqlite);
    const logs = [0, 1].map(() => new AuditLog({ control, clock: Date.now }));
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? logs[i % 2]!.appendMany([{ actor: "a", action: "x" }, { actor: "a", action: "y" }]) : logs[i % 2]!.append({ actor: `w${i % 2}`, action: "test", target: String(i) }))),
    );
    control.client.close();
    await expectOneChain(dir, 220);
  });

  test("an append waiting for another writer's lock leaves the event loop free: the timer that releases the lock runs meanwhile", async () => {
    const dir = tempDir();
    const control = await openControl(dir, sqlite);
    const audit = new AuditLog({ control, clock: Date.now });
    await audit.append({ actor: "a", action: "first" });
    const release = holdWriteLock(join(dir, "control.db"));
    // With SQLite's busy handler on this thread, the timer could never run: the append would fail at the busy timeout.
    setTimeout(release, 50);
    await audit.append({ actor: "a", action: "after the lock" });
    await control.close();
    await expectOneChain(dir, 2);
  });

  test("three processes appending at once", async () => {
    const dir = tempDir();
    // Created before the writers start, so they do not race to migrate it.
    (await openControl(dir, sqlite)).client.close();
    const script = join(import.meta.dir, "../helpers/append-audit.ts");
    const children = ["p1", "p2", "p3"].map((actor) => Bun.spawn([process.execPath, script, dir, actor, "100"], { stdout: "ignore", stderr: "pipe" }));
    const codes = await Promise.all(children.map((c) => c.exited));
    const errors = await Promise.all(children.map((c) => new Response(c.stderr).text()));
    expect({ codes, errors }).toEqual({ codes: [0, 0, 0], errors: ["", "", ""] });
    // Each process: 50 single entries and 10 batches of 5.
    await expectOneChain(dir, 300);
  });

  test("PostgreSQL: three instances (three pools) appending at once", async () => {
    const { url } = pgDatabase("audit_chain");
    const controls: ControlDatabase[] = [];
    for (let i = 0; i < 3; i++) controls.push(await openPostgresControl(url, { max: 4, maxLifetimeS: 60 }));
    try {
      const logs = controls.map((control) => new AuditLog({ control, clock: Date.now }));
      await Promise.all(
        Array.from({ length: 150 }, (_, i) => (i % 15 === 0 ? logs[i % 3]!.appendMany([{ actor: "a", action: "x" }, { actor: "a", action: "y" }]) : logs[i % 3]!.append({ actor: `i${i % 3}`, action: "test", target: String(i) }))),
      );
      await expectOneChain(controls[0]!, 160);
    } finally {
      await Promise.all(controls.map((c) => c.close()));
    }
  });
});
