/**
 * stdio is the same product: one table of gate cases runs against HTTP and stdio (the v2 SDK client over
 * the compiled binary's `mcp-mt stdio`), and a server plus a stdio session share one rate window.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Database from "libsql";
import { join } from "node:path";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { v2Stdio } from "../helpers/clients.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
const mt = (...args: string[]) => run(bin, args, { cwd: dir });

type Outcome = { ok: true; isError: boolean } | { ok: false; code: number; message: string; status?: number };
type Caller = { call(tool: string, args: Record<string, unknown>): Promise<Outcome>; close(): Promise<void> };

const transports: Record<"http" | "stdio", (key: string) => Promise<Caller>> = {
  http: async (key) => {
    let id = 0;
    return {
      async call(tool, args) {
        const { body, headers } = modernRequest("tools/call", { name: tool, arguments: args }, ++id);
        const response = await fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
        const json = (await response.json()) as { result?: { isError?: boolean }; error?: { code: number; message: string } };
        return json.error ? { ok: false, status: response.status, ...json.error } : { ok: true, isError: json.result?.isError === true };
      },
      close: async () => undefined,
    };
  },
  stdio: async (key) => {
    const client = await v2Stdio(bin, dir, { MCP_MT_API_KEY: key }, "modern");
    return {
      call: (tool, args) =>
        client.callTool(tool, args).then(
          (r): Outcome => ({ ok: true, isError: r.isError === true }),
          (e: { code: number; message: string }): Outcome => ({ ok: false, code: e.code, message: e.message }),
        ),
      close: () => client.close(),
    };
  },
};

type Row = {
  name: string;
  /** Before the client connects (limits are read per request, but set here so the first call sees them). */
  before?(tenant: string): void;
  /** The fault, applied while the session runs; returns what undoes it. */
  fault(tenant: string, keyId: string): () => void;
  call: [string, Record<string, unknown>];
  expected: { code: number; status: number; message: string };
};

const rows: Row[] = [
  {
    name: "key revoked while the session runs",
    fault: (_t, keyId) => (expect(mt("key", "revoke", keyId).code).toBe(0), () => undefined),
    call: ["list_documents", {}],
    expected: { code: -32001, status: 401, message: "is revoked" },
  },
  {
    name: "tenant suspended while the session runs",
    fault: (tenant) => (expect(mt("tenant", "suspend", tenant).code).toBe(0), () => undefined),
    call: ["list_documents", {}],
    expected: { code: -32003, status: 403, message: "is suspended" },
  },
  {
    name: "a write stuck behind a lock past the plan's request_timeout_ms",
    before: (tenant) => expect(mt("tenant", "set-limit", tenant, "--request-timeout-ms", "400").code).toBe(0),
    fault: (tenant) => {
      // Another connection holds the tenant file's write lock: the write waits (busy_timeout 5 s) past the deadline.
      const db = new Database(join(dir, "data", "tenants", `${tenant}.db`));
      db.exec("BEGIN EXCLUSIVE");
      // The lock is real: a third connection cannot start a write.
      const probe = new Database(join(dir, "data", "tenants", `${tenant}.db`), { timeout: 0 } as never);
      expect(() => probe.exec("BEGIN IMMEDIATE")).toThrow();
      probe.close();
      return () => {
        db.exec("ROLLBACK");
        db.close();
      };
    },
    call: ["create_document", { title: "late", content: "never written in time" }],
    expected: { code: -32004, status: 504, message: "Request timed out after 400 ms (the plan's request_timeout_ms)" },
  },
];

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  server = await startServe(bin, dir);
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

describe("the per-request gate, the same over HTTP and stdio", () => {
  for (const transport of ["http", "stdio"] as const) {
    rows.forEach((row, i) => {
      test(`${transport}: ${row.name}`, async () => {
        const tenant = `gate-${transport}-${i}`;
        const added = mt("tenant", "add", tenant, "--json").json();
        row.before?.(tenant);
        const caller = await transports[transport](added.api_key);
        try {
          expect(await caller.call("list_documents", {})).toEqual({ ok: true, isError: false });
          const undo = row.fault(tenant, added.key_id);
          try {
            // Credentials and tenants are cached for at most a second.
            await Bun.sleep(1_100);
            const outcome = await caller.call(...row.call);
            expect(outcome).toMatchObject({ ok: false });
            if (outcome.ok) return;
            expect(outcome.code).toBe(row.expected.code);
            expect(outcome.message).toContain(row.expected.message);
            if (transport === "http") expect(outcome.status).toBe(row.expected.status);
          } finally {
            undo();
          }
        } finally {
          await caller.close();
        }
      });
    });
  }
});

describe("limits shared between a running server and stdio sessions", () => {
  test("calls over stdio count against the HTTP window and the other way round", async () => {
    const added = mt("tenant", "add", "shared", "--json").json();
    expect(mt("tenant", "set-limit", "shared", "--rate-limit", "4").code).toBe(0);
    const http = await transports.http(added.api_key);
    const stdio = await transports.stdio(added.api_key);
    try {
      for (const caller of [http, http, stdio, stdio]) expect(await caller.call("list_documents", {})).toEqual({ ok: true, isError: false });
      for (const [caller, status] of [[stdio, undefined], [http, 429]] as const) {
        const outcome = await caller.call("list_documents", {});
        expect(outcome).toMatchObject({ ok: false, code: -32010, ...(status ? { status } : {}) });
        expect(outcome.ok ? "" : outcome.message).toContain("Rate limit exceeded: 4 units per 60 s for tenant shared");
      }
    } finally {
      await stdio.close();
    }
  });

  test("a second stdio process does not start with a fresh window", async () => {
    const added = mt("tenant", "add", "restarted", "--json").json();
    expect(mt("tenant", "set-limit", "restarted", "--rate-limit", "2").code).toBe(0);
    for (let round = 0; round < 2; round++) {
      const stdio = await transports.stdio(added.api_key);
      try {
        const outcome = await stdio.call("list_documents", {});
        expect(outcome.ok).toBe(true);
      } finally {
        await stdio.close();
      }
    }
    const third = await transports.stdio(added.api_key);
    try {
      expect(await third.call("list_documents", {})).toMatchObject({ ok: false, code: -32010 });
    } finally {
      await third.close();
    }
  });

  test("CPU time of stdio calls is charged to the server's budget: HTTP is refused once stdio spent it", async () => {
    const added = mt("tenant", "add", "cpu-shared", "--json").json();
    expect(mt("tenant", "set-limit", "cpu-shared", "--cpu-ms-per-minute", "1").code).toBe(0);
    const http = await transports.http(added.api_key);
    const stdio = await transports.stdio(added.api_key);
    try {
      // Indexing a document of many distinct words costs well over a millisecond of store CPU time.
      const content = Array.from({ length: 6_000 }, (_, i) => `word${i} text${i % 97}`).join(" ");
      let refused: Outcome | null = null;
      for (let i = 0; i < 10 && !refused; i++) {
        const outcome = await stdio.call("create_document", { title: `doc ${i}`, content });
        if (!outcome.ok) refused = outcome;
      }
      // stdio is admitted by the server: its own next call is refused by the budget it spent.
      expect(refused).toMatchObject({ ok: false, code: -32010 });
      expect(refused!.ok ? "" : refused!.message).toContain("CPU budget exceeded: tenant cpu-shared");
      const outcome = await http.call("list_documents", {});
      expect(outcome).toMatchObject({ ok: false, code: -32010, status: 429 });
      expect(outcome.ok ? "" : outcome.message).toContain("CPU budget exceeded: tenant cpu-shared");
    } finally {
      await stdio.close();
    }
  });
});
