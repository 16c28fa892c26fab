/**
 * The attack rows of bench/noisy-neighbour.ts, each run in its OWN process (as a real attacker would be), from
 * 127.0.0.2 so the server's per-address caps do not confuse attacker and victim (the victim comes from 127.0.0.1).
 * (ATTACK_FROM chooses the address.) Each attack runs until --duration seconds pass and prints one JSON line: what the attacker got back
 * (statuses and JSON-RPC error codes, counted), plus notes.
 *
 *   bun bench/attacks.ts --row a --url URL --duration S [--key K] [--valid-key K]  (keys also from ATTACK_KEY)
 */
import { parseArgs } from "node:util";
import { RawConnection, type RawResponse } from "./raw-client.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { row: { type: "string" }, url: { type: "string" }, duration: { type: "string", default: "10" }, key: { type: "string" } },
});
const url = new URL(values.url!);
const key = values.key ?? process.env.ATTACK_KEY ?? "";
const until = performance.now() + Number(values.duration) * 1000;
const running = () => performance.now() < until;
const counts: Record<string, number> = {};
const notes: Record<string, unknown> = {};
let sent = 0;

function count(label: string, r: RawResponse): void {
  sent++;
  let code = "";
  const m = /"code":(-?\d+)/.exec(r.body);
  if (m) code = ` ${m[1]}`;
  if (r.status === 200 && r.body.includes('"isError":true')) code = " isError";
  if (r.status === 200 && !code) code = " ok";
  const k = `${label}${r.status === 0 ? "closed/refused" : r.status}${code}`;
  counts[k] = (counts[k] ?? 0) + 1;
}

const envelope = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
function mcp(method: string, params: Record<string, unknown>, authKey: string | undefined = key, id: number | string = 1): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": method,
  };
  const name = params.name as string | undefined;
  if (name) headers["mcp-name"] = name;
  if (authKey) headers.authorization = `Bearer ${authKey}`;
  return { headers, body: JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: envelope } }) };
}
const path = url.pathname;
// Each row comes from its own loopback address (ATTACK_FROM), so one row's connections, which the server keeps
// counting for up to idle_timeout + 5 s after they close, never meet the next row's.
const from = process.env.ATTACK_FROM ?? "127.0.0.2";
const conn = () => new RawConnection(url.hostname, Number(url.port), from);

/** N connections, each sending make(i, n) in a closed loop until the time is up. */
async function loop(n: number, make: (worker: number, i: number) => { headers: Record<string, string>; body: string; label?: string }, pauseMs = 0) {
  await Promise.all(
    Array.from({ length: n }, async (_, w) => {
      const c = conn();
      for (let i = 0; running(); i++) {
        const req = make(w, i);
        const r = await c.request("POST", path, req.headers, req.body);
        count(req.label ?? "", r);
        if (r.status === 0) await Bun.sleep(5);
        if (pauseMs) await Bun.sleep(pauseMs);
      }
      c.close();
    }),
  );
}

const search = (query: string, limit: number) => () => mcp("tools/call", { name: "search_documents", arguments: { query, limit } });
const prefixes16 = "ab* cd* ef* gh* ij* kl* mn* op* qr* st* uv* wx* yz* ba* dc* fe*";
const letters26 = "abcdefghijklmnopqrstuvwxyz".split("").map((l) => `${l}*`).join(" ");

switch (values.row) {
  case "a": // search "a" (limit 1) on the 64 KiB `a a a …` document, at the plan's concurrency
    await loop(4, search("a", 1));
    break;
  case "b": {
    // First the refused form: 26 single-letter prefixes.
    const c = conn();
    const refused = mcp("tools/call", { name: "search_documents", arguments: { query: letters26, limit: 20 } });
    const r = await c.request("POST", path, refused.headers, refused.body);
    notes.single_letter_query = { status: r.status, body: r.body.slice(0, 400) };
    c.close();
    await loop(4, search(prefixes16, 20));
    break;
  }
  case "c":
    await loop(4, search("ab*", 100));
    break;
  case "d": {
    const methods = ["tools/list", "resources/list", "ping"];
    await loop(4, (w, i) => ({ ...mcp(methods[(w + i) % 3]!, {}), label: `${methods[(w + i) % 3]} ` }));
    break;
  }
  case "e": {
    // No key: unique 500 KB method names.
    const filler = "x".repeat(500 * 1024);
    let n = 0;
    await loop(4, () => {
      const m = `m${n++}-${filler}`;
      return { headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "x" }, body: `{"jsonrpc":"2.0","id":1,"method":"${m}","params":{}}` };
    });
    break;
  }
  case "f": {
    // No key: 1 MiB bodies, paced at ~135 requests/s over a pool of connections.
    const body = Buffer.alloc(1024 * 1024, 0x20);
    body.write('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{},"pad":"');
    body.write('"}', body.length - 2);
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list" };
    const pool = Array.from({ length: 16 }, conn);
    const idle = [...pool];
    const inflight: Promise<void>[] = [];
    const start = performance.now();
    let started = 0;
    let skipped = 0;
    while (running()) {
      const due = start + (started * 1000) / 135;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      started++;
      const c = idle.pop();
      if (!c) {
        skipped++;
        continue;
      }
      const p = c.request("POST", path, headers, body).then((r) => {
        count("", r);
        idle.push(c);
      });
      inflight.push(p);
    }
    await Promise.all(inflight);
    notes.target_per_s = 135;
    notes.sent_per_s = Math.round((sent / (performance.now() - start)) * 1000);
    notes.not_sent_all_16_connections_busy = skipped;
    for (const c of pool) c.close();
    break;
  }
  case "g": {
    // Open subscriptions/listen streams, as many as the server lets this tenant hold; keep them open.
    const open: RawConnection[] = [];
    let attempts = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (running() && attempts < 1_030) {
          const id = ++attempts;
          const c = conn();
          const req = mcp("subscriptions/listen", { notifications: { toolsListChanged: true } }, key, id);
          const r = await c.request("POST", path, req.headers, req.body, { firstChunkOnly: true });
          count("", { ...r, body: r.status === 200 ? (r.body.includes("acknowledged") ? "" : r.body) : r.body });
          if (r.status === 200 && !r.closed) open.push(c);
          else c.close();
        }
      }),
    );
    notes.attempts = attempts;
    notes.streams_held = open.length;
    while (running()) await Bun.sleep(100);
    notes.streams_still_open_at_end = open.filter((c) => c.open).length;
    for (const c of open) c.close();
    break;
  }
  case "h": {
    // 2,000 keep-alive connections, each sends one /healthz and then stays idle.
    const conns = Array.from({ length: 2_000 }, conn);
    for (let i = 0; i < conns.length; i += 100) {
      await Promise.all(
        conns.slice(i, i + 100).map(async (c) => {
          const r = await c.request("GET", "/healthz", {});
          count("", r);
        }),
      );
    }
    notes.open_after_first_request = conns.filter((c) => c.open).length;
    while (running()) await Bun.sleep(100);
    notes.open_at_end = conns.filter((c) => c.open).length;
    for (const c of conns) c.close();
    break;
  }
  case "i": {
    // 21 bad keys then the valid key, from the same address, about 5 rounds a second: bad keys with the valid
    // key's id (wrong secret) and with random ids.
    const c = conn();
    const keyId = key.split("_")[1]!;
    const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const random = (n: number, set = alphabet) => Array.from({ length: n }, () => set[Math.floor(Math.random() * set.length)]).join("");
    while (running()) {
      const t0 = performance.now();
      for (let b = 0; b < 21; b++) {
        const bad = b % 2 === 0 ? `mcpmt_${keyId}_${random(49)}` : `mcpmt_${random(12, "0123456789abcdefghijklmnopqrstuvwxyz")}_${random(49)}`;
        const req = mcp("ping", {}, bad);
        count("bad key: ", await c.request("POST", path, req.headers, req.body));
      }
      const req = mcp("ping", {}, key);
      count("valid key: ", await c.request("POST", path, req.headers, req.body));
      const left = 200 - (performance.now() - t0);
      if (left > 0) await Bun.sleep(left);
    }
    c.close();
    break;
  }
  case "j": {
    let n = 0;
    await loop(4, () => mcp("tools/call", { name: `invented_tool_${n++}`, arguments: {} }));
    break;
  }
  default:
    throw new Error(`unknown --row ${values.row}`);
}
console.log(JSON.stringify({ row: values.row, sent, counts, notes }));
