/** The admin TUI in a real terminal (tmux, 80×24): live figures, the tenants table, a suspension that takes effect. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { codeFor, exchange, registerClient } from "../helpers/oauth-protocol.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const session = `mcp-mt-tui-${process.pid}`;
let dir: string;
let bin: string;
let server: ServerProcess;
let busyKey: string;

const tmux = (...args: string[]) => {
  const result = Bun.spawnSync(["tmux", ...args], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`tmux ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.toString();
};
const screen = () => tmux("capture-pane", "-t", session, "-p");

/** Waits until the captured screen matches, returning it (or failing with the last screen). */
async function waitFor(pattern: RegExp, timeoutMs = 8_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = screen();
    if (pattern.test(last)) return last;
    await Bun.sleep(100);
  }
  throw new Error(`screen never matched ${pattern}:\n${last}`);
}

/** Sends keys one at a time: keys sent together arrive as one input chunk, as a fast typist's would. */
async function press(...keys: string[]): Promise<void> {
  for (const key of keys) {
    tmux("send-keys", "-t", session, key);
    await Bun.sleep(150);
  }
}

function call(key: string) {
  const { body, headers } = modernRequest("tools/call", { name: "list_documents", arguments: {} });
  return fetch(server.url, { method: "POST", headers: { ...headers, authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  busyKey = run(bin, ["tenant", "add", "busy-co", "--json"], { cwd: dir }).json().api_key;
  run(bin, ["tenant", "add", "quiet-co", "--plan", "pro"], { cwd: dir });
  server = await startServe(bin, dir);
  for (let i = 0; i < 12; i++) expect((await call(busyKey)).status).toBe(200);
  // A connected app (OAuth grant) for the detail screen to show and revoke.
  const password = run(bin, ["member", "add", "busy-co", "ann@busy.example", "--json"], { cwd: dir }).json().password;
  const redirect = "http://127.0.0.1:40777/cb";
  const clientId = await registerClient(server.origin, [redirect], "Desk Bridge");
  const { code, pkce } = await codeFor(server.origin, clientId, redirect, { email: "ann@busy.example", password });
  expect((await exchange(server.origin, clientId, redirect, code, pkce.verifier)).status).toBe(200);
  tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", `cd ${dir} && ./mcp-mt admin`);
});
afterAll(async () => {
  Bun.spawnSync(["tmux", "kill-session", "-t", session]);
  await server?.stop();
  cleanupTempDirs();
});

describe("mcp-mt admin (TUI under tmux)", () => {
  test("the dashboard shows the server and live per-tenant traffic", async () => {
    const shown = await waitFor(/busy-co\s+12\s+0\s+0/);
    expect(shown).toContain("Server serving");
    expect(shown).toMatch(/tenants 2/);
    expect(shown).toMatch(/quiet-co\s+0\s+0\s+0/);
    for (const line of shown.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
  });

  test("the tenants table lists plan, status, usage and keys; sorting by traffic puts busy-co first", async () => {
    await press("2");
    let shown = await waitFor(/ID\s+PLAN\s+STATUS/);
    expect(shown).toMatch(/busy-co\s+free\s+active\s+12\s+12\s+0\.1\s+1/);
    expect(shown).toMatch(/quiet-co\s+pro\s+active/);
    await press("s");
    shown = await waitFor(/sort: req\/min/);
    const rows = shown.split("\n").filter((l) => /-co\s/.test(l));
    expect(rows[0]).toContain("busy-co");
  });

  test("help overlay lists the keys", async () => {
    await press("?");
    const shown = await waitFor(/Keys/);
    expect(shown).toContain("suspend / resume the selected tenant");
    await press("Escape");
    await waitFor(/ID\s+PLAN\s+STATUS/);
  });

  test("suspending from the TUI (with confirmation) takes effect on the server", async () => {
    await press("s", "s", "s"); // back to sort by id: busy-co is the first row and selected
    await waitFor(/sort: id/);
    await press("S");
    await waitFor(/Suspend tenant busy-co\? \(y\/n\)/);
    await press("y");
    await waitFor(/Tenant busy-co suspended\./);
    expect((await call(busyKey)).status).toBe(403);
    await press("Enter"); // dismiss the notice
    const shown = await waitFor(/busy-co\s+free\s+suspended/);
    expect(shown).toContain("busy-co");
  });

  test("the tenant detail shows keys, connected apps (one revoked from here) and recent audit entries; q quits", async () => {
    await press("Enter");
    const shown = await waitFor(/RECENT AUDIT/);
    expect(shown).toMatch(/busy-co \(busy-co\)\s+plan free\s+suspended/);
    expect(shown).toMatch(/default\s+active/);
    expect(shown).toContain("tenant.suspended");
    expect(shown).toMatch(/CONNECTED APPS \(1\)/);
    expect(shown).toMatch(/1 Desk Bridge\s+member:/);
    for (const line of shown.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    await press("o");
    await waitFor(/Revoke which connected app \(1-1\)/);
    await press("1", "Enter");
    await waitFor(/Revoked Desk Bridge/);
    expect(run(bin, ["oauth", "grants", "busy-co", "--json"], { cwd: dir }).json().grants[0].state).toBe("revoked");
    await press("Enter");
    await waitFor(/CONNECTED APPS \(0\)/);
    await press("q");
    await Bun.sleep(500);
    expect(Bun.spawnSync(["tmux", "has-session", "-t", session]).exitCode).not.toBe(0);
  });
});

describe("mcp-mt admin without a terminal", () => {
  test("prints a message and exits non-zero", () => {
    const result = run(bin, ["admin"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("needs a TTY");
  });
});
