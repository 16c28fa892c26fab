/**
 * PostgreSQL tenant storage beyond the shared contract: deadlines cancel the running statement, outages are
 * "unavailable", schema creation is atomic, tenant-database pools stay under their budget, and migrations
 * (shared set, template, tenant schemas) run once and report what is pending.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { AppError } from "../../../src/errors.ts";
import { tenantDatabase } from "../../../src/store/postgres/names.ts";
import { openPostgresTenantStorage, type Isolation } from "../../../src/store/postgres/postgres-tenant-storage.ts";
import { unlimited } from "../../../src/store/tenant/documents.ts";
import { pgDatabase, pgServer } from "../../helpers/postgres.ts";
import { failure, openPg } from "../tenant-store-backends.ts";

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close().catch(() => undefined)));
}, 30_000);

/** Polls `check` until it holds (or 5 s pass); returns its last value. */
async function eventually<T>(read: () => Promise<T>, holds: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 50 && !holds(value); i++) {
    await Bun.sleep(100);
    value = await read();
  }
  return value;
}

describe.each(["row", "schema", "database"] as Isolation[])("%s strategy", (isolation) => {
  test("two instances creating the same tenant at once: one creates it, the other is told it exists", async () => {
    const pg = await openPg(isolation);
    closers.push(pg.close);
    const other = await openPostgresTenantStorage({ url: pg.url, isolation, strategyOf: async () => isolation, poolMax: 2 });
    closers.push(() => other.closeAll());
    const results = await Promise.allSettled([pg.storage.create("twice"), other.create("twice")]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = (results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason as AppError;
    expect(refused.code).toBe("already_exists");
    expect(await other.store("twice", { quota: unlimited }).storage()).toEqual({ documents: 0, bytes: 0 });
  }, 30_000);

  test("a statement blocked past the request's deadline is answered with the timeout error and cancelled", async () => {
    const pg = await openPg(isolation);
    closers.push(pg.close);
    await pg.storage.create("slow");
    // Another session holds the tenant's totals row: the next write of the tenant waits for it.
    const holderUrl = isolation === "database" ? (() => { const u = new URL(pg.url); u.pathname = `/${tenantDatabase(pg.name, "slow")}`; return u.href; })() : pg.url;
    const holder = postgres(holderUrl, { max: 1, onnotice: () => {} });
    closers.push(() => holder.end());
    const conn = await holder.reserve();
    await conn.unsafe("BEGIN");
    if (isolation === "row") {
      await conn.unsafe("SET LOCAL ROLE mcp_mt_tenant");
      await conn.unsafe("SELECT set_config('app.tenant_id', 'slow', true)");
    }
    await conn.unsafe(`SELECT 1 FROM ${isolation === "schema" ? '"t_slow".' : ""}tenant_stats FOR UPDATE`);
    const error = (await failure(pg.storage.store("slow", { quota: unlimited, signal: AbortSignal.timeout(300) }).create({ title: "late", content: "x", tags: [] }))) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect({ code: error.code, status: error.status }).toEqual({ code: "timeout", status: 504 });
    // The waiting statement was cancelled on the server, not left to run when the lock is released.
    const waiting = await eventually(
      async () => Number((await conn.unsafe("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"))[0]!.n),
      (n) => n === 0,
    );
    expect(waiting).toBe(0);
    await conn.unsafe("ROLLBACK");
    conn.release();
    expect(await pg.storage.store("slow", { quota: unlimited }).storage()).toEqual({ documents: 0, bytes: 0 });
  }, 30_000);
});

describe("failures", () => {
  test("an unreachable server is 'unavailable' (503, retryable), naming PostgreSQL", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const port = probe.port;
    probe.stop(true);
    const error = (await failure(openPostgresTenantStorage({ url: `postgres://mcp_app:x@127.0.0.1:${port}/nothing`, isolation: "row", strategyOf: async () => "row" }))) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect({ code: error.code, status: error.status }).toEqual({ code: "unavailable", status: 503 });
    expect(error.message).toContain("PostgreSQL");
  });

  test("a failure while creating a tenant schema leaves nothing behind", async () => {
    const pg = await openPg("schema");
    closers.push(pg.close);
    const server = pgServer();
    server.psql(
      `CREATE FUNCTION public.refuse_boom() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN
         IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE schema_name = 't_boom' AND object_identity LIKE '%tenant_stats') THEN
           RAISE EXCEPTION 'injected failure'; END IF; END $$;
       CREATE EVENT TRIGGER refuse_boom ON ddl_command_end EXECUTE FUNCTION public.refuse_boom();`,
      pg.name,
    );
    const error = (await failure(pg.storage.create("boom", null, "schema"))) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe("internal");
    expect(await pg.storage.exists("boom")).toBe(false);
    expect(server.psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 't_boom'", pg.name).trim()).toBe("0");
    server.psql("DROP EVENT TRIGGER refuse_boom", pg.name);
    await pg.storage.create("boom", null, "schema");
    expect(await pg.storage.store("boom", { quota: unlimited }).storage()).toEqual({ documents: 0, bytes: 0 });
  });
});

describe("text PostgreSQL cannot store", () => {
  test.each([
    ["a title", { title: "a\u0000b", content: "x", tags: [] }, "title contains the NUL character (U+0000)"],
    ["content", { title: "t", content: "x\u0000", tags: [] }, "content contains the NUL character (U+0000)"],
    ["a tag", { title: "t", content: "x", tags: ["a\u0000"] }, "tags contains the NUL character (U+0000)"],
  ])("U+0000 in %s is refused as invalid input naming the field, not a 500", async (_name, input, message) => {
    const pg = await openPg("row");
    closers.push(pg.close);
    await pg.storage.create("zero");
    const s = pg.storage.store("zero", { quota: unlimited });
    const error = (await failure(s.create(input))) as AppError;
    expect({ code: error.code, status: error.status }).toEqual({ code: "invalid_input", status: 400 });
    expect(error.message).toStartWith(message);
    const doc = await s.create({ title: "t", content: "x", tags: [] });
    const update = (await failure(s.update(doc.id, input))) as AppError;
    expect(update.code).toBe("invalid_input");
    expect(await s.list({ limit: 5, tag: "a\u0000" })).toEqual({ documents: [], next_cursor: null });
    expect(await s.storage()).toEqual({ documents: 1, bytes: 2 });
  });
});

describe("database strategy", () => {
  test("tenant databases are copied from the template; their pools stay within the budget (LRU)", async () => {
    const pg = await openPg("database", { databasePoolsMax: 2 });
    closers.push(pg.close);
    for (const id of ["d1", "d2", "d3", "d4"]) await pg.storage.create(id);
    for (const id of ["d1", "d2", "d3", "d4", "d1"]) {
      await pg.storage.store(id, { quota: unlimited }).create({ title: id, content: "x", tags: [] });
      expect(pg.storage.database.openCount).toBeLessThanOrEqual(2);
    }
    const names = ["d1", "d2", "d3", "d4"].map((id) => `'${tenantDatabase(pg.name, id)}'`).join(", ");
    const connections = await eventually(
      async () => Number(pgServer().psql(`SELECT count(*) FROM pg_stat_activity WHERE datname IN (${names})`).trim()),
      (n) => n <= 2 * 2,
    );
    expect(connections).toBeLessThanOrEqual(2 * 2);
    // An evicted tenant's pool opens again on its next call.
    expect((await pg.storage.store("d2", { quota: unlimited }).list({ limit: 5 })).documents.map((d) => d.title)).toEqual(["d2"]);
    await pg.storage.remove("d3");
    expect(pgServer().psql(`SELECT count(*) FROM pg_database WHERE datname = '${tenantDatabase(pg.name, "d3")}'`).trim()).toBe("0");
  }, 60_000);
});

describe("migrations", () => {
  test("instances starting together migrate the shared set and the template once", async () => {
    const db = pgDatabase("mig");
    const open = () => openPostgresTenantStorage({ url: db.url, isolation: "database", strategyOf: async () => "database", poolMax: 2 });
    const storages = await Promise.all([open(), open(), open()]);
    for (const s of storages) closers.push(() => s.closeAll());
    await Promise.all(storages.map((s, i) => s.create(`t${i}`)));
    expect(db.server.psql("SELECT count(*) FROM drizzle.__drizzle_migrations_pg_row", db.name).trim()).toBe("3");
    expect(db.server.psql("SELECT count(*) FROM drizzle.__drizzle_migrations", `${db.name}_template`).trim()).toBe("3");
    for (let i = 0; i < 3; i++) expect(await storages[0]!.pending(`t${i}`)).toEqual([]);
  }, 60_000);

  test("a tenant schema missing a migration reports it, and gets it on first use", async () => {
    const pg = await openPg("schema");
    closers.push(pg.close);
    await pg.storage.create("old");
    pgServer().psql(`DELETE FROM "t_old".__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM "t_old".__drizzle_migrations)`, pg.name);
    // Another instance (nothing cached) sees what is pending, then applies it when the tenant is used.
    const other = await openPostgresTenantStorage({ url: pg.url, isolation: "schema", strategyOf: async () => "schema", poolMax: 1 });
    closers.push(() => other.closeAll());
    expect(await other.pending("old")).toEqual(["0002_stats"]);
    expect(await other.store("old", { quota: unlimited }).storage()).toEqual({ documents: 0, bytes: 0 });
    expect(await other.pending("old")).toEqual([]);
  }, 30_000);
});

describe("outage", () => {
  test("PostgreSQL restarted: calls fail with 'unavailable' while it is down and succeed after", async () => {
    const pg = await openPg("row");
    closers.push(pg.close);
    await pg.storage.create("live");
    const s = pg.storage.store("live", { quota: unlimited });
    const doc = await s.create({ title: "kept", content: "x", tags: [] });
    const server = pgServer();
    // The test server runs with synchronous_commit=off and stops with -m immediate: flush what was committed.
    server.psql("CHECKPOINT");
    server.stop();
    try {
      const error = (await failure(s.get(doc.id))) as AppError;
      expect(error).toBeInstanceOf(AppError);
      expect({ code: error.code, status: error.status }).toEqual({ code: "unavailable", status: 503 });
      expect(error.message).toContain("PostgreSQL");
    } finally {
      server.start();
    }
    expect(await eventually(() => s.get(doc.id).catch(() => null), (d) => d !== null)).toMatchObject({ title: "kept" });
  }, 60_000);
});
