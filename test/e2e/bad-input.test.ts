/** Bad input, table-driven: each case gets its exact status and error, and the server keeps serving. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { binaryInEmptyDir, run } from "../helpers/binary.ts";
import { modernRequest, startServe, type ServerProcess } from "../helpers/server.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

let dir: string;
let bin: string;
let server: ServerProcess;
const keys: Record<string, string> = {};
const maxBody = 65_536;

beforeAll(async () => {
  ({ dir, bin } = binaryInEmptyDir());
  const mt = (...args: string[]) => run(bin, args, { cwd: dir });
  keys.good = mt("tenant", "add", "acme", "--json").json().api_key;
  keys.suspended = mt("tenant", "add", "sleepy", "--json").json().api_key;
  mt("tenant", "suspend", "sleepy");
  const revoked = mt("key", "create", "acme", "--json").json();
  mt("key", "revoke", revoked.id);
  keys.revoked = revoked.api_key;
  keys.expired = mt("key", "create", "acme", "--expires", "1s", "--json").json().api_key;
  keys.removed = mt("tenant", "add", "gone", "--json").json().api_key;
  mt("tenant", "remove", "gone", "--yes");
  await Bun.sleep(1_100);
  server = await startServe(bin, dir, [], { MCP_MT_SERVER_MAX_BODY_BYTES: String(maxBody), MCP_MT_DOCUMENTS_MAX_CONTENT_BYTES: "1000" });
});
afterAll(async () => {
  await server?.stop();
  cleanupTempDirs();
});

type Case = {
  name: string;
  body?: string | object;
  headers?: Record<string, string>;
  key?: string | null;
  path?: string;
  method?: string;
  status: number;
  code?: number;
  message: string | RegExp;
  /** For tool results: the text of an isError result instead of a JSON-RPC error. */
  toolError?: boolean;
  wwwAuthenticate?: string | RegExp;
};

const call = (name: string, args: Record<string, unknown>) => modernRequest("tools/call", { name, arguments: args });
const legacyHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const modernList = modernRequest("tools/list");

const cases: Case[] = [
  { name: "malformed JSON", body: '{"jsonrpc":"2.0",', headers: modernList.headers, status: 400, code: -32700, message: "Parse error: the body is not valid JSON" },
  { name: "a JSON-RPC batch array", body: [modernList.body, modernList.body], headers: modernList.headers, status: 400, code: -32600, message: /batches are not supported/ },
  { name: "not JSON-RPC 2.0", body: { id: 1, method: "tools/list" }, headers: modernList.headers, status: 400, code: -32600, message: /"jsonrpc": "2.0"/ },
  { name: "a body over the limit", body: { ...modernList.body, pad: "x".repeat(maxBody) }, headers: modernList.headers, status: 413, code: -32000, message: `Payload Too Large: the body exceeds server.max_body_bytes (${maxBody} bytes)` },
  { name: "wrong Content-Type", body: modernList.body, headers: { ...modernList.headers, "content-type": "text/plain" }, status: 415, code: -32000, message: /Content-Type must be application\/json, got "text\/plain"/ },
  { name: "missing Accept (2025 era)", body: { jsonrpc: "2.0", id: 1, method: "tools/list" }, headers: { "content-type": "application/json" }, status: 406, code: -32000, message: /must accept both application\/json and text\/event-stream/ },
  { name: "wrong Accept (2025 era)", body: { jsonrpc: "2.0", id: 1, method: "tools/list" }, headers: { "content-type": "application/json", accept: "text/html" }, status: 406, code: -32000, message: /Not Acceptable/ },
  { name: "GET on the endpoint", method: "GET", headers: {}, status: 405, code: -32000, message: /Method not allowed: GET/ },
  { name: "DELETE on the endpoint", method: "DELETE", headers: {}, status: 405, code: -32000, message: /Method not allowed: DELETE/ },
  { name: "Mcp-Method header disagreeing with the body", body: modernList.body, headers: { ...modernList.headers, "mcp-method": "prompts/list" }, status: 400, code: -32020, message: /headers and body disagree/ },
  {
    name: "unsupported protocol version (2026 envelope)",
    body: { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {} } } },
    headers: { ...modernList.headers, "mcp-protocol-version": "2099-01-01" },
    status: 400,
    code: -32022,
    message: "Unsupported protocol version: 2099-01-01",
  },
  { name: "unsupported protocol version (2025 header)", body: { jsonrpc: "2.0", id: 1, method: "tools/list" }, headers: { ...legacyHeaders, "mcp-protocol-version": "1999-01-01" }, status: 400, code: -32000, message: /Unsupported protocol version: 1999-01-01/ },
  { name: "unknown method", body: modernRequest("foo/bar").body, headers: modernRequest("foo/bar").headers, status: 404, code: -32601, message: "Method not found" },
  { name: "unknown tool", ...bodyOf(call("drop_database", {})), status: 200, code: -32602, message: "Tool drop_database not found" },
  { name: "arguments of the wrong type", ...bodyOf(call("create_document", { title: 5, content: "x" })), status: 200, toolError: true, message: /title must be text, not the number 5/ },
  { name: "missing required argument", ...bodyOf(call("get_document", {})), status: 200, toolError: true, message: /Invalid arguments for tool get_document: id is required/ },
  { name: "over-long title", ...bodyOf(call("create_document", { title: "t".repeat(501), content: "x" })), status: 200, toolError: true, message: /title must be at most 500 characters/ },
  { name: "too much content", ...bodyOf(call("create_document", { title: "t", content: "é".repeat(501) })), status: 200, toolError: true, message: /content must be at most 1000 bytes \(UTF-8\)/ },
  { name: "too many tags", ...bodyOf(call("create_document", { title: "t", content: "x", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })), status: 200, toolError: true, message: /at most 20 tags/ },
  { name: "over-long tag", ...bodyOf(call("create_document", { title: "t", content: "x", tags: ["t".repeat(65)] })), status: 200, toolError: true, message: /each tag must be at most 64 characters/ },
  { name: "over-long query", ...bodyOf(call("search_documents", { query: "q".repeat(501) })), status: 200, toolError: true, message: /query must be at most 500 characters/ },
  { name: "page size over the maximum", ...bodyOf(call("list_documents", { limit: 1000 })), status: 200, toolError: true, message: /limit must be at most 100/ },
  { name: 'FTS5 query `"`', ...bodyOf(call("search_documents", { query: '"' })), status: 200, toolError: true, message: "query has no searchable words: use letters or digits" },
  { name: "a cursor we never issued", ...bodyOf(call("list_documents", { cursor: "garbage" })), status: 200, toolError: true, message: /cursor is not one this server returned/ },
  { name: "update with nothing to change", ...bodyOf(call("update_document", { id: "doc_x" })), status: 200, toolError: true, message: /nothing to update/ },
  { name: "missing key", ...bodyOf(modernList), key: null, status: 401, code: -32001, message: /missing credentials/, wwwAuthenticate: /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp", scope="documents:read documents:write usage:read"$/ },
  { name: "malformed key", ...bodyOf(modernList), key: "mcpmt_not-a-key", status: 401, code: -32001, message: "Unauthorized: invalid API key", wwwAuthenticate: /error="invalid_token"/ },
  { name: "key with a typo (checksum)", ...bodyOf(modernList), key: "TYPO", status: 401, code: -32001, message: "Unauthorized: invalid API key", wwwAuthenticate: /error="invalid_token"/ },
  { name: "revoked key", ...bodyOf(modernList), key: "REVOKED", status: 401, code: -32001, message: /is revoked/, wwwAuthenticate: /error="invalid_token"/ },
  { name: "expired key", ...bodyOf(modernList), key: "EXPIRED", status: 401, code: -32001, message: /is expired/, wwwAuthenticate: /error="invalid_token"/ },
  { name: "key of a removed tenant", ...bodyOf(modernList), key: "REMOVED", status: 401, code: -32001, message: "Unauthorized: invalid API key" },
  { name: "another product's token", ...bodyOf(modernList), key: "ghp_16C7e42F292c6912E7710c838347Ae178B4a", status: 401, code: -32001, message: "Unauthorized: invalid API key" },
  { name: "Basic instead of Bearer", ...bodyOf(modernList), key: "BASIC", status: 401, code: -32001, message: /malformed Authorization header/ },
  { name: "key in the query string", ...bodyOf(modernList), path: "/mcp?api_key=KEY", status: 401, code: -32001, message: /credentials in the query string are refused/ },
  { name: "key of a suspended tenant", ...bodyOf(modernList), key: "SUSPENDED", status: 403, code: -32003, message: "tenant sleepy is suspended; contact the server's operator" },
  { name: "foreign Host", ...bodyOf(modernList), headers: { ...modernList.headers, host: "evil.example:8787" }, status: 403, code: -32003, message: /Host "evil.example:8787" is not allowed/ },
  { name: "foreign Origin", ...bodyOf(modernList), headers: { ...modernList.headers, origin: "https://evil.example" }, status: 403, code: -32003, message: /Origin "https:\/\/evil.example" is not allowed/ },
];

function bodyOf(request: { body: object; headers: Record<string, string> }) {
  return { body: request.body, headers: request.headers };
}

function authorization(key: string | null | undefined): Record<string, string> {
  if (key === null) return {};
  const good = keys.good!;
  const resolved =
    key === undefined ? good
    : key === "TYPO" ? good.slice(0, 30) + (good[30] === "a" ? "b" : "a") + good.slice(31)
    : key === "REVOKED" ? keys.revoked!
    : key === "EXPIRED" ? keys.expired!
    : key === "REMOVED" ? keys.removed!
    : key === "SUSPENDED" ? keys.suspended!
    : key;
  if (key === "BASIC") return { authorization: `Basic ${btoa("acme:password")}` };
  return { authorization: `Bearer ${resolved}` };
}

describe("bad input", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const path = (c.path ?? "/mcp").replace("KEY", keys.good!);
    const init: RequestInit = { method: c.method ?? "POST", headers: { ...c.headers, ...authorization(c.key) } };
    if (c.body !== undefined && init.method === "POST") init.body = typeof c.body === "string" ? c.body : JSON.stringify(c.body);
    const response = await fetch(`${server.origin}${path}`, init);
    expect(response.status).toBe(c.status);
    const text = await response.text();
    expect(text).not.toContain("    at ");
    const json = JSON.parse(text);
    if (c.toolError) {
      expect(json.result.isError).toBe(true);
      const message = json.result.content[0].text as string;
      if (typeof c.message === "string") expect(message).toBe(c.message);
      else expect(message).toMatch(c.message);
    } else {
      expect(json.error.code).toBe(c.code!);
      if (typeof c.message === "string") expect(json.error.message).toBe(c.message);
      else expect(json.error.message).toMatch(c.message);
    }
    if (c.wwwAuthenticate !== undefined) {
      const header = response.headers.get("www-authenticate") ?? "";
      if (typeof c.wwwAuthenticate === "string") expect(header).toBe(c.wwwAuthenticate);
      else expect(header).toMatch(c.wwwAuthenticate);
    }
  });

  test("FTS5 operators in a query are plain words, never a server error", async () => {
    for (const query of ["NEAR(", "a AND", "title:x", "(x", "x)", '"unbalanced', "*", "-x", "x OR"]) {
      const { body, headers } = call("search_documents", { query });
      const response = await fetch(server.url, { method: "POST", headers: { ...headers, ...authorization(undefined) }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      const json = (await response.json()) as any;
      if (json.result.isError) expect(json.result.content[0].text).toBe("query has no searchable words: use letters or digits");
      else expect(json.result.structuredContent.count).toBe(0);
    }
  });

  test("after all of it the server still serves, logged no stack trace, and lost nothing", async () => {
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    const { body, headers } = call("create_document", { title: "still here", content: "fine" });
    const response = await fetch(server.url, { method: "POST", headers: { ...headers, ...authorization(undefined) }, body: JSON.stringify(body) });
    expect(((await response.json()) as any).result.structuredContent.version).toBe(1);
    expect(server.stderr()).not.toContain("    at ");
    expect(server.stderr()).not.toContain(keys.good!);
    expect(run(bin, ["tenant", "show", "acme", "--json"], { cwd: dir }).json().database.documents).toBe(1);
  });
});
