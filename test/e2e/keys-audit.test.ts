/** Keys over time (rotation with grace, immediate revocation) and the tamper-evident audit log. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { binaryInEmptyDir, run, testStorage } from "../helpers/binary.ts";
import { pgServer } from "../helpers/postgres.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let database: string | undefined;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

function call(server: ServerProcess, key: string, tool: string, args: Record<string, unknown> = {}) {
  const { body, headers } = modernRequest("tools/call", { name: tool, arguments: args });
  return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
}

beforeAll(() => ({ dir, bin, database } = binaryInEmptyDir()));

/** Runs SQL on the control plane behind the binary's back (a tamperer with database access): the file, or PostgreSQL as superuser. */
function tamper(sql: string): void {
  if (testStorage) return void pgServer().psql(sql, database);
  const db = new Database(join(dir, "data", "control.db"));
  db.run(sql);
  db.close();
}
afterAll(cleanupTempDirs);

describe("keys over time", () => {
  let server: ServerProcess;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    const added = mt("tenant", "add", "acme", "--json").json();
    key = added.api_key;
    keyId = added.key_id;
    server = await startServe(bin, dir);
  });
  afterAll(async () => server?.stop());

  test("rotate: the old key works inside the grace period and is refused after it", async () => {
    // A CLI run costs about a second on PostgreSQL (connect, check migrations): a longer grace there, so the
    // listing below still falls inside it.
    const graceMs = testStorage ? 6_000 : 2_000;
    const rotated = mt("key", "rotate", keyId, "--grace", `${graceMs / 1000}s`, "--json").json();
    expect(rotated.api_key).toMatch(/^mcpmt_/);
    expect(rotated.id).not.toBe(keyId);
    expect(rotated.scopes).toEqual(["documents:read", "documents:write", "usage:read"]);
    expect(rotated.label).toBe("default");
    expect((await call(server, key, "list_documents")).status).toBe(200);
    expect((await call(server, rotated.api_key, "list_documents")).status).toBe(200);
    const listed = mt("key", "list", "acme", "--json").json().keys;
    const old = listed.find((k: { id: string }) => k.id === keyId);
    expect(old).toMatchObject({ state: "rotated", replaced_by: rotated.id, revoked_at: null });
    expect(Date.parse(old.expires_at) - Date.now()).toBeLessThanOrEqual(graceMs);
    await Bun.sleep(Math.max(0, Date.parse(old.expires_at) - Date.now()) + 200);
    const refused = await call(server, key, "list_documents");
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as any).error.message).toBe(`Unauthorized: API key mcpmt_${keyId} is expired`);
    expect((await call(server, rotated.api_key, "list_documents")).status).toBe(200);
    expect(mt("key", "rotate", keyId).stderr).toContain(`key ${keyId} is expired; only an active key can be rotated`);
    key = rotated.api_key;
    keyId = rotated.id;
  });

  test("revoke takes effect in the running server within one second", async () => {
    expect((await call(server, key, "list_documents")).status).toBe(200);
    expect(mt("key", "revoke", keyId, "--json").json().state).toBe("revoked");
    await Bun.sleep(1_100);
    expect((await call(server, key, "list_documents")).status).toBe(401);
  });
});

describe("audit log", () => {
  test("every operator and request action is recorded with its fields, and verify catches edits and deletions", async () => {
    const added = mt("tenant", "add", "audited", "--json").json();
    const reader = mt("key", "create", "audited", "--scopes", "documents:read", "--json").json();
    mt("tenant", "suspend", "audited");
    mt("tenant", "resume", "audited");
    mt("tenant", "set-plan", "audited", "pro");
    mt("tenant", "set-limit", "audited", "--rate-limit", "3");
    const rotated = mt("key", "rotate", added.key_id, "--grace", "1h", "--json").json();
    const server = await startServe(bin, dir);
    const doc = ((await (await call(server, added.api_key, "create_document", { title: "t", content: "c" })).json()) as any).result.structuredContent.id;
    await call(server, added.api_key, "delete_document", { id: doc });
    expect((await call(server, reader.api_key, "create_document", { title: "x", content: "y" })).status).toBe(403);
    expect((await call(server, "mcpmt_wrong", "list_documents")).status).toBe(401);
    for (let i = 0; i < 3; i++) await call(server, added.api_key, "list_documents");
    expect((await call(server, added.api_key, "list_documents")).status).toBe(429);
    await server.stop();
    mt("key", "revoke", reader.id);

    const entries = mt("audit", "show", "--tenant", "audited", "--json").json().entries as any[];
    const actions = entries.map((e) => e.action);
    for (const action of ["tenant.created", "key.created", "tenant.suspended", "tenant.resumed", "tenant.plan_changed", "tenant.limits_changed", "key.rotated", "document.deleted", "authz.denied", "limits.rate_limited", "key.revoked"]) {
      expect(actions).toContain(action);
    }
    const byAction = (a: string) => entries.find((e) => e.action === a);
    expect(byAction("tenant.created")).toMatchObject({ tenant: "audited", target: "audited", outcome: "success", details: { plan: "free", first_key: added.key_id } });
    expect(byAction("tenant.created").actor).toMatch(/^operator/);
    expect(byAction("tenant.plan_changed").details).toEqual({ from: "free", to: "pro" });
    expect(byAction("key.rotated")).toMatchObject({ target: added.key_id, details: { new_key: rotated.id } });
    expect(byAction("document.deleted")).toMatchObject({ actor: `key:${added.key_id}`, target: doc, client: "127.0.0.1", outcome: "success" });
    expect(byAction("authz.denied")).toMatchObject({ actor: `key:${reader.id}`, target: "create_document", outcome: "denied", details: { required_scope: "documents:write" } });
    // create + delete + the scope-denied create (a refusal costs what the call would have) used the 3 units;
    // the next four calls were refused, aggregated into one entry
    expect(byAction("limits.rate_limited")).toMatchObject({ actor: "server", outcome: "denied", details: { count: 4 } });
    expect(byAction("tenant.created").time).toMatch(/Z$/);
    const failures = (mt("audit", "show", "--json").json().entries as any[]).filter((e) => e.action === "auth.failed");
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]).toMatchObject({ actor: "anonymous", outcome: "failure", client: "127.0.0.1", tenant: null });
    // never a secret
    const exported = mt("audit", "export", "--format", "jsonl").stdout;
    expect(exported.split("\n").filter(Boolean).every((line) => JSON.parse(line).hash.length === 64)).toBe(true);
    for (const secret of [added.api_key, reader.api_key, rotated.api_key]) expect(exported).not.toContain(secret.slice(19));

    const ok = mt("audit", "verify", "--json");
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({ ok: true });
    const total = ok.json().entries;

    const target = entries.find((e) => e.action === "tenant.plan_changed").seq;
    tamper(`UPDATE audit_log SET details = '{"from":"free","to":"enterprise"}' WHERE seq = ${target}`);
    const edited = mt("audit", "verify", "--json");
    expect(edited.code).toBe(1);
    expect(edited.json()).toEqual({ ok: false, entries: target, first_broken: target, reason: `entry ${target} was modified: its content does not match its hash` });
    tamper(`UPDATE audit_log SET details = '{"from":"free","to":"pro"}' WHERE seq = ${target}`);
    expect(mt("audit", "verify").code).toBe(0);

    const removed = Math.floor(total / 2);
    tamper(`DELETE FROM audit_log WHERE seq = ${removed}`);
    const deleted = mt("audit", "verify", "--json");
    expect(deleted.code).toBe(1);
    expect(deleted.json()).toMatchObject({ ok: false, first_broken: removed, reason: `entry ${removed} is missing (deleted?): the next entry is ${removed + 1}` });
    expect(mt("audit", "verify").stdout).toContain(`Audit log BROKEN at entry ${removed}`);
  });
});
