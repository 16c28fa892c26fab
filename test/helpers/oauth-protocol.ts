/** The OAuth protocol by hand (no SDK), for attack tests: register, PKCE, authorize through the pages, exchange. */
import { createHash } from "node:crypto";
import { authorizeInBrowser, PlainBrowser, type SignIn } from "./oauth-browser.ts";

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export async function registerClient(origin: string, redirectUris: string[], name = "Attack test client"): Promise<string> {
  const response = await fetch(`${origin}/oauth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_name: name, redirect_uris: redirectUris }) });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { client_id: string }).client_id;
}

export function authorizeUrl(origin: string, params: Record<string, string>): string {
  const url = new URL(`${origin}/oauth/authorize`);
  for (const [k, v] of Object.entries({ response_type: "code", code_challenge_method: "S256", state: "st-1", resource: `${origin}/mcp`, ...params })) if (v !== "") url.searchParams.set(k, v);
  return url.toString();
}

export async function codeFor(origin: string, clientId: string, redirectUri: string, who: SignIn, pkce = pkcePair(), extra: Record<string, string> = {}): Promise<{ code: string; pkce: typeof pkce }> {
  const callback = await authorizeInBrowser(new PlainBrowser(), authorizeUrl(origin, { client_id: clientId, redirect_uri: redirectUri, code_challenge: pkce.challenge, ...extra }), who);
  const code = callback.searchParams.get("code");
  if (!code) throw new Error(`no code: ${callback}`);
  return { code, pkce };
}

export async function tokenRequest(origin: string, fields: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(`${origin}/oauth/token`, { method: "POST", body: new URLSearchParams(fields) });
  return { status: response.status, body: await response.json() };
}

export async function exchange(origin: string, clientId: string, redirectUri: string, code: string, verifier: string, extra: Record<string, string> = {}) {
  return tokenRequest(origin, { grant_type: "authorization_code", client_id: clientId, redirect_uri: redirectUri, code, code_verifier: verifier, ...extra });
}

/** A tools/call with a bearer token; answers the HTTP status and the JSON-RPC body. */
export async function callTool(mcpUrl: string, token: string, name: string, args: Record<string, unknown> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(mcpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25", authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } }),
  });
  const text = await response.text();
  const json = text.startsWith("{") ? JSON.parse(text) : JSON.parse(/data: (.*)/.exec(text)?.[1] ?? "null");
  return { status: response.status, body: json };
}
